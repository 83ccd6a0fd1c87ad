"""A beat told to stop (SIGTERM, as `docker stop` and systemd do) stops within seconds and saves
its schedule on the way out (enrich.beat_stop): the real beat process on the test database."""

import subprocess
import time

import pytest
from django.db import connection, transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.support import worker
from tests.support.beat import beat_process, own_redis_prefix
from tests.support.broker import empty_queues  # noqa: F401  (fixture)

CHANGES = "django_celery_beat_periodictasks"  # the row each tick reads: has the schedule changed?


def waited_on(cursor, table: str) -> bool:
    """Whether a query of another session waits for our lock on `table`."""
    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                   [table])  # fmt: skip
    return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("empty_queues")
def test_a_beat_told_to_stop_within_a_database_query_stops(tmp_path, settings):
    # The signal handler saved the schedule within the query it interrupted, waited for that
    # query's connection forever, and the beat never stopped (it was killed 10 s later).
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="Every second", task="enrich.check_services",
                                       interval=every)  # fmt: skip
    with own_redis_prefix(settings, "beat-stop") as prefix:
        beat = beat_process(tmp_path, prefix)
        try:
            # Two sends: the second is not saved yet (the beat saves every 3 minutes).
            worker.until(
                lambda: worker._tail(beat).count("Sending due task Every second") >= 2, beat
            )
            with transaction.atomic(), connection.cursor() as cursor:
                # Its next tick's query waits for this lock; the signal comes meanwhile.
                cursor.execute(f"LOCK TABLE {CHANGES} IN ACCESS EXCLUSIVE MODE")
                worker.until(lambda: waited_on(cursor, CHANGES), beat, seconds=30)
                beat.terminate()
                time.sleep(1)
            try:
                beat.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"the beat did not stop within 10 s of its query:\n{worker._tail(beat)}"
                )
            said = worker._tail(beat)
        finally:
            worker.stop(beat)
            beat.log.close()
    assert beat.returncode == 0, said
    task.refresh_from_db()
    # Each send counted in the schedule saved as it stopped.
    assert task.total_run_count == said.count("Sending due task Every second") >= 2, said
