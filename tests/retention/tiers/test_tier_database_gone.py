"""A scheduled tier run that meets PostgreSQL out of reach mid-run (its container updated by
Watchtower at night, the NAS rebooting), against the real services and a real Celery worker
whose database is behind a TCP proxy the test closes once two days are verified, and opens
again before the retry is due. The run failed where its record could not be saved: it stayed
"running" until the dead-run check closed it, with an alert, and its days waited for the next
night. Now it waits for its retry in the same run, as for InfluxDB out of reach: the retry's
message carries what the record could not say, the run is not closed as dead meanwhile, and
the retry resumes the days, counts each point once, and ends ok without an alert. Away past
the last retry, the run is closed once the database answers, saying it was out of reach."""

from datetime import timedelta

import pytest

from enrich.redis.client import get_redis
from retention import liveness
from retention.entities.ha_source import count_samples
from retention.models import Alert, RetentionRun, TierChunk
from retention.stats.alerts import detect
from retention.tiers import tasks
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support import worker as support
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.proxy import database_proxy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.influxdb,
    pytest.mark.usefixtures("empty_queues"),
]

D0, DAY, DAYS = T0.date(), timedelta(days=1), 3
RANGE = {"start": str(D0), "end": str(D0 + DAYS * DAY)}
ENTITY = "sensor.heat_pump_power"
GONE = "DatabaseUnavailable: The database (DATABASE_URL) cannot be reached: "
SPENT = "The database became unreachable: The database (DATABASE_URL) cannot be reached: "


@pytest.fixture
def entity(ha_db):
    """Three days of a power sensor (a change every 3 hours), saved in the registry."""
    return ha_db.saved_entity(
        "official", ENTITY, [(n * 10800, 100 + n) for n in range(DAYS * 8)], unit="W"
    )


def states() -> dict[str, str]:
    return {str(c.day): c.state for c in TierChunk.objects.filter(tier="hourly").order_by("day")}


def said(worker, text: str) -> bool:
    worker.log.seek(0)
    return text in worker.log.read()


def worker(settings, database_url: str, retry_seconds: str):
    """A worker pausing at the point `pause_key()` names, its database behind the proxy."""
    env = {
        "INFLUXDB_URL": settings.INFLUXDB_URL,
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": retry_seconds,
        "DATABASE_URL": database_url,
    }
    return support.celery_worker("tier-pg", app="tests.support.pause_app", **env)


def gone_at(point: str, proxy) -> RetentionRun:
    """The scheduled run, its database closed as the worker reaches `point` (paused there)."""
    support.until(lambda: get_redis().get(paused_key()), seconds=60)
    [run] = RetentionRun.objects.all()
    proxy.close()  # PostgreSQL restarts
    get_redis().delete(paused_key())
    return run


def test_postgresql_gone_mid_run_the_scheduled_run_waits_then_resumes_and_ends_ok(settings, entity):
    raw = count_samples(entity, T0, T0 + DAYS * DAY)
    get_redis().set(pause_key(), "hourly:after_verify@2")
    with database_proxy() as (proxy, database_url), worker(settings, database_url, "4") as w:
        tasks.downsample_hourly.apply_async(kwargs=RANGE)  # as the beat sends it
        run = gone_at("hourly:after_verify", proxy)
        support.until(lambda: said(w, "retry 1 of 3") or said(w, "DatabaseUnavailable"), w)
        run.refresh_from_db()
        # Unrecorded (the database was away), the run stays as the last day saved it
        assert (run.status, run.finished) == ("running", None)
        assert states() == {str(D0): "verified", str(D0 + DAY): "verified"}
        assert liveness.close_dead() == []  # not closed as dead: it waits for its retry
        proxy.open()  # PostgreSQL is back before the retry is due
        done = support.until(
            lambda: RetentionRun.objects.exclude(status="running").first(), w, seconds=60
        )
        log = support.output(w)
    assert (done.pk, done.status, done.errors) == (run.pk, "ok", ""), log
    [first] = done.details["retries"]
    assert first["error"].startswith(GONE) and first["retry"] == "1 of 3", first
    assert done.details["days"] == [str(D0 + n * DAY) for n in range(DAYS)]
    assert done.records_processed == raw and done.records_deleted == raw
    assert "earlier" not in done.details and "so_far" not in done.details
    assert set(states().values()) == {"deleted"}
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, ENTITY)[ENTITY]
    assert len(rows) == DAYS * 24 and sum(row.points for row in rows) == raw
    assert detect() == [] and not Alert.objects.exists()
    assert "Traceback" not in log, log


def test_postgresql_away_past_the_last_retry_fails_the_run_once_it_answers(settings, entity):
    """The database stays away through every retry: the run could record nothing; once it
    answers, the dead-run check closes the run failed, saying the database was out of reach and
    naming its retries, with one alert. Nothing unverified was deleted."""
    raw = count_samples(entity, T0, T0 + DAYS * DAY)
    get_redis().set(pause_key(), "hourly:after_verify@1")
    with database_proxy() as (proxy, database_url), worker(settings, database_url, "0.2") as w:
        result = tasks.downsample_hourly.apply_async(kwargs=RANGE)  # as the beat sends it
        run = gone_at("hourly:after_verify", proxy)
        result.get(timeout=90, propagate=False)  # after the last retry
        assert result.state == "FAILURE", support.output(w)
        assert RetentionRun.objects.get(pk=run.pk).status == "running"  # nothing recorded
        closed = liveness.close_dead()  # the database answers (this process reaches it)
        log = support.output(w)
    assert [dead.pk for dead in closed] == [run.pk], log
    run.refresh_from_db()
    assert run.status == "failed" and run.finished is not None
    assert run.errors.startswith(SPENT), run.errors
    assert "the run was tried again until its retries were spent (details.retries)" in run.errors
    assert run.errors.endswith(liveness.UNRECORDED), run.errors
    assert [r["retry"] for r in run.details["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert all(r["error"].startswith(GONE) for r in run.details["retries"])
    assert run.details["unrecorded"] is True and "process_died" not in run.details
    assert run.details["days"] == [str(D0)] and run.records_processed == raw // DAYS
    [alert] = detect()
    assert (alert.run_id, alert.kind) == (run.pk, Alert.Kind.FAILED)
    assert states() == {str(D0): "verified"}
    assert count_samples(entity, T0, T0 + DAYS * DAY) == raw  # nothing deleted
    assert "Traceback" not in log, log
