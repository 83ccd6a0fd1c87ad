"""A rebuild keeps a row it would read from fewer source points than the row was built from.

InfluxDB 1.6 can stop returning a series' points (its hidden-series bug); here the points are
deleted with InfluxQL DELETE after the row was built, which InfluxDB answers alike: the query
returns fewer points than the row counted. Before, the rebuild wrote the smaller row over the
good one (a day of 14.4 kWh became 0.0 kWh) and said only how many rows it wrote.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention import models
from retention.rollups.materialized import ACTIVITY, CARBON, ENERGY, rebuild_view, refresh_view
from tests.retention.conftest import T0, HaDatabase, at
from tests.support.api import token_client
from tests.support.fewer_points import HOUR, heat_pump_meter
from tests.support.view_tiers import write_daily_tier, write_hourly_tier
from tests.support.views_follow import worker_env
from tests.support.worker import celery_worker, followed

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day
AFTER = T0 + timedelta(days=3)


def energy(entity_id: str, day: date = DAY1) -> models.DailyEnergyByDevice:
    return models.DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)


def meter_and_pump(ha_db: HaDatabase) -> tuple[models.Entity, models.Entity]:
    """A meter growing 0.6 kWh each hour of DAY1 (24 readings, 14.4 kWh) and a 500 W pump
    (its 12 readings on DAY1 in another measurement: 12 kWh)."""
    meter = heat_pump_meter(ha_db, 24)
    pump = ha_db.saved_entity(
        "official", "sensor.pump_power", [(h * 2 * HOUR, 500) for h in range(12)], unit="W"
    )
    return meter, pump


def hide_day(ha_db: HaDatabase, measurement: str, day_start=T0) -> None:
    get_timeseries().delete(ha_db.name, day_start, day_start + timedelta(days=1), measurement)


def test_a_rebuild_keeps_and_names_the_row_influxdb_returned_fewer_points_for(
    ha_db: HaDatabase, enrich_db: str, capsys
):
    meter, pump = meter_and_pump(ha_db)
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    assert (energy(meter.entity_id).total_kwh, energy(meter.entity_id).source_points) == (
        pytest.approx(14.4),
        24,
    )
    assert energy(pump.entity_id).source_points == 12  # the plain power path counts too

    hide_day(ha_db, "kWh")  # the meter's points of DAY1 are no longer returned
    call_command("rebuild_view", ENERGY, "--start", "2024-03-04", "--end", "2024-03-04")

    row = energy(meter.entity_id)
    assert (row.total_kwh, row.source_points) == (pytest.approx(14.4), 24)  # not 0.0
    out = capsys.readouterr().out
    assert f"{ENERGY}: 1 row written" in out  # the pump's: its points are all there
    assert (
        "sensor.heat_pump_energy 2024-03-04: read from 0 source points, fewer than the 24 the "
        "stored row was built from (InfluxDB did not return the others); the row is kept "
        "(rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the points were "
        "deleted on purpose)"
    ) in out
    run = models.RetentionRun.objects.order_by("-pk").first()
    assert run.status == "ok" and run.records_processed == 1
    assert "sensor.heat_pump_energy 2024-03-04: read from 0 source points" in run.errors

    # Deleted on purpose: asked explicitly, the row read from fewer points replaces it.
    call_command("rebuild_view", ENERGY, "--start", "2024-03-04", "--end", "2024-03-04",
                 "--allow-fewer-points")  # fmt: skip
    assert f"{ENERGY}: 2 rows written" in capsys.readouterr().out
    row = energy(meter.entity_id)
    assert (row.total_kwh, row.source_points) == (0.0, 0)


def test_a_row_stored_without_a_count_is_written_over_as_before(ha_db: HaDatabase, enrich_db):
    meter, _ = meter_and_pump(ha_db)
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    models.DailyEnergyByDevice.objects.update(source_points=None)  # built before the counts
    hide_day(ha_db, "kWh")

    run = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    assert run.records_processed == 2 and not run.errors
    assert (energy(meter.entity_id).total_kwh, energy(meter.entity_id).source_points) == (0.0, 0)


def test_the_refresh_and_a_rebuild_write_rows_read_from_more_points(
    ha_db: HaDatabase, enrich_db: str
):
    meter, pump = meter_and_pump(ha_db)
    refresh_view(ENERGY, now=T0 + timedelta(days=1, hours=2))
    assert energy(pump.entity_id).source_points == 12
    assert energy(pump.entity_id, DAY1 + timedelta(days=1)).partial  # the new day, open

    # Late points of DAY1 (and the next day's): more points than the rows were built from.
    ha_db.write_entity("official", "sensor.pump_power",
                       [(h * 2 * HOUR + HOUR, 1000) for h in range(12)] + [(30 * HOUR, 0)],
                       unit="W")  # fmt: skip
    run = rebuild_view(ENERGY, DAY1, DAY1 + timedelta(days=1), now=AFTER)

    assert not run.errors and run.records_processed == 4
    assert (energy(pump.entity_id).total_kwh, energy(pump.entity_id).source_points) == (
        pytest.approx(18.0),  # 500 W and 1 kW, an hour each in turn
        24,
    )
    day2 = energy(pump.entity_id, DAY1 + timedelta(days=1))
    assert (day2.source_points, day2.partial) == (1, False)

    # The refresh goes on writing new days.
    refresh_view(ENERGY, now=AFTER)
    assert energy(pump.entity_id, DAY1 + timedelta(days=2)).source_points == 0  # 0 W held


@pytest.mark.parametrize("tier", ["hourly", "daily"])
def test_a_day_retention_tiered_counts_the_points_its_tier_rows_were_built_from(
    ha_db: HaDatabase, enrich_db: str, layout: str, tier: str
):
    """The same day read from raw (the plain power path for the official layout, the general
    one for the HA Ingestor's), from the hourly tier and from the daily tier counts the same
    points: tiering never looks like fewer points."""
    pump = ha_db.saved_entity(
        layout, "sensor.pump_power", [(h * 2 * HOUR, 500) for h in range(12)], unit="W"
    )
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    assert energy(pump.entity_id).source_points == 12

    if tier == "hourly":
        write_hourly_tier(ha_db, pump, T0)
    else:
        write_daily_tier(ha_db, pump, [DAY1])
    run = rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    assert run.details["sources"] == {tier: 1} and not run.errors
    assert (energy(pump.entity_id).source_points, energy(pump.entity_id).total_kwh) == (
        12,
        pytest.approx(12.0),
    )


def test_room_activity_and_carbon_keep_their_rows_too(ha_db: HaDatabase, enrich_db: str):
    motion = ha_db.saved_entity(
        "official",
        "binary_sensor.hall_motion",
        [(-60, "off"), (5 * HOUR, "on"), (5 * HOUR + 600, "off"), (9 * HOUR, "on")],
        kind="binary",
    )
    motion.area, motion.device_class = "Hall", "motion"
    motion.save()
    get_timeseries().write(
        enrich_db,
        [Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": 200.0 + h}, at(h * HOUR),
                 {"region": "DE", "provider": "electricity_maps"}) for h in range(24)],
    )  # fmt: skip
    rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)
    rebuild_view(CARBON, DAY1, DAY1, now=AFTER)
    hall = models.HourlyRoomActivity.objects.get(area="Hall", hour=at(5 * HOUR))
    assert (hall.motion_count, hall.source_points) == (1, 2)
    assert models.DailyCarbonSummary.objects.get(region="DE").source_points == 24

    hide_day(ha_db, motion.measurement)
    get_timeseries().delete(enrich_db, at(12 * HOUR), at(24 * HOUR), "carbon_intensity")
    rooms = rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)
    carbon = rebuild_view(CARBON, DAY1, DAY1, now=AFTER)

    assert rooms.details["skipped"] == [
        f"Hall 2024-03-04T{h:02}:00:00+00:00: read from 0 source points, fewer than the "
        f"{n} the stored row was built from (InfluxDB did not return the others); the row is "
        "kept (rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the points "
        "were deleted on purpose)"
        for h, n in ((5, 2), (9, 1))
    ]
    assert rooms.records_processed == 22  # the hours without points: as they were
    hall = models.HourlyRoomActivity.objects.get(area="Hall", hour=at(5 * HOUR))
    assert (hall.motion_count, hall.source_points) == (1, 2)
    assert carbon.records_processed == 0
    assert carbon.details["skipped"][0].startswith(
        "DE 2024-03-04: read from 12 source points, fewer than the 24 the stored row"
    )
    kept = models.DailyCarbonSummary.objects.get(region="DE")
    assert (kept.max_carbon, kept.source_points) == (223.0, 24)


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_over_the_api_keeps_the_row_unless_allow_fewer_points(
    ha_db: HaDatabase, enrich_db: str, settings
):
    api = token_client("ops", staff=True)
    url = f"/api/views/{ENERGY}/rebuild"
    days = {"start": "2024-03-04", "end": "2024-03-04"}
    for bad in ("maybe", None):
        refused = api.post(url, {**days, "allow_fewer_points": bad}, format="json")
        assert refused.status_code == 400 and list(refused.json()) == ["allow_fewer_points"]
    meter, _ = meter_and_pump(ha_db)
    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
    hide_day(ha_db, "kWh")

    with celery_worker("views-fewer", **worker_env(ha_db, enrich_db, settings)) as worker:
        kept = followed(api, api.post(url, days, format="json").json(), worker)
        assert energy(meter.entity_id).total_kwh == pytest.approx(14.4)
        answer = api.post(url, {**days, "allow_fewer_points": True}, format="json").json()
        assert answer["allow_fewer_points"] is True
        replaced = followed(api, answer, worker)

    assert kept["status"] == "ok" and kept["records_processed"] == 1
    assert kept["details"]["allow_fewer_points"] is False
    assert kept["details"]["skipped"] == [
        "sensor.heat_pump_energy 2024-03-04: read from 0 source points, fewer than the 24 the "
        "stored row was built from (InfluxDB did not return the others); the row is kept "
        "(rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the points were "
        "deleted on purpose)"
    ]
    assert replaced["status"] == "ok" and replaced["records_processed"] == 2
    assert replaced["details"]["allow_fewer_points"] is True and not replaced["errors"]
    assert energy(meter.entity_id).total_kwh == 0.0
