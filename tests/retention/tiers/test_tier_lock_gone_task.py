"""The nightly tier run (the beat's task, on a real Celery worker, the real Redis and InfluxDB)
whose lock is lost with no run holding it now: its key is gone (Redis restarted without it, or
it expired and nobody took it). The run failed for good, its days waiting for the next night,
though nothing kept it from going on. Now it stops as before (nothing deleted once the lock is
gone) and its task tries it again in the same run, `details.retries` saying why, which takes the
lock afresh and ends ok. A lock lost to another run still stops the run, not tried again."""

import pytest

from enrich.redis.client import get_redis
from retention.entities.ha_source import count_samples
from retention.models import Alert, RetentionRun, TierChunk
from retention.stats.alerts import detect
from retention.tiers import tasks
from retention.tiers.chunks import run_lock
from tests.retention.conftest import T0
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.tier_runs import AFTER_VERIFY, DAY, DAYS, three_days
from tests.support.worker import celery_worker, until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.influxdb,
    pytest.mark.usefixtures("empty_queues"),
]

D0 = T0.date()
RANGE = {"start": str(D0), "end": str(D0 + DAYS * DAY)}
GONE = "is gone and no run holds it now (it expired, or Redis restarted without it); "
TASKS = {"downsample_hourly": tasks.downsample_hourly, "downsample_daily": tasks.downsample_daily}


def worker(settings, node: str):
    env = {
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": "1",
    }
    return celery_worker(node, app="tests.support.pause_app", **env)


def ended(command: str) -> RetentionRun | None:
    return RetentionRun.objects.filter(operation=command).exclude(status="running").first()


def the_nightly_run(settings, command: str, point: str, meanwhile) -> RetentionRun:
    """The beat's run of `command`, `meanwhile()` done while it waits at its first `point`
    (its first day verified, not deleted yet): the run as it ended."""
    get_redis().set(pause_key(), f"{point}@1")
    with worker(settings, f"tier-gone-{command}") as w:
        TASKS[command].apply_async(kwargs=RANGE)  # as the beat sends it: no run_id
        until(lambda: get_redis().get(paused_key()), w, seconds=60)
        meanwhile()
        get_redis().delete(paused_key())
        return until(lambda: ended(command), w, seconds=90)


@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_a_nightly_run_whose_lock_is_gone_is_tried_again_and_ends_ok(
    settings, ha_db, command, label, point
):
    entity, source = three_days(ha_db, command)
    before = source()
    RetentionRun.objects.all().delete()  # the daily run's hourly rows came from a run
    key = run_lock(command, owner="").key
    run = the_nightly_run(settings, command, point, lambda: get_redis().delete(key))
    assert (run.status, run.errors) == ("ok", ""), run.errors
    assert RetentionRun.objects.filter(operation=command).count() == 1  # one run
    [retry] = run.details["retries"]
    assert retry["error"] == f"LockGone: lock '{key}' {GONE}stopped before deleting more"
    assert retry["retry"] == "1 of 3"
    assert run.details["days"] == [str(D0 + n * DAY) for n in range(DAYS)]
    assert (run.records_processed, run.records_deleted) == (before, before)  # each once
    assert source() == 0 and count_samples(entity, T0, T0 + DAYS * DAY) == 0
    tier = "hourly" if command == "downsample_hourly" else "daily"
    assert set(TierChunk.objects.filter(tier=tier).values_list("state", flat=True)) == {"deleted"}
    assert get_redis().get(key) is None  # released at the end
    assert detect() == [] and not Alert.objects.exists()


def test_a_nightly_run_whose_lock_another_run_took_still_stops(settings, ha_db):
    command, label, point = AFTER_VERIFY[0]
    entity, source = three_days(ha_db, command)
    before = source()
    other = run_lock(command, owner=f"{label} run 99")

    def taken() -> None:
        get_redis().delete(other.key)  # the run's lock expired ...
        assert other.acquire()  # ... and another run of the tier took it

    try:
        run = the_nightly_run(settings, command, point, taken)
        assert get_redis().get(other.key) == other.token  # left to its holder
    finally:
        other.release()
    assert run.status == "failed" and "retries" not in run.details
    assert run.errors.startswith(f"LockLost: lock '{other.key}' lost to {label} run 99 since ")
    assert source() == before  # nothing deleted once the lock was lost
    [alert] = detect()
    assert alert.kind == "failed"


def test_a_lock_gone_at_every_attempt_fails_the_run_once_saying_it_was_tried_again(
    settings, ha_db, monkeypatch
):
    """Run eagerly (the retries in the same process), the key gone at every attempt: the run
    fails once the retries are spent, saying so, with one alert; nothing deleted."""
    command, label, point = AFTER_VERIFY[0]
    entity, source = three_days(ha_db, command)
    before = source()
    key = run_lock(command, owner="").key

    def gone(name: str) -> None:
        if name == point:
            get_redis().delete(key)

    monkeypatch.setattr("retention.faults.point", gone)
    tasks.downsample_hourly.apply(kwargs=RANGE)
    [run] = RetentionRun.objects.filter(operation=command)
    assert run.status == "failed", run.errors
    assert run.errors == (
        f"LockGone: lock '{key}' {GONE}stopped before deleting more; the run was tried again "
        "until its retries were spent (details.retries); the next run resumes where it stopped."
    )
    assert [r["retry"] for r in run.details["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert source() == before
    [alert] = detect()
    assert (
        alert.run == run
        and "LockGone: " in alert.message
        and "retries were spent" in (alert.message)
    )
