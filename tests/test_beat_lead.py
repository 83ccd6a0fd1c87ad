"""Two beats on one schedule and one Redis (a `make run` under systemd and another by hand,
`docker compose up --scale beat=2`): one sends the periodic tasks, the other stands by and takes
over when the first stops (enrich.beat_lead). Real beat processes on the test database."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from enrich.beat_lead import LEAD_SECONDS
from enrich.redis import alive
from enrich.redis.client import get_redis
from enrich.redis.lock import lock_key
from tests.support import worker
from tests.support.beat import beat_process, own_redis_prefix
from tests.support.broker import empty_queues  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queues")]

SENT = "Sending due task Every second"
STANDING_BY = f"sends none and takes over within {LEAD_SECONDS} s of its stop"


def log(beat) -> str:
    return worker._tail(beat)


def periodic(name: str, every: int, period: str, **fields) -> PeriodicTask:
    interval = IntervalSchedule.objects.create(every=every, period=period)
    return PeriodicTask.objects.create(name=name, task="enrich.check_services",
                                       interval=interval, **fields)  # fmt: skip


@contextmanager
def beats(tmp_path, settings) -> Iterator[Callable[[str], object]]:
    """start(name): a real beat on this test's Redis prefix, its schedule file of its own; each
    started is stopped on leaving."""
    started = []
    with own_redis_prefix(settings, "beat-lead") as prefix:

        def start(name: str):
            (tmp_path / name).mkdir()
            started.append(beat_process(tmp_path / name, prefix))
            return started[-1]

        try:
            yield start
        finally:
            for beat in started:
                worker.stop(beat)
                beat.log.close()


def test_a_second_beat_sends_nothing_until_the_first_stops(tmp_path, settings):
    # Each beat sent every due task: each collection, tier run, archive and MQTT publication
    # ran twice, and was recorded twice.
    periodic("Every second", 1, IntervalSchedule.SECONDS)
    with beats(tmp_path, settings) as start:
        first = start("first")
        worker.until(lambda: SENT in log(first), first)
        second = start("second")
        worker.until(lambda: SENT in log(second) or STANDING_BY in log(second), second)
        said = log(second)
        assert SENT not in said, said
        # It names the beat that sends them.
        assert f", pid {first.pid} since " in said.split(STANDING_BY, 1)[0], said
        # Three more sends of the first: the second still sends none.
        sent = log(first).count(SENT)
        worker.until(lambda: log(first).count(SENT) >= sent + 3, first)
        assert SENT not in log(second), log(second)
        # The first stops (SIGTERM): the second sends from its next tick on.
        worker.stop(first)
        worker.until(lambda: SENT in log(second), second)
        assert "this beat" in log(second).split(STANDING_BY, 1)[1], log(second)


def test_a_beat_taking_over_from_a_crashed_one_sends_a_due_task_once(tmp_path, settings):
    # The standby read the schedule afresh within its first tick as the one sending them: the
    # due task was sent at that tick, and again at the next (an entry not advanced).
    ticking = periodic("Every second", 1, IntervalSchedule.SECONDS)
    with beats(tmp_path, settings) as start:
        first = start("first")
        worker.until(lambda: SENT in log(first), first)
        second = start("second")
        worker.until(lambda: STANDING_BY in log(second), second)
        first.kill()  # a crash: its lock is left to expire
        first.wait(timeout=30)
        # Due at the takeover: last sent two hours ago.
        ticking.enabled = False
        ticking.save()
        periodic("Every hour", 1, IntervalSchedule.HOURS,
                 last_run_at=timezone.now() - timedelta(hours=2))  # fmt: skip
        get_redis().delete(lock_key("beat"))  # expired (LEAD_SECONDS after its last tick)
        worker.until(lambda: "Sending due task Every hour" in log(second), second)
        # Three more ticks of the second beat (recorded in Redis; it logs none).
        ticks = worker.until(lambda: alive.last_beat(), second)
        for _ in range(3):
            ticks = worker.until(
                lambda seen=ticks: (last := alive.last_beat())["at"] > seen["at"] and last,
                second,
            )
        said = log(second)
    assert said.count("Sending due task Every hour") == 1, said
