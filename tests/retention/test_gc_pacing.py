import gc
import threading

from retention.gc_pacing import YOUNG_THRESHOLD, fewer_collections


def test_the_young_threshold_is_raised_for_the_run_and_put_back_after_it():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(YOUNG_THRESHOLD, before[0]), *before[1:])
    assert gc.get_threshold() == before


def test_overlapping_runs_put_the_threshold_back_only_when_the_last_one_ends():
    before = gc.get_threshold()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, ...]] = []

    def second() -> None:
        first_in.wait()
        with fewer_collections():
            pass
        seen.append(gc.get_threshold())  # the first run still goes on
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with fewer_collections():
        first_in.set()
        second_done.wait(10)
    thread.join()
    assert seen == [(max(YOUNG_THRESHOLD, before[0]), *before[1:])]
    assert gc.get_threshold() == before


def test_an_error_in_the_run_still_puts_the_threshold_back():
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
