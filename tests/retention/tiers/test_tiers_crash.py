"""Crashes and outages during tier runs, against the real services.

- Crash injection: `manage.py downsample_hourly|downsample_daily` runs in a child process with
  ENRICH_FAULT_INJECT naming a crash point of the tiers (`retention.faults`); the process kills
  itself there with SIGKILL (as the OOM killer would). A rerun of the same command (here in the
  test's process: nothing of the dead one is left in it) must then give exactly the aggregates
  of one clean aggregation of the raw data, no duplicate rows, and account for every raw point.
- InfluxDB down mid-run: the gateway talks to InfluxDB through a TCP proxy on loopback that
  the test closes between the write and the verification; and a real Celery worker whose
  InfluxDB is unreachable waits for its retry in the same run and finishes it once it is back.
"""

import io
import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from enrich.influx import InfluxUnavailable
from enrich.redis.client import get_redis, make_key
from retention import faults, liveness
from retention.entities.ha_source import count_samples, read_samples
from retention.models import Entity, RetentionRun, TierChunk
from retention.tiers import runner as tiers
from retention.tiers.aggregate import compose
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from tests.retention.conftest import T0
from tests.support import worker as support
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.proxy import Proxy, closes_at, influxdb_proxy_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = T0.date()
DAYS = 3


@pytest.fixture
def home(ha_db, layout):
    """A demo home of DAYS days plus a meter with a reset and an ingestor-style gap, saved
    in the registry; returns (entities, reference hourly fields, raw points)."""
    readings = ha_db.write_demo_home(layout, days=DAYS, entities=6, end=T0 + DAYS * DAY)
    entities = []
    for measurement, domain, object_id in sorted(
        {(r.measurement, r.tags["domain"], r.tags["entity_id"]) for r in readings}
    ):
        kind = {"W": "power", "kWh": "energy", "°C": "numeric"}.get(measurement)
        kind = kind or ("binary" if domain == "binary_sensor" else "weather")
        entity = Entity(
            entity_id=f"{domain}.{object_id}",
            kind=kind,
            unit=measurement if kind in ("power", "energy", "numeric") else "",
            layout=layout,
            measurement=measurement if layout == "official" else "home_assistant_events",
        )
        entity.save()
        entities.append(entity)
    meter = ha_db.write_entity(
        layout,
        "sensor.plug_energy",
        [(600, 5.0), (40000, 5.4), (90000, 0.2), (100000, "unavailable"), (180000, 0.9)],
        unit="kWh",
    )
    meter.save()
    entities.append(meter)
    start, end = T0, T0 + DAYS * DAY
    expected = {}
    for entity in entities:
        samples = list(read_samples(entity, start, end))  # in W / kWh
        aggregates = aggregate_windows(entity.kind, samples, hour_windows(start, end))
        expected[entity.entity_id] = {
            a.window_start: a.to_fields() for a in aggregates if a is not None
        }
    raw = sum(count_samples(e, start, end) for e in entities)
    return entities, expected, raw


def manage(command: str, fault: str, start=D0, end=D0 + DAYS * DAY):
    """The command in a child process armed to die at `fault`."""
    return support.manage_in_child(
        command,
        "--start",
        str(start),
        "--end",
        str(end),
        timeout=240,
        HA_INFLUXDB_DATABASE=django_settings.HA_INFLUXDB_DATABASE,
        TIER_DATABASE=django_settings.TIER_DATABASE,
        REDIS_KEY_PREFIX=django_settings.REDIS_KEY_PREFIX,
        REDIS_URL=django_settings.REDIS_URL,
        INFLUXDB_URL=django_settings.INFLUXDB_URL,
        ENRICH_FAULT_INJECT=fault,
    )


def rerun(command: str, start=D0, end=D0 + DAYS * DAY) -> str:
    """The command run again after the crash; what it printed."""
    out = io.StringIO()
    call_command(command, start=str(start), end=str(end), stdout=out)
    return out.getvalue()


def crash(command: str, fault: str) -> None:
    result = manage(command, fault)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    assert f"fault injection: process exits at {fault}" in result.stderr


def expire_dead_runs_lock(operation: str) -> None:
    """The killed run's lock lives on until its expiry (LOCK_TTL_SECONDS); a run meanwhile is
    skipped. Shown once, then the expiry is brought forward instead of waiting 10 minutes."""
    run = tiers.downsample_hourly(D0, D0 + DAY) if operation == "downsample_hourly" else None
    if run is not None:  # it names the dead run, in the admin's words
        dead = (
            RetentionRun.objects.filter(operation=operation)
            .exclude(pk=run.pk)
            .order_by("pk")
            .last()
        )
        assert run.status == "skipped" and run.details["reason"].startswith(
            f"the lock of the raw -> hourly runs is held by raw -> hourly run {dead.pk} since "
        )
    key = make_key("lock", operation)
    assert get_redis().pttl(key) > 0
    get_redis().pexpire(key, 1)
    time.sleep(0.01)


def hourly_rows(entity_id: str) -> dict:
    rows = read_rows(HOURLY_RP, T0 - DAY, T0 + (DAYS + 1) * DAY, entity_id).get(entity_id, [])
    return {r.start: {k: v for k, v in r.fields.items() if not is_own_field(k)} for r in rows}


def assert_exact(entities, expected, raw_before) -> None:
    accounted = 0
    for entity in entities:
        got = hourly_rows(entity.entity_id)
        want = expected[entity.entity_id]
        assert got.keys() == want.keys(), entity.entity_id  # no missing, no extra rows
        for hour, fields in want.items():
            assert got[hour].keys() == fields.keys(), (entity.entity_id, hour)
            for name, value in fields.items():
                if isinstance(value, str):
                    assert got[hour][name] == value
                else:
                    assert got[hour][name] == pytest.approx(value, rel=1e-9, abs=1e-12)
        accounted += sum(f["sample_count"] + f["gap_count"] for f in got.values())
        assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    assert accounted == raw_before  # no lost samples


def no_duplicates(entity_id: str, rp: str) -> None:
    """One row per window: raw InfluxQL, every point of the series."""
    from enrich.influx import get_timeseries, quote_ident

    source = f"{quote_ident(django_settings.TIER_DATABASE)}.{quote_ident(rp)}.entity_aggregates"
    query = f'SELECT "sample_count" FROM {source} WHERE "entity_id" = $e GROUP BY *'
    rows = list(get_timeseries().query(django_settings.TIER_DATABASE, query, {"e": entity_id}))
    times = [r.time for r in rows]
    assert len(times) == len(set(times))


# --- hot -> warm crashes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["hourly:after_write", "hourly:after_verify", "hourly:mid_delete"]
)
def test_hourly_crash_then_rerun_gives_the_same_aggregates(home, fault):
    entities, expected, raw_before = home
    crash("downsample_hourly", fault)

    chunks = dict(TierChunk.objects.filter(tier="hourly").values_list("day", "state"))
    raw_now = sum(count_samples(e, T0, T0 + DAYS * DAY) for e in entities)
    if fault == "hourly:after_write":
        assert chunks == {D0: "written"} and raw_now == raw_before
    elif fault == "hourly:after_verify":
        assert chunks == {D0: "verified"} and raw_now == raw_before
    else:
        # The days are deleted together once all are verified (retention.tiers.pending): the
        # first statement ran (official: every entity's days; ingestor: the first entity's),
        # and no day is marked deleted yet.
        assert chunks == {D0 + n * DAY: "verified" for n in range(DAYS)}
        assert raw_now < raw_before
        # Closed as dead, the run counts the days it did: it said "0 days, 0 entities, 0 raw
        # points -> 0 hourly rows" (a delete statement its process died in is not counted).
        dead = RetentionRun.objects.get(operation="downsample_hourly")
        get_redis().delete(liveness.run_key(dead.pk))  # gone with its process, once expired
        assert [run.pk for run in liveness.close_dead()] == [dead.pk]
        dead.refresh_from_db()
        assert dead.status == "failed" and "so_far" not in dead.details
        assert dead.details["days"] == [(D0 + n * DAY).isoformat() for n in range(DAYS)]
        assert dead.details["entities"] == len(entities)
        assert dead.records_processed == raw_before
        assert dead.details["rows_written"] == sum(len(hours) for hours in expected.values())

    expire_dead_runs_lock("downsample_hourly")
    printed = rerun("downsample_hourly")
    assert "raw -> hourly run" in printed and ": ok;" in printed

    assert_exact(entities, expected, raw_before)
    for entity in entities:
        no_duplicates(entity.entity_id, HOURLY_RP)
    states = set(TierChunk.objects.filter(tier="hourly").values_list("state", flat=True))
    assert states == {"deleted"}


# --- warm -> cold crashes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["daily:after_write", "daily:after_verify", "daily:mid_delete", "daily:before_rewrite"],
)
def test_daily_crash_then_rerun_gives_the_same_aggregates(home, fault):
    entities, expected, raw_before = home
    assert tiers.downsample_hourly(D0, D0 + DAYS * DAY).status == "ok"
    hourly = {e.entity_id: read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, e.entity_id) for e in entities}
    want = {}
    for entity in entities:
        rows = hourly[entity.entity_id].get(entity.entity_id, [])
        for n in range(DAYS):
            start = T0 + n * DAY
            parts = [r.aggregate(HOUR) for r in rows if start <= r.start < start + DAY]
            composed = compose(entity.kind, parts, start, start + DAY)
            if composed is not None:
                want[(entity.entity_id, start)] = composed.to_fields()

    crash("downsample_daily", fault)
    chunks = {chunk.day: chunk for chunk in TierChunk.objects.filter(tier="daily")}
    daily_now = read_rows(DAILY_RP, T0, T0 + DAYS * DAY)
    if fault in ("daily:mid_delete", "daily:before_rewrite"):
        # The held days are deleted together (retention.tiers.daily): InfluxDB 1.x deleted
        # their daily rows at midnight with the hourly ones; each day's rows are in its
        # chunk's pending_rows and the rerun writes them again.
        assert {day: chunk.state for day, chunk in chunks.items()} == {
            D0 + n * DAY: "verified" for n in range(DAYS)
        }
        for n in range(DAYS):
            assert set(chunks[D0 + n * DAY].pending_rows) == {
                e.entity_id for e in entities if (e.entity_id, T0 + n * DAY) in want
            }
        assert daily_now == {}
    else:
        assert chunks[D0].state in ("written", "verified") and daily_now

    expire_dead_runs_lock("downsample_daily")
    printed = rerun("downsample_daily")
    assert "hourly -> daily run" in printed and ": ok;" in printed

    got = {}
    for entity_id, rows in read_rows(DAILY_RP, T0, T0 + DAYS * DAY).items():
        for row in rows:
            got[(entity_id, row.start)] = row.fields
    assert got.keys() == want.keys()
    for key, fields in want.items():
        for name, value in fields.items():
            assert got[key][name] == (
                value if isinstance(value, str) else pytest.approx(value, rel=1e-9, abs=1e-12)
            ), (key, name)
    assert read_rows(HOURLY_RP, T0, T0 + DAYS * DAY) == {}
    assert sum(f["sample_count"] + f["gap_count"] for f in got.values()) == raw_before
    for entity in entities:
        no_duplicates(entity.entity_id, DAILY_RP)


# --- late points: a crash between folding them in and deleting them ----------------------


def test_late_point_crash_then_rerun_folds_it_in_once(ha_db):
    entity = ha_db.write_entity("official", "sensor.kettle_power", [(0, 10)], unit="W")
    entity.save()
    assert tiers.downsample_hourly(D0, D0 + DAY).status == "ok"
    ha_db.write_entity("official", "sensor.kettle_power", [(7200 + 5, 900)], unit="W")
    result = manage("downsample_hourly", "hourly:late_after_write", D0, D0 + DAY)
    assert result.returncode == -signal.SIGKILL
    assert count_samples(entity, T0, T0 + DAY) == 1  # folded, not deleted yet
    [dead] = RetentionRun.objects.filter(operation="downsample_hourly", status="running")
    expire_dead_runs_lock("downsample_hourly")
    # The dead run also held the daily tier's lock (hourly rows must not change while the
    # daily tier composes them): until it expires, late points wait, saying who holds it (it
    # said "the daily tier is running", where no daily run was).
    waiting = tiers.downsample_hourly(D0, D0 + DAY)
    assert waiting.status == "ok" and waiting.details["late_points"] == 0
    assert waiting.details["waiting"][0].startswith(
        "late points not folded in: the lock of the hourly -> daily runs is held by "
        f"raw -> hourly run {dead.pk} folding late points since "
    )
    expire_dead_runs_lock("downsample_daily")
    assert ": ok;" in rerun("downsample_hourly", D0, D0 + DAY)
    row = hourly_rows(entity.entity_id)[T0 + 2 * HOUR]
    assert row["sample_count"] == 1 and row["max_value"] == 900  # once, not twice
    assert count_samples(entity, T0, T0 + DAY) == 0


# --- InfluxDB down -------------------------------------------------------------------------


@pytest.fixture
def proxy(influxdb_proxy):
    return influxdb_proxy


def test_influxdb_down_between_write_and_verify_deletes_nothing(home, proxy, monkeypatch):
    entities, expected, raw_before = home
    real_point = faults.point
    closes_at(proxy, monkeypatch, "hourly:after_write")
    with pytest.raises(InfluxUnavailable, match=f"Cannot reach InfluxDB at {proxy.url}"):
        tiers.downsample_hourly(D0, D0 + DAYS * DAY)
    run = RetentionRun.objects.get()
    assert run.status == "failed"
    assert run.errors.startswith("InfluxDB became unreachable: Cannot reach InfluxDB")
    assert "Nothing was deleted for a day whose rows were not verified" in run.errors
    assert TierChunk.objects.get(day=D0).state == "written"
    assert make_key("lock", "downsample_hourly") not in get_redis().keys("*lock*")

    monkeypatch.setattr(faults, "point", real_point)
    proxy.open()  # InfluxDB is back: nothing was lost, the rerun completes exactly
    assert sum(count_samples(e, T0, T0 + DAYS * DAY) for e in entities) == raw_before
    assert tiers.downsample_hourly(D0, D0 + DAYS * DAY).status == "ok"
    assert_exact(entities, expected, raw_before)


@pytest.mark.parametrize("layout", ["official"])
def test_task_retries_by_itself_when_influxdb_is_back(home, settings):
    entities, expected, raw_before = home
    proxy = Proxy(settings.INFLUXDB_URL)  # closed: InfluxDB unreachable for the worker
    from retention.stats.alerts import detect
    from retention.tiers.tasks import downsample_hourly

    env = {
        "INFLUXDB_URL": proxy.url,
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        # Room to see the failed run and open the proxy before the retry, not more.
        "RETENTION_RETRY_SECONDS": "2",
    }
    with support.celery_worker("tiers-retry", **env) as worker:
        result = downsample_hourly.apply_async(
            kwargs={"start": str(D0), "end": str(D0 + DAYS * DAY)}
        )
        # The run waits for its retry, in the queue: neither failed nor alerted (each attempt
        # was recorded failed, an alert each, and the retry made a new run).
        waiting = support.until(
            lambda: RetentionRun.objects.filter(details__has_key="retries").first(), worker
        )
        assert (waiting.status, waiting.finished, waiting.errors) == ("running", None, "")
        [first] = waiting.details["retries"]
        assert first["error"].startswith("InfluxUnavailable: Cannot reach InfluxDB")
        assert detect() == []
        assert sum(count_samples(e, T0, T0 + DAYS * DAY) for e in entities) == raw_before
        proxy.open()
        try:
            outcome = result.get(timeout=90)
        finally:
            proxy.close()
    assert outcome["status"] == "ok"
    assert RetentionRun.objects.filter(status="ok").count() == 1
    assert RetentionRun.objects.count() == 1 and outcome["run_id"] == waiting.pk
    assert RetentionRun.objects.get().details["retries"] == [first]
    assert detect() == []
    assert_exact(entities, expected, raw_before)


# --- a worker killed mid-run: the task comes again ----------------------------------------


def worker_dying_once(settings, node: str, fault: str):
    """A real prefork worker on the test's databases whose process dies at `fault` in the
    first task it runs, and only then (tests/support/crash_once_app.py)."""
    from tests.support.crash_once_app import crash_once_key

    get_redis().set(crash_once_key(), fault)
    return support.celery_worker(
        node,
        app="tests.support.crash_once_app",
        pool="prefork",
        HA_INFLUXDB_DATABASE=settings.HA_INFLUXDB_DATABASE,
        TIER_DATABASE=settings.TIER_DATABASE,
        REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX,
    )


@pytest.mark.parametrize("layout", ["official"])
@pytest.mark.usefixtures("empty_queues")  # a task left queued would take the crash
def test_a_task_whose_worker_was_killed_is_delivered_again_and_finishes_the_work(home, settings):
    """A real prefork worker whose process dies (SIGKILL) after writing the first day: Celery
    delivers the task again at once (acks_late, task_reject_on_worker_lost), while the dead
    delivery's lock still lives for LOCK_TTL_SECONDS. The new delivery takes that lock over
    and finishes the run the API queued, exactly, instead of skipping it as "another run"."""
    from tests.support.api import token_client

    entities, expected, raw_before = home
    api = token_client("crash-api", staff=True)
    with worker_dying_once(settings, "tiers-killed", "hourly:after_write") as worker:
        body = {"start": str(D0), "end": str(D0 + DAYS * DAY)}
        answer = api.post("/retention/downsample-hourly", body, format="json").json()
        run = support.followed(api, answer, worker, timeout=120)
        log = support.output(worker)
    assert "fault injection: process exits at hourly:after_write" in log
    assert "WorkerLostError" in log
    assert run["status"] == "ok", (run, log)
    assert run["details"]["days"] == [str(D0 + n * DAY) for n in range(DAYS)]
    assert RetentionRun.objects.count() == 1
    assert_exact(entities, expected, raw_before)
    assert get_redis().keys(make_key("lock", "*")) == []


@pytest.mark.parametrize("layout", ["official"])
@pytest.mark.usefixtures("empty_queues")  # a task left queued would take the crash
def test_the_run_a_dead_delivery_left_running_is_closed_by_the_next_delivery(home, settings):
    """The scheduled task (beat: no run_id) records a new run in each delivery. The one whose
    worker died is closed as failed, saying so, by the delivery that follows; it is not left
    "running" for ever, to be alerted as a run that hangs once ALERT_MAX_DURATION_SECONDS pass."""
    from retention.stats.alerts import detect
    from retention.tiers.tasks import downsample_hourly

    entities, expected, raw_before = home
    with worker_dying_once(settings, "tiers-beat-killed", "hourly:after_write") as worker:
        result = downsample_hourly.apply_async(
            kwargs={"start": str(D0), "end": str(D0 + DAYS * DAY)}
        )
        try:
            outcome = result.get(timeout=120)
        except Exception:
            pytest.fail(support.output(worker))
    dead, resumed = RetentionRun.objects.order_by("pk")
    assert outcome == {"run_id": resumed.pk, "status": "ok", "summary": outcome["summary"]}
    assert dead.status == "failed" and dead.details["worker_lost"] is True
    assert dead.details["task_id"] == resumed.details["task_id"] == result.id
    assert dead.errors == (
        "The worker running it died (killed, out of memory, or restarted without waiting for "
        "it) before the run finished. Celery delivered the task again: delivery 2 resumes the "
        "work in a new run."
    )
    assert dead.finished is not None
    assert_exact(entities, expected, raw_before)
    # Hours later, the alert check finds no run hanging.
    later = dead.started + timedelta(seconds=settings.ALERT_MAX_DURATION_SECONDS + 60)
    assert [alert.kind for alert in detect(later)] == ["failed"]
