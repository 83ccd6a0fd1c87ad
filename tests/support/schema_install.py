"""The populated install tests/api/test_schema_answers.py and the modules beside it ask every
GET of the schema on, what fills the queries' `{site}`, `{run}`, ... in, and what each GET is
asked (ASKED)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework.test import APIClient

from collectors.models import FlexibleLoad
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from enrich.redis import alive
from enrich.schedules import ENTRY_NAMES
from retention import models as stored
from retention.models import Alert, ArchiveObject, Entity, RetentionRun
from retention.schema import METRICS_MEASUREMENT
from retention.stats.metrics import record_metrics
from retention.stats.status_api import SERIES_UNITS
from retention.tiers import runner as tiers
from retention.timeutil import floor_day
from tests.support import configs
from tests.support.beat import store_zone
from tests.support.plan import NOW

SERIES = "start=2026-04-30T00:00:00Z&end=2026-05-01T00:00:00Z"

# (query, status) of each GET: `{run}`, `{bare}` (a site without providers) and `{odd}` (an
# entity whose registry entry has no layout) are filled in from the populated install.
ASKED = {
    "/api/health/": [("", 200)],
    "/api/processes/": [("", 200)],
    "/api/sites/": [("", 200), ("?enabled=true", 200), ("?enabled=maybe", 400)],
    "/api/enrichment/current": [
        ("?site={site}", 200),
        ("?site=abc", 400),
        ("", 400),
        ("?site=999999", 404),
    ],  # fmt: skip
    "/api/pricing/windows": [
        ("?hours=1&site={site}", 200),
        ("?hours=1&contiguous=false&site={site}", 200),
        ("?hours=1&contiguous=false&max_windows=2&before=2026-05-01T20:00:00Z&site={site}", 200),
        ("?hours=0&site={site}", 400),
        ("?hours=1&site=999999", 404),
        ("?hours=1&site={bare}", 409),
    ],  # fmt: skip
    "/api/pricing/slots": [
        ("?site={site}", 200),
        ("?within=1h&site={site}", 200),
        ("?within=1x&site={site}", 400),
        ("?site=999999", 404),
        ("?site={bare}", 409),
    ],  # fmt: skip
    "/api/plan": [
        ("?hours=1&site={site}", 200),
        ("?hours=1&carbon_price=100&kw=2&site={site}", 200),
        ("?hours=1&pareto=true&kw=2&site={site}", 200),
        ("?hours=1&kw=2&site={priced}", 200),
        ("?hours=1&kw=0&site={site}", 400),
        ("?hours=1&site=999999", 404),
        ("?hours=1&site={bare}", 409),
        ("?hours=20&before=2026-05-02T12:00:00Z&site={site}", 409),  # prices end at 23:00
    ],  # fmt: skip
    "/api/plan/loads": [("?site={site}", 200), ("?site=0", 400), ("?site=999999", 404)],
    "/api/carbon/series": [
        ("?site={site}", 200),
        ("?site={uncollected}", 200),
        ("?hours=0&site={site}", 400),
        ("?site=999999", 404),
        ("?site={bare}", 409),
    ],  # fmt: skip
    "/api/series": [
        (f"?entity_id=sensor.fridge_power&{SERIES}", 200),
        ("?entity_id=sensor.fridge_power&start=2026-04-29T00:00:00Z&end=2026-05-01T00:00:00Z", 200),
        (f"?entity_id=sensor.fridge_power&{SERIES}&resolution=raw", 400),
        (f"?entity_id=sensor.nobody&{SERIES}", 404),
        (f"?entity_id={{odd}}&{SERIES}", 409),
    ],  # fmt: skip
    "/api/views/{name}": [
        ("daily_carbon_summary", 200),
        ("daily_energy_by_device", 200),
        ("hourly_room_activity", 200),
        ("hourly_room_activity?area=x", 200),
        ("daily_energy_by_device?start=2026-1-1", 400),
        ("nope", 404),
    ],
    "/retention/metrics": [("", 200), ("?days=0", 400)],
    "/retention/alerts": [("", 200), ("?days=0", 400)],
    "/retention/archive/years": [("", 200)],
    "/retention/stats": [("", 200)],
    "/retention/history": [
        ("", 200),
        ("?days=365", 200),  # the runs of the install, started before NOW (1 May)
        ("?days=365&type=archive&status=failed", 200),
        ("?days=0", 400),
    ],
    "/retention/runs/{run_id}": [("{run}", 200), ("abc", 400), ("999999", 404)],
    "/api/schema/": [("?format=json", 200), ("?format=json&lang=xx", 400)],
    "/api/docs/": [("", 200), ("?lang=xx", 400)],
}


def first_answers(status: int, but: dict[str, int]) -> dict:
    """Each GET's first query, asked for `status` (`but`: another for the paths named)."""
    return {path: [(queries[0][0], but.get(path, status))] for path, queries in ASKED.items()}


def populated(collected: Site, replay_server, settings, tmp_path: Path) -> tuple[APIClient, dict]:
    """The plan tests' site with prices and carbon collected (the carbon provider's budget one
    that cannot be read), an air quality provider, a Google Calendar never connected, a site
    with none, one with the same prices and no carbon, one whose carbon provider never
    collected, a flexible load planned and one with too little stored, retention runs (one
    with an alert, one of a view), an alert of a condition, an archive object, two registry
    entities (the fridge's first day downsampled to hourly rows), an archive folder, rows of
    each view, a beat and a worker alive, a schedule the beat leaves out and one disabled,
    two days of storage metrics; a signed-in client (a read-only user's, as Home Assistant's)."""
    settings.ARCHIVE_LOCAL_DIR, settings.S3_ARCHIVE_BUCKET = tmp_path / "archive", ""
    configs.airnow(collected, replay_server.url)
    # /api/enrichment/current's other providers' shapes: a budget that cannot be read, an
    # OAuth connection (none yet) of a config that cannot be collected.
    carbon = ProviderConfig.objects.get(site=collected, source="carbon_intensity")
    carbon.options = {**carbon.options, "budget": "lots"}
    carbon.save()
    ProviderConfig.objects.create(site=collected, source="occupancy", provider="google_calendar")
    bare = Site.objects.create(name="Bare", latitude=52.5, longitude=13.4)
    # Twyford's stored prices, no carbon: a plan on price alone.
    priced = Site.objects.create(name="Priced", latitude=51.48, longitude=-0.86,
                                 timezone="Europe/London", pricing_region="C")  # fmt: skip
    ProviderConfig.objects.create(site=priced, source="electricity_pricing", provider="octopus",
                                  options={"base_url": replay_server.url})  # fmt: skip
    # A carbon provider never collected: no carbon series, the reason why.
    uncollected = Site.objects.create(name="Uncollected", latitude=51.48, longitude=-0.86)
    ProviderConfig.objects.create(site=uncollected, source="carbon_intensity",
                                  provider="uk_carbon_intensity")  # fmt: skip
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline="07:00")
    # One no plan fits: its next deadline (07:00 on 3 May) lies past the stored prices.
    FlexibleLoad.objects.create(site=collected, name="Laundry", hours=24, deadline="07:00")
    started = NOW - timedelta(hours=2)
    run = RetentionRun.objects.create(
        operation="downsample_hourly", status="ok", started=started, finished=NOW,
        duration_seconds=3.5, records_processed=120, details={"entities": 1},
    )  # fmt: skip
    failed = RetentionRun.objects.create(
        operation="archive", status="failed", started=started, errors="S3 refused"
    )
    Alert.objects.create(run=failed, kind="failed", message="S3 refused")
    Alert.objects.create(kind="gone_from_ha", message="sensor.old is gone", sent=NOW,
                         delivery_error="the webhook refused it", cleared=NOW)  # fmt: skip
    ArchiveObject.objects.create(
        key="archives/2024/data_2024-03-01.parquet", target="local", start_date=date(2024, 3, 1),
        end_date=date(2024, 3, 1), record_count=24, file_size=2048, checksum="0" * 64,
        compression="snappy", created=NOW,
    )  # fmt: skip
    RetentionRun.objects.create(operation="view_refresh", status="ok", started=started,
                                details={"view": "daily_carbon_summary"})  # fmt: skip
    Entity.objects.create(entity_id="sensor.fridge_power", kind="power", layout="official",
                          measurement="W", unit="W", area="Kitchen")  # fmt: skip
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    fridge = [Reading("W", {"value": watts}, NOW - timedelta(days=1, hours=hour),
                      {"domain": "sensor", "entity_id": "fridge_power"})
              for hour, watts in ((20, 80.0), (10, 1.5), (3, 95.0))]  # fmt: skip
    get_timeseries().write(settings.INFLUXDB_DATABASE, fridge)
    # The first of its days held as hourly rows: a series of raw points and tier rows.
    assert tiers.downsample_hourly(date(2026, 4, 29), date(2026, 4, 30)).status == "ok"
    # A row of each view, one of them with every value that can be null null.
    stored.DailyEnergyByDevice.objects.create(
        entity_id="sensor.fridge_power", date=date(2026, 4, 29), total_kwh=1.2, avg_power=50.0,
        peak_power=95.0, cost=0.3, currency="GBP", cost_source="price_slots", source_points=3,
    )  # fmt: skip
    stored.DailyEnergyByDevice.objects.create(
        entity_id="sensor.oven_power", date=date(2026, 4, 29), total_kwh=0.0, cost_source="none",
        partial=True,
    )  # fmt: skip
    stored.HourlyRoomActivity.objects.create(
        area="Kitchen", hour=NOW - timedelta(hours=3), day_of_week=4, motion_count=2,
        occupancy_rate=0.5,
    )  # fmt: skip
    stored.DailyCarbonSummary.objects.create(
        date=date(2026, 4, 29), region="South England", avg_carbon=150.0, min_carbon=90.0,
        max_carbon=210.0, avg_renewable=40.0, source_points=48,
    )  # fmt: skip
    stored.DailyCarbonSummary.objects.create(date=date(2026, 4, 30), region="South England")
    stored.ViewState.objects.create(view="daily_carbon_summary", last_refreshed=NOW, watermark=NOW)
    # /api/processes/: a beat and a worker alive, a task on a crontab whose zone this host
    # cannot load, one of enrich's own entries disabled in the admin.
    alive.record_beat(host="beat-host", pid=1)
    alive.record_worker("collectors@host", ["collectors"])
    away = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly away", task="enrich.check_services", crontab=away)
    store_zone(away, "Mars/Base")
    PeriodicTask.objects.create(name=min(ENTRY_NAMES), task="enrich.check_services",
                                crontab=away, enabled=False)  # fmt: skip
    # /retention/metrics: today's point as the daily task writes it, yesterday's all measured.
    record_metrics()
    sizes = dict.fromkeys(SERIES_UNITS, 1024)
    yesterday = floor_day(datetime.now(UTC)) - timedelta(days=1)
    measured = {**sizes, "reduction_percentage": 12.5}
    get_timeseries().write(
        settings.INFLUXDB_DATABASE, [Reading(METRICS_MEASUREMENT, measured, yesterday)]
    )
    odd = Entity.objects.create(entity_id="sensor.odd", kind="power", layout="", measurement="W")
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("home-assistant"))
    filled = {"run": run.pk, "bare": bare.pk, "priced": priced.pk, "odd": odd.entity_id,
              "uncollected": uncollected.pk, "site": collected.pk}  # fmt: skip
    return client, filled
