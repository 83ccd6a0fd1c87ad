"""A tier run that waits in the queue, queued by the API or waiting for its retry, whose task
message went with a restart of Redis (Celery's broker and the locks' store: a redis-server of
the test's own, kept without data): no worker will ever take the run up. It stayed "running" for
ever, the alert check saying it waits for a worker or fails once its retries are spent; now it
shows failed, saying when Redis restarted and what to do, with one alert (retention.lost). A
Redis that did not restart, or came back with its data (an append-only file, a snapshot), may
still hold the message: the run waits."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from enrich.redis.client import get_redis
from enrich.schedules import install_schedules
from retention import liveness
from retention.models import Alert, RetentionRun
from retention.stats import alerts
from retention.tiers import tasks
from tests.retention.conftest import T0
from tests.support import worker as support
from tests.support.api import token_client
from tests.support.broker import broker_at
from tests.support.proxy import Proxy
from tests.support.redis_server import OwnRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]

ALIVE = 1.0  # liveness.ALIVE_SECONDS here: nothing is closed that long after Redis started
RANGE = {"start": str(T0.date()), "end": str(T0.date() + timedelta(days=2))}
ENTITY = "sensor.heat_pump_power"
WHEN = re.compile(r"restarted at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
LOST = (
    "Its task message was lost: Redis, the Celery broker, restarted at {when} UTC without its "
    "data (no append-only file, no snapshot loaded) after {what} was queued, so no worker will "
    "ever take the run up. {then} To keep queued work over a restart, give Redis an append-only "
    "file (appendonly yes)."
)
ASK_AGAIN = (
    "Days already deleted stay done; the next run (the schedule, or POST "
    "/retention/downsample-hourly) resumes the days in progress."
)
NEXT = re.compile(
    r"The next scheduled run \(\w{3} [-\d]{10} 02:00 UTC\) aggregates the raw points due\. "
    r"Nothing is deleted meanwhile: the raw points stay in Home Assistant's database until "
    r"their hourly rows are verified\."
)


class Broker(OwnRedis):
    """Redis as enrich and Celery use it, a redis-server of the test's own, which the test
    restarts."""

    def restart(self) -> tuple[datetime, datetime]:
        """Stop it and start it again; when (between what and what, to the second) it started."""
        before = datetime.now(UTC).replace(microsecond=0)
        self.stop()
        self.start()
        return before, datetime.now(UTC) + timedelta(seconds=1)

    def queued(self) -> int:
        """How many task messages wait in the retention queue."""
        return get_redis(self.url).llen("retention")

    def loaded(self) -> tuple[int, int]:
        """What it loaded as it started (INFO persistence): an append-only file (1: enabled), and
        the keys of a snapshot."""
        said = get_redis(self.url).info("persistence")
        return said["aof_enabled"], said["rdb_last_load_keys_loaded"]


@pytest.fixture
def redis(request, settings, monkeypatch, tmp_path):
    """The test's Redis, keeping (request.param) nothing, an append-only file or a snapshot the
    test asks for, in the test's own folder."""
    kept = getattr(request, "param", "nothing")
    folder = ("--dir", str(tmp_path))
    config = {"nothing": (), "append-only file": ("--appendonly", "yes", *folder)}
    monkeypatch.setattr(liveness, "ALIVE_SECONDS", ALIVE)
    settings.ALERT_WEBHOOK_URL = ""
    broker = Broker(*config.get(kept, folder))
    broker.kept = kept
    settings.REDIS_URL = broker.url
    try:
        with broker_at(broker.url):
            yield broker
    finally:
        broker.stop()


@pytest.fixture
def entity(ha_db, settings):
    # Its points are of 2024: Home Assistant silent since is not this test's (test_ha_silent.py).
    settings.HA_SILENT_HOURS = 0
    return ha_db.saved_entity("official", ENTITY, [(n * 10800, 100 + n) for n in range(16)])


@pytest.fixture
def api():
    """The API as a staff user calls it (one who may queue runs)."""
    return token_client("lost-message", staff=True)


def queued_by_the_api(api, broker: Broker) -> RetentionRun:
    """A tier run the API queued, with no worker to take it: it waits in the queue."""
    answer = api.post("/retention/downsample-hourly", RANGE, format="json")
    assert answer.status_code == 202, answer.content
    assert broker.queued() == 1
    return RetentionRun.objects.get(pk=answer.json()["run_id"])


def up_long_enough(broker: Broker) -> None:
    """Until Redis has been up for ALIVE_SECONDS (close_dead closes nothing before), as it
    says (INFO's uptime_in_seconds, which close_dead reads)."""
    support.until(lambda: get_redis(broker.url).info("server")["uptime_in_seconds"] >= ALIVE)


def shown(api, run: RetentionRun) -> dict:
    return api.get(f"/retention/runs/{run.pk}").json()


def assert_waits(api, run: RetentionRun) -> None:
    assert liveness.close_dead() == []
    assert shown(api, run)["status"] == "running"
    run.refresh_from_db()
    assert (run.status, run.errors, run.finished) == ("running", "", None)
    assert "message_lost" not in run.details


def recorded(run_id: int) -> None:
    """Until the run records which Redis its retry was sent to (retention.lost, a moment after
    the send; 5 s at most: a release that records nothing goes on then)."""
    deadline = time.monotonic() + 5
    run = RetentionRun.objects.get(pk=run_id)
    while "queued_in" not in run.details and time.monotonic() < deadline:
        time.sleep(0.05)
        run.refresh_from_db()


def restarted_at(errors: str, between: tuple[datetime, datetime]) -> str:
    """When the run's errors say Redis restarted, checked against when the test restarted it."""
    found = WHEN.search(errors)
    assert found, errors
    when = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert between[0] <= when <= between[1], (found[1], between)
    return found[1]


def assert_one_failed_alert(run: RetentionRun) -> None:
    alerts.check_alerts()
    alerts.check_alerts()
    [alert] = Alert.objects.all()
    assert (alert.run_id, alert.kind) == (run.pk, Alert.Kind.FAILED)
    assert "Its task message was lost: Redis, the Celery broker, restarted at" in alert.message


def test_a_run_the_api_queued_whose_message_a_redis_restart_lost_shows_failed(redis, entity, api):
    run = queued_by_the_api(api, redis)
    up_long_enough(redis)
    assert_waits(api, run)  # Redis did not restart: the message waits for a worker

    between = redis.restart()
    assert redis.queued() == 0 and redis.loaded() == (0, 0)  # the message went with it
    up_long_enough(redis)
    answer = shown(api, run)  # GET /retention/runs/<run_id> closes it, as close_dead does

    assert answer["status"] == "failed" and answer["finished"] is not None
    when = restarted_at(answer["errors"], between)
    assert answer["errors"] == LOST.format(when=when, what="the run", then=ASK_AGAIN)
    assert answer["details"]["message_lost"] is True
    assert_one_failed_alert(run)


@pytest.mark.parametrize(
    "redis",
    [pytest.param("nothing", id="not restarted"), "append-only file", "snapshot"],
    indirect=True,
)
def test_a_queued_run_whose_redis_may_still_hold_its_message_waits(redis, entity, api):
    """A Redis that did not restart, or restarted loading its append-only file or a snapshot
    taken after the run was queued, still holds the message: the run is left waiting."""
    run = queued_by_the_api(api, redis)
    if redis.kept == "snapshot":
        get_redis(redis.url).save()
    if redis.kept != "nothing":
        redis.restart()
        assert redis.queued() == 1  # loaded again
        aof, keys = redis.loaded()
        assert aof == 1 if redis.kept == "append-only file" else keys > 0
    up_long_enough(redis)
    assert_waits(api, run)
    alerts.check_alerts()
    assert not Alert.objects.exists()


def test_a_run_waiting_for_its_retry_whose_message_a_redis_restart_lost_shows_failed(
    redis, entity, settings, api
):
    """The beat's run meets InfluxDB out of reach and waits for its retry, due 8 s later, which
    the worker holds until then (Redis keeping it among its unacknowledged messages). Redis
    restarts: the retry is gone with it (kombu keeps the messages a worker holds in that Redis;
    the worker, reconnecting, drops its own copy), and the run is closed. The worker goes on
    (it died: enrich.redis.transport). Past the retry's due time no worker took it up."""
    install_schedules()  # the beat entry "Downsample raw to hourly", 02:00 UTC
    proxy = Proxy(settings.INFLUXDB_URL)  # closed: InfluxDB out of reach
    env = {
        "INFLUXDB_URL": proxy.url,
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_URL": redis.url,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        # Redis restarts well before the retry is due (a fraction of a second after it is
        # queued); the second worker then waits for the due time: no longer than needed.
        "RETENTION_RETRY_SECONDS": "8",
    }
    with support.celery_worker("lost-retry", **env) as worker:
        tasks.downsample_hourly.apply_async(kwargs=RANGE)  # as the beat sends it
        run = support.until(lambda: RetentionRun.objects.first(), worker, seconds=60)
        run = support.waiting_for_its_retry(run.pk, worker)
        support.until(lambda: get_redis(redis.url).hlen("unacked"), worker, seconds=20)
        recorded(run.pk)
        between = redis.restart()
        support.wait_idle(worker)  # it connected again and answers
    run.refresh_from_db()
    [retry] = run.details["retries"]
    assert retry["error"].startswith("InfluxUnavailable: ")
    assert run.details["scheduled"] is True
    up_long_enough(redis)

    assert [closed.pk for closed in liveness.close_dead()] == [run.pk]
    answer = shown(api, run)
    assert answer["status"] == "failed" and answer["finished"] is not None
    when = restarted_at(answer["errors"], between)
    what = f"its retry (1 of 3, due {retry['at']})"
    said, kept = LOST.format(when=when, what=what, then="\0").split("\0")
    errors = answer["errors"]
    assert errors.startswith(said) and errors.endswith(kept), errors
    assert NEXT.fullmatch(errors[len(said) : -len(kept)]), errors
    assert answer["details"]["message_lost"] is True
    assert_one_failed_alert(run)

    with support.celery_worker("lost-retry-again", **env) as worker:
        due = datetime.fromisoformat(retry["at"]) + timedelta(seconds=3)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        assert worker.poll() is None, support.output(worker)
    run.refresh_from_db()  # no worker took it up: the retry is gone for good
    assert run.status == "failed" and run.details["retries"] == [retry]


SENT_WITHIN = timedelta(seconds=1)  # lost.SENT_WITHIN here


def as_an_older_enrich_left_it(run: RetentionRun, monkeypatch) -> RetentionRun:
    """The run as an enrich that did not record the Redis holding its message left it (no
    `details.queued_in`: queued before it did, or Redis out of reach right after the send),
    once the time a send may take (lost.SENT_WITHIN) has passed since it was queued."""
    monkeypatch.setattr("retention.lost.SENT_WITHIN", SENT_WITHIN, raising=False)
    details = {k: v for k, v in run.details.items() if k != "queued_in"}
    RetentionRun.objects.filter(pk=run.pk).update(details=details)
    sent = run.started + SENT_WITHIN + timedelta(seconds=1)  # Redis tells its uptime in seconds
    support.until(lambda: datetime.now(UTC) > sent, seconds=5)
    run.refresh_from_db()
    return run


def test_a_run_queued_before_its_redis_was_recorded_shows_failed_once_redis_restarts_empty(
    redis, entity, api, monkeypatch
):
    """A run queued by an enrich that did not record which Redis holds its message stayed
    "running" for ever when a Redis restart lost the message: only runs with `queued_in` were
    ever closed. Now a Redis that started empty after the run was queued closes it, as it
    closes one whose Redis was recorded."""
    run = as_an_older_enrich_left_it(queued_by_the_api(api, redis), monkeypatch)
    up_long_enough(redis)
    assert_waits(api, run)  # Redis did not restart since it was queued: the message waits

    between = redis.restart()
    assert redis.queued() == 0 and redis.loaded() == (0, 0)
    up_long_enough(redis)
    answer = shown(api, run)
    assert answer["status"] == "failed" and answer["finished"] is not None
    when = restarted_at(answer["errors"], between)
    assert answer["errors"] == LOST.format(when=when, what="the run", then=ASK_AGAIN)
    assert answer["details"]["message_lost"] is True
    assert_one_failed_alert(run)


@pytest.mark.parametrize("redis", ["append-only file", "snapshot"], indirect=True)
def test_a_run_queued_before_its_redis_was_recorded_waits_while_redis_may_hold_it(
    redis, entity, api, monkeypatch
):
    run = as_an_older_enrich_left_it(queued_by_the_api(api, redis), monkeypatch)
    if redis.kept == "snapshot":
        get_redis(redis.url).save()
    redis.restart()
    assert redis.queued() == 1  # loaded again
    up_long_enough(redis)
    assert_waits(api, run)
    alerts.check_alerts()
    assert not Alert.objects.exists()


@pytest.mark.parametrize(("due", "closed"), [(-3600, True), (3600, False)])
def test_a_retry_queued_before_its_redis_was_recorded(redis, api, monkeypatch, due, closed):
    """A run an older enrich left waiting for its retry, its Redis not recorded: a Redis that
    started empty after the retry was due (it was sent before) lost it; one that started
    before the retry's due time may have been sent it, and the run waits."""
    at = (datetime.now(UTC) + timedelta(seconds=due)).isoformat(timespec="seconds")
    retry = {"error": "InfluxUnavailable: Cannot reach InfluxDB", "retry": "1 of 3", "at": at}
    run = RetentionRun.objects.create(
        operation=RetentionRun.Operation.RESTORE,
        status=RetentionRun.Status.RUNNING,
        started=datetime.now(UTC) - timedelta(hours=2),
        details={"queued_by": "ops", "retries": [retry]},
    )
    monkeypatch.setattr("retention.lost.SENT_WITHIN", SENT_WITHIN, raising=False)
    up_long_enough(redis)
    if not closed:
        assert_waits(api, run)
        return
    answer = shown(api, run)
    assert answer["status"] == "failed", answer
    assert answer["errors"].startswith(
        "Its task message was lost: Redis, the Celery broker, restarted at "
    ), answer["errors"]
    assert f"after its retry (1 of 3, due {at}) was queued" in answer["errors"]
    assert answer["details"]["message_lost"] is True
