"""GET /retention/stats and the daily `retention_metrics` point, checked against sizes the
test measures itself (SHOW STATS over plain HTTP) and points it wrote itself."""

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
import requests
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from enrich import influx as timeseries
from enrich.influx import RetentionTier, get_timeseries, quote_ident
from enrich.readings import Reading
from retention.models import ArchiveObject, RetentionRun
from retention.schema import DAILY_RP, HOURLY_RP, METRICS_MEASUREMENT
from retention.stats import measure, metrics
from retention.tiers import runner as tier_runs
from tests.retention.conftest import T0, ingestor_readings, official_readings
from tests.support.api import token_client
from tests.support.replay import unused_url

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

GB = 2**30
NOW = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)


# --- fixtures and independent measurements ----------------------------------------------------
@pytest.fixture
def client():
    return token_client("stats")


@pytest.fixture
def tiers(ha_db):
    """The HA test database with the two tier retention policies next to autogen."""
    get_timeseries().create_database(
        ha_db.name,
        tiers=[RetentionTier(HOURLY_RP, "INF"), RetentionTier(DAILY_RP, "INF")],
    )
    return ha_db


@pytest.fixture
def enrichment_db(settings):
    name = f"test_enrich_{uuid.uuid4().hex[:12]}"
    ts = get_timeseries()
    ts.create_database(name)
    settings.INFLUXDB_DATABASE = name
    try:
        yield name
    finally:
        ts.drop_database(name)


def measured_sizes() -> dict[tuple[str, str], int]:
    """diskBytes per (database, retention policy), straight from InfluxDB's SHOW STATS."""
    username = django_settings.INFLUXDB_USERNAME  # an InfluxDB with auth on (an admin)
    response = requests.get(
        f"{django_settings.INFLUXDB_URL}/query",
        params={"q": "SHOW STATS FOR 'shard'"},
        auth=(username, django_settings.INFLUXDB_PASSWORD) if username else None,
        timeout=10,
    )
    response.raise_for_status()
    sizes: dict[tuple[str, str], int] = {}
    for series in response.json()["results"][0].get("series", []):
        row = dict(zip(series["columns"], series["values"][0], strict=True))
        key = (series["tags"]["database"], series["tags"]["retentionPolicy"])
        sizes[key] = sizes.get(key, 0) + row["diskBytes"]
    return sizes


def stats_with_stable_sizes(client, *databases: str):
    """The endpoint's answer plus the sizes measured around it, equal before and after for
    our databases (no compaction moved their bytes while the endpoint measured)."""

    def ours() -> dict[tuple[str, str], int]:
        return {k: v for k, v in measured_sizes().items() if k[0] in databases}

    for _ in range(5):
        before = ours()
        response = client.get("/retention/stats")
        if before == ours():
            assert response.status_code == 200, response.content
            return response.json(), before
    pytest.fail("InfluxDB's shard sizes kept changing during the request")


def raw_home(db_name: str) -> int:
    """Official-layout points of three kinds of entity; returns how many points were written."""
    readings = official_readings(
        "sensor.fridge_power", [(i * 60, 100.0 + i) for i in range(120)], unit="W"
    )
    # on/off states carry both `value` and `state`: one point, two state fields
    readings += official_readings(
        "binary_sensor.hall_motion", [(i * 90, i % 2 == 0) for i in range(40)]
    )
    # text states carry `state` only
    readings += official_readings(
        "sensor.washer_status", [(i * 600, ["idle", "washing", "spin"][i % 3]) for i in range(12)]
    )
    get_timeseries().write(db_name, readings)
    return len(readings)


def aggregate_rows(tier_rp: str, db_name: str, count: int, step: timedelta) -> None:
    readings = [
        Reading(
            "entity_aggregates",
            {"avg_value": 100.0 + i, "sample_count": 60, "coverage_seconds": 3600.0},
            T0 - timedelta(days=30) + i * step,
            {"entity_id": "sensor.fridge_power", "kind": "power"},
        )
        for i in range(count)
    ]
    get_timeseries().write(db_name, readings, retention_policy=tier_rp)


def run(operation, deleted, status=RetentionRun.Status.OK, **fields):
    return RetentionRun.objects.create(
        operation=operation,
        status=status,
        started=fields.pop("started", NOW - timedelta(hours=3)),
        records_deleted=deleted,
        **fields,
    )


# --- the figures --------------------------------------------------------------------------------
def test_sizes_and_savings_match_independent_measurements(
    client, tiers, enrichment_db, settings, local_archive
):
    points = raw_home(tiers.name)
    aggregate_rows(HOURLY_RP, tiers.name, 48, timedelta(hours=1))
    aggregate_rows(DAILY_RP, tiers.name, 10, timedelta(days=1))
    get_timeseries().write(enrichment_db, [Reading("carbon_intensity", {"x": 1.0}, T0)])
    op = RetentionRun.Operation
    run(op.DOWNSAMPLE_HOURLY, 1000)
    run(op.DOWNSAMPLE_HOURLY, 234, status=RetentionRun.Status.FAILED)  # deleted before failing
    run(op.DOWNSAMPLE_HOURLY, 999, status=RetentionRun.Status.DRY_RUN)  # deleted nothing
    run(op.DOWNSAMPLE_DAILY, 77)  # hourly rows: their raw points were counted already
    run(op.ARCHIVE, 5)
    ArchiveObject.objects.create(
        key="archives/2024/data_2024-01-01.parquet", target="local", start_date=T0.date(),
        end_date=T0.date(), record_count=10, file_size=200_000, checksum="a" * 64,
        compression="gzip", created=NOW,
    )  # fmt: skip
    ArchiveObject.objects.create(
        key="archives/2019/data_2019-01-01.parquet", target="local", start_date=T0.date(),
        end_date=T0.date(), record_count=10, file_size=7_777, checksum="b" * 64,
        compression="gzip", created=NOW, expired=NOW,
    )  # fmt: skip
    stored = local_archive / "archives/2024/data_2024-01-01.parquet"  # what the store lists
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"p" * 200_000)

    body, sizes = stats_with_stable_sizes(client, tiers.name, enrichment_db)

    raw = sizes[(tiers.name, "autogen")]
    hourly = sizes[(tiers.name, HOURLY_RP)]
    daily = sizes[(tiers.name, DAILY_RP)]
    enrichment = sizes[(enrichment_db, "autogen")]
    assert min(raw, hourly, daily, enrichment) > 0
    size = body["current_db_size_gb"]
    assert {name: t["bytes"] for name, t in size["tiers"].items()} == {
        "raw": raw,
        "hourly": hourly,
        "daily": daily,
        "enrichment": enrichment,
    }
    assert size["tiers"]["raw"]["retention_policies"] == ["autogen"]
    assert size["bytes"] == raw + hourly + daily + enrichment
    assert size["unit"] == "GB" and size["value"] == pytest.approx(size["bytes"] / GB, abs=1e-9)

    per_point = body["raw_bytes_per_point"]
    assert per_point["points"] == points and per_point["exact"] is True
    assert per_point["unit"] == "bytes/point"
    assert per_point["value"] == pytest.approx(raw / points, abs=1e-6)

    assert body["raw_points_removed"]["value"] == 1234
    removed_bytes = round(Fraction(1234 * raw, points))
    equivalent = raw + removed_bytes
    saved = equivalent - (raw + hourly + daily)
    assert body["raw_equivalent_size_gb"]["bytes"] == equivalent
    assert body["storage_saved_gb"]["bytes"] == saved
    assert body["storage_saved_gb"]["value"] == pytest.approx(saved / GB, abs=1e-9)
    assert body["reduction_percentage"]["value"] == pytest.approx(
        saved / equivalent * 100, abs=1e-4
    )
    assert body["reduction_percentage"]["unit"] == "%"

    assert body["archive_size_gb"]["bytes"] == 200_000  # the expired object is gone
    assert body["archive_size_gb"]["objects"] == 1
    assert body["archive_size_gb"]["missing"] == body["archive_size_gb"]["changed"] == []
    expected_cost = saved / GB * 0.08 * 12 - 200_000 / GB * 0.004 * 12
    cost = body["annual_cost_savings"]
    assert cost["value"] == pytest.approx(expected_cost, abs=1e-4)
    assert cost["unit"] == "USD/year"
    assert (cost["db_price_per_gb_month"], cost["archive_price_per_gb_month"]) == (0.08, 0.004)


def test_saved_bytes_are_deleted_points_times_measured_bytes_per_point(client, tiers, settings):
    settings.INFLUXDB_DATABASE = tiers.name  # no separate enrichment data in this test
    points = raw_home(tiers.name)
    run(RetentionRun.Operation.DOWNSAMPLE_HOURLY, 86_400)
    run(RetentionRun.Operation.DOWNSAMPLE_HOURLY, 1_600)

    body, sizes = stats_with_stable_sizes(client, tiers.name)

    raw = sizes[(tiers.name, "autogen")]
    # empty tiers: what was saved is exactly the deleted raw points' measured bytes
    assert body["storage_saved_gb"]["bytes"] == round(Fraction(88_000 * raw, points))
    assert body["raw_equivalent_size_gb"]["bytes"] == raw + round(Fraction(88_000 * raw, points))


def test_points_are_counted_per_point_not_per_field_in_the_ingestor_layout(tiers):
    readings = ingestor_readings(
        "sensor.outdoor_temperature", [(i * 60, 10 + i / 10) for i in range(50)], unit="°C"
    )
    readings += ingestor_readings(
        "light.kitchen", [(i * 60, i % 2 == 0) for i in range(20)], writer="attr"
    )
    tiers.write(readings)

    counted = measure.count_raw_points(tiers.name, ("autogen",))

    assert (counted.points, counted.exact) == (70, True)


@pytest.mark.parametrize(
    "layout",
    [
        "official",  # numeric sensors only: `value`, no `state` field anywhere
        "ingestor",  # the HA Ingestor's JSON writer: `state_value`, no `state` field anywhere
    ],
)
def test_points_are_counted_where_no_measurement_has_a_state_field(client, tiers, layout, settings):
    settings.INFLUXDB_DATABASE = tiers.name
    points = [(i * 60, 20.0 + i / 10) for i in range(30)]
    tiers.write_entity(layout, "sensor.outdoor_temperature", points, unit="°C")
    tiers.write_entity(layout, "sensor.fridge_power", points[:11], unit="W")

    assert measure.count_raw_points(tiers.name, ("autogen",)).points == 41
    body, sizes = stats_with_stable_sizes(client, tiers.name)
    per_point = body["raw_bytes_per_point"]
    assert (per_point["points"], per_point["exact"]) == (41, True)
    assert per_point["value"] == round(sizes[(tiers.name, "autogen")] / 41, 6)


def test_points_without_a_state_field_are_a_lower_bound_and_said_so(client, tiers, settings):
    settings.INFLUXDB_DATABASE = tiers.name
    raw_home(tiers.name)
    tiers.write(
        [
            Reading("custom_meter", {"a": 1.0, "b": 2.0}, T0),
            Reading("custom_meter", {"a": 3.0}, T0 + timedelta(seconds=1)),
        ]
    )

    per_point = client.get("/retention/stats").json()["raw_bytes_per_point"]

    assert per_point["exact"] is False
    assert per_point["points"] == 120 + 40 + 12 + 2
    assert "custom_meter" in per_point["note"]


def test_a_retention_policy_without_state_fields_is_counted_too(client, tiers, settings):
    """A policy of Home Assistant's database holding e.g. a continuous query's means (no
    `value`/`state` field): its bytes are in the raw tier, so its points must be too."""
    settings.INFLUXDB_DATABASE = tiers.name
    points = raw_home(tiers.name)
    get_timeseries().create_database(tiers.name, tiers=[RetentionTier("year", "INF")])
    means = [Reading("W", {"mean_value": 100.0 + i}, T0 + timedelta(minutes=5 * i),
                     {"entity_id": "fridge_power", "domain": "sensor"}) for i in range(30)]  # fmt: skip
    get_timeseries().write(tiers.name, means, retention_policy="year")

    body, sizes = stats_with_stable_sizes(client, tiers.name)

    per_point = body["raw_bytes_per_point"]
    assert body["current_db_size_gb"]["tiers"]["raw"]["retention_policies"] == ["autogen", "year"]
    raw = sizes[(tiers.name, "autogen")] + sizes[(tiers.name, "year")]
    assert (per_point["bytes"], per_point["points"]) == (raw, points + 30)
    assert per_point["exact"] is False and "W" in per_point["note"]


def test_unmeasurable_figures_are_null_with_a_reason(client, ha_db, settings):
    settings.INFLUXDB_DATABASE = ha_db.name
    run(RetentionRun.Operation.DOWNSAMPLE_HOURLY, 500)

    body = client.get("/retention/stats").json()

    per_point = body["raw_bytes_per_point"]
    assert per_point["value"] is None and "no data on disk" in per_point["reason"]
    for name in ("storage_saved_gb", "raw_equivalent_size_gb", "reduction_percentage"):
        assert body[name]["value"] is None
        assert "500 raw points were removed" in body[name]["reason"]
    assert body["annual_cost_savings"]["value"] is None
    assert "storage saved is unknown" in body["annual_cost_savings"]["reason"]
    # measured zeros stay numbers
    assert body["current_db_size_gb"]["tiers"]["raw"]["bytes"] == 0
    assert body["archive_size_gb"]["bytes"] == 0
    assert body["last_downsample_warm_to_cold"] == {
        "status": None,
        "reason": "no hourly -> daily run has been recorded yet",  # it said downsample_daily
    }
    assert body["last_archive_to_s3"]["status"] is None


def test_influxdb_down_makes_sizes_unknown_but_the_rest_is_reported(client, settings):
    settings.INFLUXDB_URL = unused_url()
    settings.INFLUXDB_TIMEOUT = 2.0
    timeseries.reset_timeseries()
    try:
        body = client.get("/retention/stats").json()
    finally:
        timeseries.reset_timeseries()

    assert body["current_db_size_gb"]["value"] is None
    # InfluxDB out of reach, in words without its address (the server log has it)
    assert body["current_db_size_gb"]["reason"].startswith(
        "InfluxDB's sizes cannot be read: InfluxDB does not answer"
    ), body
    assert body["storage_saved_gb"]["value"] is None
    assert body["archive_size_gb"]["value"] == 0


def test_last_runs_show_time_and_status_of_the_newest_real_run(client, ha_db, settings):
    settings.INFLUXDB_DATABASE = ha_db.name
    op, status = RetentionRun.Operation, RetentionRun.Status
    run(op.DOWNSAMPLE_HOURLY, 0, started=NOW - timedelta(days=2))
    newest = run(op.DOWNSAMPLE_HOURLY, 0, status=status.FAILED, started=NOW - timedelta(days=1),
                 errors="InfluxDB timed out")  # fmt: skip
    run(op.DOWNSAMPLE_HOURLY, 0, status=status.DRY_RUN, started=NOW)
    run(op.DOWNSAMPLE_HOURLY, 0, status=status.SKIPPED, started=NOW)
    archive = run(op.ARCHIVE, 0, started=NOW - timedelta(days=3), duration_seconds=12.5)

    body = client.get("/retention/stats").json()

    hot = body["last_downsample_hot_to_warm"]
    assert (hot["run_id"], hot["status"], hot["errors"]) == (newest.pk, "failed", newest.errors)
    assert hot["started"] == (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert body["last_archive_to_s3"]["run_id"] == archive.pk
    assert body["last_archive_to_s3"]["duration_seconds"] == 12.5


def test_stats_need_a_token():
    assert APIClient().get("/retention/stats").status_code == 401


# --- the daily trend point ----------------------------------------------------------------------
def metric_points(db: str) -> list:
    query = f"SELECT * FROM {METRICS_MEASUREMENT}"
    return list(get_timeseries().query(db, query))


def test_daily_metrics_point_is_written_at_day_start_and_replaced_on_rerun(
    tiers, enrichment_db, settings
):
    points = raw_home(tiers.name)
    run(RetentionRun.Operation.DOWNSAMPLE_HOURLY, 10_000)

    metrics.record_metrics(NOW)
    [first] = metric_points(enrichment_db)
    sizes = measured_sizes()
    raw = sizes[(tiers.name, "autogen")]

    assert first.time == datetime(2026, 5, 17, tzinfo=UTC)
    assert first.values["raw_points"] == points
    assert first.values["raw_size_bytes"] == raw
    assert first.values["raw_points_removed"] == 10_000
    assert first.values["storage_saved_bytes"] == round(Fraction(10_000 * raw, points))
    assert first.values["raw_bytes_per_point"] == pytest.approx(raw / points, abs=1e-6)
    assert first.values["currency"] == "USD"
    assert first.values.get("unmeasured") is None

    # Later the same day the raw data is gone: bytes per point (and what depends on it) can
    # no longer be measured. The rerun replaces the point; no stale figure survives.
    get_timeseries().drop_database(tiers.name)
    get_timeseries().create_database(tiers.name)
    metrics.record_metrics(NOW + timedelta(hours=5))
    [second] = metric_points(enrichment_db)

    assert second.time == first.time
    assert second.values["raw_bytes_per_point"] is None
    assert second.values["storage_saved_bytes"] is None
    assert "raw_bytes_per_point: " in second.values["unmeasured"]
    assert second.values["raw_points_removed"] == 10_000

    metrics.record_metrics(NOW + timedelta(days=1))
    assert len(metric_points(enrichment_db)) == 2  # one point per day


def test_record_metrics_task_is_registered_with_its_beat_entry():
    from config.celery import app
    from config.schedule import SCHEDULE

    app.loader.import_default_modules()
    entries = {e.task: e for e in SCHEDULE}
    assert "retention.record_metrics" in app.tasks and "retention.check_alerts" in app.tasks
    daily = entries["retention.record_metrics"]
    assert (daily.crontab, daily.queue, daily.expires) == ("15 8 * * *", "retention", 3600)
    check = entries["retention.check_alerts"]
    assert (check.every_seconds, check.queue, check.expires) == (300, "default", 240)
    # also when sent without the beat entry's queue: not behind long runs on "retention"
    route = app.amqp.router.route({}, "retention.check_alerts")
    assert route["queue"].name == "default"
    assert app.amqp.router.route({}, "retention.record_metrics")["queue"].name == "retention"


def test_a_misnamed_home_assistant_database_is_not_measured_as_zero(
    client, tiers, enrichment_db, settings
):
    """HA_INFLUXDB_DATABASE naming a database InfluxDB does not have (a typo) measures nothing:
    the raw tier is null with a reason naming the database, in the stats, the daily point and
    the status page's series; the tiers that exist are measured as before."""
    aggregate_rows(HOURLY_RP, tiers.name, 48, timedelta(hours=1))
    missing = f"{tiers.name}_typo"
    settings.HA_INFLUXDB_DATABASE = missing  # TIER_DATABASE stays the existing tiers.name

    body, sizes = stats_with_stable_sizes(client, tiers.name)

    shown = body["current_db_size_gb"]["tiers"]
    assert (shown["raw"]["value"], shown["raw"]["database"]) == (None, missing)
    assert f"no database {missing!r} (HA_INFLUXDB_DATABASE)" in shown["raw"]["reason"]
    assert shown["hourly"]["bytes"] == sizes[(tiers.name, HOURLY_RP)] > 0
    assert body["current_db_size_gb"]["value"] is None
    for name in ("current_db_size_gb", "raw_bytes_per_point", "storage_saved_gb",
                 "raw_equivalent_size_gb", "reduction_percentage"):  # fmt: skip
        assert body[name]["value"] is None and repr(missing) in body[name]["reason"], name
    assert body["annual_cost_savings"]["value"] is None

    metrics.record_metrics(NOW)
    [point] = metric_points(enrichment_db)
    assert point.values.get("raw_size_bytes") is None
    assert point.values["hourly_size_bytes"] == measured_sizes()[(tiers.name, HOURLY_RP)]
    assert f"raw_size_bytes: InfluxDB has no database {missing!r}" in point.values["unmeasured"]
    [series] = client.get("/retention/metrics", {"days": 3650}).json()["points"]
    assert series["raw_size_bytes"] is None
    assert series["hourly_size_bytes"] == point.values["hourly_size_bytes"]


def test_tiers_in_a_misnamed_home_assistant_database_name_that_setting(client, settings):
    """TIER_DATABASE left empty keeps the tiers in HA_INFLUXDB_DATABASE: when that names a
    database InfluxDB does not have, the hourly and daily reasons name HA_INFLUXDB_DATABASE
    (the setting to correct), not TIER_DATABASE, which the user never set (the storage
    entities' reasons in Home Assistant read "(TIER_DATABASE)")."""
    missing = f"no_such_ha_db_{uuid.uuid4().hex[:8]}"
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = missing

    shown = client.get("/retention/stats").json()["current_db_size_gb"]["tiers"]

    for tier in ("raw", "hourly", "daily"):
        assert shown[tier]["value"] is None, shown[tier]
        assert shown[tier]["reason"].startswith(
            f"InfluxDB has no database {missing!r} (HA_INFLUXDB_DATABASE"
        ), shown[tier]["reason"]
    assert "TIER_DATABASE)" not in shown["hourly"]["reason"]


def test_a_tier_database_no_run_has_created_yet_holds_nothing(
    client, ha_db, enrichment_db, settings
):
    """A TIER_DATABASE of its own is created by the first tier run (ensure_tiers), not by
    setup_influxdb: until then the tiers hold nothing, a measured 0, and the database size and
    the savings are measured, not null with a "check the setting's spelling"."""
    points = raw_home(ha_db.name)
    tier_db = f"{ha_db.name}_tiers"
    settings.TIER_DATABASE = tier_db  # not created: no tier run has run yet

    body, sizes = stats_with_stable_sizes(client, ha_db.name, enrichment_db)

    raw = sizes[(ha_db.name, "autogen")]
    enrichment = sizes.get((enrichment_db, "autogen"), 0)
    shown = body["current_db_size_gb"]["tiers"]
    for tier in ("hourly", "daily"):
        assert (shown[tier]["bytes"], shown[tier]["value"]) == (0, 0.0), shown[tier]
        assert shown[tier]["database"] == tier_db
        assert "no tier run has created it" in shown[tier]["note"]
    assert body["current_db_size_gb"]["bytes"] == raw + enrichment
    assert body["raw_bytes_per_point"]["points"] == points
    assert body["storage_saved_gb"]["bytes"] == 0  # nothing downsampled yet: nothing saved
    assert body["reduction_percentage"]["value"] == 0
    assert body["annual_cost_savings"]["value"] == 0

    metrics.record_metrics(NOW)
    [point] = metric_points(enrichment_db)
    assert (point.values["hourly_size_bytes"], point.values["daily_size_bytes"]) == (0, 0)
    assert point.values.get("unmeasured") is None

    # Once a tier run has created it, a TIER_DATABASE InfluxDB does not have (dropped, or the
    # setting changed since) is not measured: the tiers' rows are somewhere else.
    run(RetentionRun.Operation.DOWNSAMPLE_HOURLY, 0, storage_before_bytes=raw)
    shown = client.get("/retention/stats").json()["current_db_size_gb"]["tiers"]
    for tier in ("hourly", "daily"):
        assert shown[tier]["value"] is None
        assert f"no database {tier_db!r} (TIER_DATABASE)" in shown[tier]["reason"]


def test_the_daily_point_is_measured_after_the_nights_tier_runs_settled(settings):
    """The raw tier keeps the points a tier run deleted until InfluxDB compacts the shard (1.x:
    4 hours after its last write; RETENTION_SETTLE_HOURS, when the runs' own figures are
    settled). Measured at 04:15, 1 h 45 min after the 02:30 run, every day's point divided
    bytes still holding the deleted day by the points left: bytes per point, the raw
    equivalent, the saving and the reduction came out too high, day after day."""
    from config.schedule import SCHEDULE

    def minute_of_day(task: str) -> int:
        [entry] = [e for e in SCHEDULE if e.task == task]
        minute, hour, *every_day = entry.crontab.split()
        assert every_day == ["*", "*", "*"], entry
        return int(hour) * 60 + int(minute)

    last_tier_run = max(
        minute_of_day("retention.downsample_hourly"), minute_of_day("retention.downsample_daily")
    )
    settled = last_tier_run + settings.RETENTION_SETTLE_HOURS * 60
    assert minute_of_day("retention.record_metrics") >= settled
    assert minute_of_day("retention.record_metrics") >= minute_of_day("retention.settle_storage")


def test_the_metrics_series_says_why_a_day_was_not_measured(client, tiers, enrichment_db, settings):
    """GET /retention/metrics showed a day's unmeasured figures as bare nulls: why (recorded in
    the point's `unmeasured`) was only in InfluxDB. Each point now carries it."""
    raw_home(tiers.name)
    metrics.record_metrics(NOW - timedelta(days=1))  # every figure measured
    missing = f"{tiers.name}_typo"
    settings.HA_INFLUXDB_DATABASE = missing
    metrics.record_metrics(NOW)

    measured, unmeasured = client.get("/retention/metrics", {"days": 3650}).json()["points"]

    assert measured["unmeasured"] is None and measured["raw_size_bytes"] > 0
    assert unmeasured["raw_size_bytes"] is None and unmeasured["reduction_percentage"] is None
    [point] = [p for p in metric_points(enrichment_db) if p.time.date() == NOW.date()]
    assert unmeasured["unmeasured"] == point.values["unmeasured"]
    assert f"raw_size_bytes: InfluxDB has no database {missing!r}" in unmeasured["unmeasured"]
    assert "reduction_percentage: " in unmeasured["unmeasured"]


# --- a tier's policy dropped behind enrich's back ---------------------------------------------
TIER_DAY = timedelta(days=1)
UNMEASURED = ("current_db_size_gb", "raw_equivalent_size_gb", "storage_saved_gb",
              "reduction_percentage", "annual_cost_savings")  # fmt: skip


@pytest.mark.parametrize(("dropped", "kept"), [(HOURLY_RP, DAILY_RP), (DAILY_RP, HOURLY_RP)])
def test_a_dropped_tier_policy_is_not_measured_and_claims_no_saving(
    ha_db, enrichment_db, settings, dropped, kept
):
    """A tier's retention policy dropped behind enrich's back after tier runs filled it: the
    tier is not measured (its rows are gone, not a measured 0), nor the database's size and the
    savings computed from it, which would count the lost rows as saved."""
    settings.REDIS_KEY_PREFIX = f"test-policy-dropped-{uuid.uuid4().hex[:8]}"  # the tiers' locks
    client = token_client("stats")
    points = [(d * 86400 + i * 120, 100 + i % 50) for d in range(6) for i in range(720)]
    ha_db.saved_entity("official", "sensor.heater_power", points, unit="W")
    shown = client.get("/retention/stats").json()["current_db_size_gb"]["tiers"]
    for tier in ("hourly", "daily"):  # a fresh install: no tier run has created the policies
        assert (shown[tier]["bytes"], shown[tier]["value"]) == (0, 0.0), shown[tier]
        assert "no tier run has created it" in shown[tier]["note"]
    hourly = tier_runs.downsample_hourly(T0.date(), T0.date() + 4 * TIER_DAY)
    daily = tier_runs.downsample_daily(T0.date(), T0.date() + 2 * TIER_DAY)
    assert (hourly.status, daily.status) == ("ok", "ok"), (hourly.errors, daily.errors)
    before, _ = stats_with_stable_sizes(client, ha_db.name)
    assert before["storage_saved_gb"]["bytes"] > 0

    get_timeseries().execute(
        ha_db.name, f"DROP RETENTION POLICY {quote_ident(dropped)} ON {quote_ident(ha_db.name)}"
    )
    body, sizes = stats_with_stable_sizes(client, ha_db.name)

    name = {HOURLY_RP: "hourly", DAILY_RP: "daily"}
    shown = body["current_db_size_gb"]["tiers"]
    gone = shown[name[dropped]]
    assert gone["value"] is None and "bytes" not in gone, gone
    said = (
        f"InfluxDB has no retention policy {dropped!r} in database {ha_db.name!r} (TIER_DATABASE)"
    )
    assert gone["reason"].startswith(said), gone["reason"]
    assert shown[name[kept]]["bytes"] == sizes[(ha_db.name, kept)] > 0
    for figure in UNMEASURED:  # the lost rows are not counted as saved
        assert body[figure]["value"] is None and repr(dropped) in body[figure]["reason"], figure
    assert body["raw_bytes_per_point"]["bytes"] == sizes[(ha_db.name, "autogen")]

    metrics.record_metrics(NOW)
    [point] = metric_points(enrichment_db)
    assert point.values.get(f"{name[dropped]}_size_bytes") is None
    assert point.values.get("storage_saved_bytes") is None
    assert f"{name[dropped]}_size_bytes: {said}" in point.values["unmeasured"]
    assert RetentionRun.objects.count() == 2  # measuring ran nothing
