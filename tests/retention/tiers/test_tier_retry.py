"""A tier run that meets InfluxDB out of reach (Home Assistant's InfluxDB add-on restarting for
its nightly backup, say), against the real services and a real Celery worker whose InfluxDB is
behind a TCP proxy the test closes. Each attempt was recorded failed (an alert each, though the
retry 5 minutes later succeeded) and the retry made a new run, so whoever polled the run the
API queued saw it failed while the work went on under a run id never given. Now the run waits
in the queue, `details.retries` saying why and when, and its retry goes on in the same run,
resuming the days in progress; it fails, with one alert, only once the retries are spent.

And one that meets Redis out of reach (its lock's store and Celery's broker: a redis-server of
the test's own, stopped mid-run), whose retry cannot be queued."""

import re
from datetime import timedelta

import pytest
from celery import Celery

from enrich.redis.client import get_redis
from enrich.schedules import install_schedules
from retention.entities.ha_source import count_samples
from retention.models import Alert, RetentionRun, TierChunk
from retention.stats.alerts import detect
from retention.tiers import tasks
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support import worker as support
from tests.support.api import token_client
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.ports import free_port
from tests.support.proxy import Proxy
from tests.support.redis_gone import failed_as_redis_stopped
from tests.support.redis_server import own_redis, stopped

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.influxdb,
    pytest.mark.usefixtures("empty_queues"),
]

D0 = T0.date()
DAY = timedelta(days=1)
DAYS = 3
HOURLY = "/retention/downsample-hourly"
RANGE = {"start": str(D0), "end": str(D0 + DAYS * DAY)}
ENTITY = "sensor.heat_pump_power"
UNREACHABLE = "InfluxDB became unreachable: Cannot reach InfluxDB at "
NEXT = re.compile(
    r"the next scheduled run \(\w{3} [-\d]{10} 02:00 UTC\) aggregates the raw points due"
)


@pytest.fixture
def entity(ha_db):
    """Three days of a power sensor (a change every 3 hours), saved in the registry."""
    return ha_db.saved_entity(
        "official", ENTITY, [(n * 10800, 100 + n) for n in range(DAYS * 8)], unit="W"
    )


@pytest.fixture
def proxy(settings):
    """InfluxDB as the worker reaches it: closed (out of reach) until the test opens it."""
    proxy = Proxy(settings.INFLUXDB_URL)
    yield proxy
    proxy.close()


def worker(settings, influxdb_url: str, node: str, retry_seconds: str, **options):
    env = {
        "INFLUXDB_URL": influxdb_url,
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": retry_seconds,
    }
    return support.celery_worker(node, **options, **env)


def states() -> dict[str, str]:
    return {str(c.day): c.state for c in TierChunk.objects.filter(tier="hourly").order_by("day")}


def test_influxdb_gone_mid_run_the_queued_run_waits_then_resumes_and_ends_ok(
    settings, entity, proxy
):
    """InfluxDB goes away once two days are verified (their raw points held for the week's
    delete): the run the API queued, polled by its id, waits and ends ok in the same run; the
    retry resumes the verified days and reports the whole run (every raw point counted once)."""
    raw = count_samples(entity, T0, T0 + DAYS * DAY)
    api = token_client("tier-retry", staff=True)
    get_redis().set(pause_key(), "hourly:after_verify@2")
    proxy.open()
    with worker(settings, proxy.url, "tier-retry-mid", "1", app="tests.support.pause_app") as w:
        answer = api.post(HOURLY, RANGE, format="json").json()
        support.until(lambda: get_redis().get(paused_key()), w, seconds=60)
        proxy.close()  # InfluxDB restarts
        get_redis().delete(paused_key())
        run = support.waiting_for_its_retry(answer["run_id"], w)
        assert states() == {str(D0): "verified", str(D0 + DAY): "verified"}
        assert detect() == []  # neither failed nor dead (retention.liveness): it waits
        done = support.retried_in_the_same_run(api, answer, w, proxy, "InfluxUnavailable")
    assert run.details["retries"][0]["error"].startswith("InfluxUnavailable: Cannot reach")
    assert (done["run_id"], done["status"], done["errors"]) == (answer["run_id"], "ok", "")
    assert RetentionRun.objects.count() == 1
    assert done["details"]["days"] == [str(D0 + n * DAY) for n in range(DAYS)]
    assert done["records_processed"] == raw and done["records_deleted"] == raw
    assert "earlier" not in done["details"]
    assert set(states().values()) == {"deleted"}
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, ENTITY)[ENTITY]
    assert len(rows) == DAYS * 24 and sum(row.points for row in rows) == raw
    assert detect() == [] and not Alert.objects.exists()


def test_a_queued_dry_run_waits_for_influxdb_in_the_same_run(settings, entity, proxy):
    api = token_client("tier-retry-dry", staff=True)
    with worker(settings, proxy.url, "tier-retry-dry", "1") as w:
        answer = api.post(HOURLY, {**RANGE, "dry_run": True}, format="json").json()
        done = support.retried_in_the_same_run(api, answer, w, proxy, "InfluxUnavailable")
    assert (done["run_id"], done["status"]) == (answer["run_id"], "dry_run")
    assert done["records_processed"] == count_samples(entity, T0, T0 + DAYS * DAY)
    assert RetentionRun.objects.count() == 1 and detect() == []


def test_influxdb_out_of_reach_past_the_last_retry_fails_the_run_once_with_one_alert(
    settings, entity, proxy
):
    raw = count_samples(entity, T0, T0 + DAYS * DAY)
    with worker(settings, proxy.url, "tier-retry-spent", "0.2"):
        result = tasks.downsample_hourly.apply_async(kwargs=RANGE)  # as the beat sends it
        result.get(timeout=90, propagate=False)  # after the last retry
    assert result.state == "FAILURE"
    [run] = RetentionRun.objects.all()
    assert run.status == "failed" and run.finished is not None
    assert run.errors.startswith(UNREACHABLE), run.errors
    assert "the run was tried again until its retries were spent (details.retries)" in run.errors
    assert [r["retry"] for r in run.details["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert run.details["queued_by"] == "schedule"
    [alert] = detect()
    assert (alert.run_id, alert.kind) == (run.pk, Alert.Kind.FAILED)
    assert Alert.objects.count() == 1
    assert count_samples(entity, T0, T0 + DAYS * DAY) == raw  # nothing deleted


def test_redis_gone_mid_run_fails_the_run_saying_its_retry_could_not_be_queued(settings, entity):
    """Redis stops once the first day is verified (its raw points held for the week's delete):
    the run's lock cannot be renewed and its retry cannot be queued, Redis being the broker too.
    The run stayed "running", its errors empty, for as long as Redis was away (then it was closed
    as one whose process died); now it fails at once saying what happened, with its alert, and
    nothing is lost: with Redis back, the worker, still up, takes the next run, which resumes."""
    install_schedules()  # the beat entry "Downsample raw to hourly", 02:00 UTC
    raw = count_samples(entity, T0, T0 + DAYS * DAY)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = own_redis(port)
    get_redis().set(pause_key(), "hourly:after_verify@1")  # the test's Redis, not the worker's
    env = {"REDIS_URL": url, "PAUSE_REDIS_URL": settings.REDIS_URL}
    # Sends the task as the beat does, to the worker's Redis (not the app the other tests use).
    beat = Celery("beat", broker=url, set_as_current=False)

    def scheduled_run():
        beat.send_task(tasks.downsample_hourly.name, kwargs=RANGE, queue="retention")

    try:
        pausing = {"app": "tests.support.pause_app", **env}
        with worker(settings, settings.INFLUXDB_URL, "tier-redis", "3", **pausing) as w:
            scheduled_run()
            run = failed_as_redis_stopped(redis, w, url, "The lock of the tier runs")
            assert NEXT.search(run.errors), run.errors
            assert "the raw points stay in Home Assistant's database" in run.errors
            assert states() == {str(D0): "verified"}
            assert count_samples(entity, T0, T0 + DAYS * DAY) == raw  # nothing deleted

            redis = own_redis(port)  # Redis is back (empty: the run's message went with it)
            scheduled_run()
            again = RetentionRun.objects.exclude(pk=run.pk)
            support.until(lambda: again.exclude(status="running").first(), w, seconds=60)
            support.stop(w)
    finally:
        if redis.poll() is None:
            stopped(redis)
    [done] = RetentionRun.objects.exclude(pk=run.pk)
    assert (done.status, done.errors) == ("ok", ""), done.errors
    assert done.details["days"] == [str(D0 + n * DAY) for n in range(DAYS)]
    assert set(states().values()) == {"deleted"}
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, ENTITY)[ENTITY]
    assert len(rows) == DAYS * 24 and sum(row.points for row in rows) == raw
