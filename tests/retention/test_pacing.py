import gc
import sys
import threading

import pytest

from retention.pacing import SWITCH_INTERVAL, YOUNG_THRESHOLD, run_pacing


def _paced(before: tuple[int, ...], interval: float) -> tuple:
    return (max(YOUNG_THRESHOLD, before[0]), *before[1:]), min(SWITCH_INTERVAL, interval)


def _now() -> tuple:
    return gc.get_threshold(), sys.getswitchinterval()


def test_the_run_is_paced_and_the_defaults_come_back_after_it():
    before = _now()
    with run_pacing():
        assert _now() == _paced(*before)
        assert gc.get_threshold()[0] >= 50_000 and sys.getswitchinterval() <= 0.001
    assert _now() == before


def test_overlapping_runs_put_the_defaults_back_only_when_the_last_one_ends():
    before = _now()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple] = []

    def second() -> None:
        first_in.wait()
        with run_pacing():
            pass
        seen.append(_now())  # the first run still goes on
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with run_pacing():
        first_in.set()
        second_done.wait(10)
    thread.join()
    assert seen == [_paced(*before)]
    assert _now() == before


def test_an_error_in_the_run_still_puts_the_defaults_back():
    before = _now()
    with pytest.raises(RuntimeError), run_pacing():
        raise RuntimeError("the run failed")
    assert _now() == before
