"""The views as a user reads them: a device's days added up, a meter's peak power, the days
and hours of a zone whose midnight is not on a UTC hour; against the real InfluxDB, with
answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from collectors.carbon.watttime import WattTimeAdapter
from collectors.served_store import write_fetched
from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention.entities.points import BINARY_STATE_NUMBERS
from retention.entities.samples import Sample
from retention.models import DailyEnergyByDevice, HourlyRoomActivity
from retention.rollups.inputs import is_on as view_reads_on
from retention.rollups.materialized import ACTIVITY, CARBON, ENERGY, rebuild_view, refresh_view
from retention.rollups.queries import MaterializedViewManager
from retention.tiers import runner as tiers
from retention.tiers.timeline import is_on as tier_reads_on
from tests.retention.conftest import T0, HaDatabase

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
DAY1, DAY2 = date(2024, 3, 4), date(2024, 3, 5)  # T0's day, a Monday, and the next
AFTER = T0 + timedelta(days=3)  # "now" when every test day is closed


def energy_row(entity_id: str, day: date = DAY1) -> DailyEnergyByDevice:
    return DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)


def test_totals_per_device_have_no_cost_when_a_day_has_none_or_another_currency(
    ha_db: HaDatabase, enrich_db: str, settings
):
    # 100 W all along: 2.4 kWh a day. Hourly prices of 0.20 EUR/kWh on the 4th only.
    tags = {"provider": "awattar", "region": "DE", "currency": "EUR"}
    get_timeseries().write(enrich_db, [
        Reading("electricity_pricing_forecast", {"price": 0.20, "slot_minutes": 60.0},
                T0 + timedelta(hours=hour), tags)
        for hour in range(24)
    ])  # fmt: skip
    ha_db.saved_entity("official", "sensor.tv_power", [(-60, 100)], unit="W", kind="power")
    rebuild_view(ENERGY, DAY1, DAY2, now=AFTER)
    assert energy_row("sensor.tv_power").cost == pytest.approx(0.48)
    assert energy_row("sensor.tv_power", DAY2).cost is None  # no price known on the 5th
    views = MaterializedViewManager()

    [both] = views.energy_by_device(start=DAY1, end=DAY2)
    assert both["total_kwh"] == pytest.approx(4.8) and both["days"] == 2
    # Before: 0.48, the 4th's cost given as the cost of 4.8 kWh over both days.
    assert both["cost"] is None and both["currency"] == ""
    [first] = views.energy_by_device(start=DAY1, end=DAY1)
    assert (first["cost"], first["currency"]) == (pytest.approx(0.48), "EUR")

    # The 5th priced by a flat tariff in SEK: 2.4 SEK. EUR and SEK do not add up (before: 2.88).
    settings.ENERGY_FLAT_TARIFF, settings.ENERGY_FLAT_TARIFF_CURRENCY = 1.0, "SEK"
    rebuild_view(ENERGY, DAY2, DAY2, now=AFTER)
    assert (energy_row("sensor.tv_power", DAY2).cost, energy_row("sensor.tv_power", DAY2).currency
            ) == (pytest.approx(2.4), "SEK")  # fmt: skip
    [both] = views.energy_by_device(start=DAY1, end=DAY2)
    assert both["cost"] is None and both["currency"] == ""


@pytest.mark.parametrize("layout", ["official", "ingestor"])
def test_a_meter_back_from_unavailable_peaks_at_its_hours_growth_not_per_minute_known(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    # A plug's meter at 10.0 kWh, unavailable from 09:01 (the HA Ingestor records it, the
    # official integration writes nothing), back at 10:59 having grown 2 kWh, +0.5 by 12:00.
    ha_db.saved_entity(
        layout, "sensor.plug_energy", [(-60, 10.0), (9 * 3600, 10.0), (9 * 3600 + 60,
        "unavailable"), (10 * 3600 + 59 * 60, 12.0), (12 * 3600, 12.5)], unit="kWh",
        kind="energy",
    )  # fmt: skip

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    row = energy_row("sensor.plug_energy")
    assert row.total_kwh == pytest.approx(2.5)
    # Hour 10 grew 2 kWh: 2 kW on average, whichever layout. Before: 120 kW from the HA
    # Ingestor's data (2 kWh over the one minute the meter was known in that hour).
    assert row.peak_power == pytest.approx(2000)


def test_a_meters_day_read_from_the_daily_tier_alone_has_no_peak(ha_db: HaDatabase, enrich_db: str):
    """The daily tier keeps no hours: a meter's day rebuilt from its daily row gave the day's
    average power (104 W here) as its peak, the highest hourly average (2 kW) it had from the
    raw states and the hourly rows. A peak that cannot be measured is left empty."""
    ha_db.saved_entity(
        "official", "sensor.plug_energy", [(-60, 10.0), (9 * 3600, 10.0), (10 * 3600, 12.0),
        (12 * 3600, 12.5)], unit="kWh", kind="energy",
    )  # fmt: skip
    peaks = []
    for downsample in (None, tiers.downsample_hourly, tiers.downsample_daily):
        if downsample is not None:
            assert downsample(DAY1, DAY2).status == "ok"
        rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)
        row = energy_row("sensor.plug_energy")
        assert row.total_kwh == pytest.approx(2.5)
        peaks.append(row.peak_power)
    assert peaks == [pytest.approx(2000), pytest.approx(2000), None]


def test_a_meters_figures_carry_no_float_noise_of_its_readings(ha_db: HaDatabase, enrich_db: str):
    """A meter at 1234.6 kWh grows 0.04 kWh in hour 09: 40 W at its peak, 0.04 kWh that day.
    Before: 40.000000000190994 W and 0.040000000000190994 kWh (1234.64 - 1234.6 in binary
    floats; demo_home's meters showed 39.99999999999204 W), noise that 15 significant digits
    keep (the growth is a difference of two much larger readings)."""
    ha_db.saved_entity(
        "official", "sensor.plug_energy", [(-60, 1234.6), (9 * 3600, 1234.6),
        (10 * 3600, 1234.64), (12 * 3600, 1234.64)], unit="kWh", kind="energy",
    )  # fmt: skip

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    row = energy_row("sensor.plug_energy")
    assert (row.peak_power, row.total_kwh) == (40.0, 0.04)
    assert row.avg_power == 1.666667  # 0.04 kWh over 24 h, to the microwatt


@pytest.mark.parametrize("layout", ["official", "ingestor"])
def test_a_meter_unavailable_at_midnight_peaks_at_its_first_hours_growth(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    # Unavailable from 23:00 on the 4th, back at 00:30 on the 5th having grown 1 kWh.
    ha_db.saved_entity(
        layout, "sensor.plug_energy", [(-60, 10.0), (23 * 3600, "unavailable"),
        (24 * 3600 + 30 * 60, 11.0), (26 * 3600, 11.0)], unit="kWh", kind="energy",
    )  # fmt: skip

    rebuild_view(ENERGY, DAY2, DAY2, now=AFTER)

    # 1 kWh in hour 00: 1 kW. Before: 2 kW from the HA Ingestor's data (over 30 minutes known).
    assert energy_row("sensor.plug_energy", DAY2).peak_power == pytest.approx(1000)


@pytest.mark.parametrize("layout", ["official", "ingestor"])
@pytest.mark.parametrize("tiered", [False, True])
def test_a_meters_first_partial_hour_peaks_over_the_time_it_was_known(
    ha_db: HaDatabase, enrich_db: str, layout: str, tiered: bool
):
    """A dishwasher's meter first read at 22:40 grows 0.5 kWh by 22:50 and 0.25 kWh in hour
    23: 0.75 kWh over the 80 minutes known, 562.5 W on average; hour 22 peaks at 1500 W
    (0.5 kWh over its 20 minutes known). Before: 500 W (over the whole hour 22), a peak below
    the average, as a real home's 1135.8 W peak under a 9558.6 W average. A power sensor
    first read at 22:40 (1500 W, then 250 W from 23:00) gives the same figures."""
    ha_db.saved_entity(layout, "sensor.dishwasher_energy", [(22 * 3600 + 40 * 60, 5.0),
        (22 * 3600 + 50 * 60, 5.5), (23 * 3600 + 30 * 60, 5.75)], unit="kWh", kind="energy",
    )  # fmt: skip
    ha_db.saved_entity(layout, "sensor.dishwasher_power", [(22 * 3600 + 40 * 60, 1500),
        (23 * 3600, 250)], unit="W", kind="power",
    )  # fmt: skip
    if tiered:
        assert tiers.downsample_hourly(DAY1, DAY2).status == "ok"

    rebuild_view(ENERGY, DAY1, DAY1, now=AFTER)

    for entity_id in ("sensor.dishwasher_energy", "sensor.dishwasher_power"):
        row = energy_row(entity_id)
        assert row.total_kwh == pytest.approx(0.75)
        assert (row.avg_power, row.peak_power) == (pytest.approx(562.5), pytest.approx(1500))


def test_an_hour_across_local_midnight_is_not_given_to_one_day_from_the_hourly_tier(
    ha_db: HaDatabase, enrich_db: str, settings
):
    # Kolkata is UTC+05:30: its 5 March starts at 18:30 UTC on the 4th. A kettle draws 1 kW
    # 18:00-19:00 UTC: 0.5 kWh on the 4th (local 23:30-00:00), 0.5 kWh on the 5th.
    settings.TIME_ZONE = "Asia/Kolkata"
    ha_db.saved_entity(
        "official", "sensor.kettle_power", [(datetime(2024, 3, 4, 18, tzinfo=UTC), 1000),
        (datetime(2024, 3, 4, 19, tzinfo=UTC), 0)], unit="W", kind="power",
    )  # fmt: skip
    now = datetime(2024, 3, 20, tzinfo=UTC)
    days = [date(2024, 3, 4), date(2024, 3, 5)]

    def kwh() -> dict[date, float]:
        rows = MaterializedViewManager().daily_energy("sensor.kettle_power")
        return {r["date"]: r["total_kwh"] for r in rows if r["date"] in days}

    rebuild_view(ENERGY, days[0], days[1], now=now)
    assert kwh() == pytest.approx({days[0]: 0.5, days[1]: 0.5})

    # Retention replaces the UTC 4th by hourly rows; its 18:00 row holds both halves.
    assert tiers.downsample_hourly(days[0], days[1]).status == "ok"
    run = rebuild_view(ENERGY, days[0], days[1], now=now)

    # Before: 1.0 kWh on the 4th and 0 on the 5th. The hour cannot be split: the rows stay.
    assert kwh() == pytest.approx({days[0]: 0.5, days[1]: 0.5})
    skipped = [note.split()[1].rstrip(":") for note in run.details["skipped"]]
    assert skipped == ["2024-03-04", "2024-03-05"]
    assert "hourly tier row" in run.details["skipped"][0]


def test_a_rebuild_ending_at_a_midnight_inside_an_hour_writes_the_whole_hour(
    ha_db: HaDatabase, enrich_db: str, settings
):
    # Kolkata (UTC+05:30): the 4th ends at 18:30 UTC. Motion 18:40-18:50 UTC (00:10 local).
    settings.TIME_ZONE = "Asia/Kolkata"
    ha_db.saved_entity(
        "ingestor", "binary_sensor.hall_motion", [(datetime(2024, 3, 4, 12, tzinfo=UTC), "off"),
        (datetime(2024, 3, 4, 18, 40, tzinfo=UTC), "on"),
        (datetime(2024, 3, 4, 18, 50, tzinfo=UTC), "off")],
        kind="binary", device_class="motion", area="hall",
    )  # fmt: skip
    now = datetime(2024, 3, 20, tzinfo=UTC)

    def hour_18() -> tuple[int, float, bool]:
        row = HourlyRoomActivity.objects.get(area="hall", hour=datetime(2024, 3, 4, 18, tzinfo=UTC))
        return row.motion_count, row.occupancy_rate, row.partial

    rebuild_view(ACTIVITY, DAY2, DAY2, now=now)
    assert hour_18() == (1, pytest.approx(10 / 60), False)
    # Before: the 4th's rebuild rewrote that UTC hour from its first half alone, (0, 0.0).
    rebuild_view(ACTIVITY, DAY1, DAY1, now=now)
    assert hour_18() == (1, pytest.approx(10 / 60), False)


def test_carbon_points_a_provider_backfilled_after_an_outage_are_folded_into_their_day(
    enrich_db: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    tags = {"region": "DE", "provider": "electricitymaps"}

    def write(hours: int, gco2: float) -> None:
        get_timeseries().write(enrich_db, [Reading(
            "carbon_intensity", {"carbon_intensity_gco2_kwh": gco2}, T0 + timedelta(hours=hours),
            tags)])  # fmt: skip

    write(0, 100.0)  # then the collector is down from 01:00 on the 4th to 12:00 on the 5th
    for hours in range(4, 40, 4):
        refresh_view(CARBON, now=T0 + timedelta(hours=hours))
    # Back at 12:00 on the 5th, it backfills the last 24 hours (collectors/carbon).
    write(12, 300.0)
    write(24, 200.0)
    refresh_view(CARBON, now=T0 + timedelta(hours=40))

    [day1] = MaterializedViewManager().carbon(region="DE", start=DAY1, end=DAY1)
    # 100 for 12 h, 300 for 12 h. Before: 100, the row computed during the outage.
    assert (day1["avg_carbon"], day1["max_carbon"]) == (pytest.approx(200.0), 300.0)


def test_a_late_point_of_a_day_retention_downsampled_does_not_replace_its_hourly_rows(
    ha_db: HaDatabase, enrich_db: str
):
    # A fridge at 100 W until noon, 200 W after: 1.2 + 2.4 = 3.6 kWh on the 4th.
    ha_db.saved_entity(
        "official", "sensor.fridge_power", [(-60, 100), (12 * 3600, 200), (86400 + 3600, 200)],
        unit="W", kind="power",
    )  # fmt: skip
    now = T0 + timedelta(days=10)
    assert tiers.downsample_hourly(DAY1, DAY2).status == "ok"  # the 4th's raw points go
    # A point of the 4th written late (150 W at 18:00), before the next tier run folds it in.
    ha_db.write([Reading("W", {"value": 150.0}, T0 + timedelta(hours=18),
                         {"domain": "sensor", "entity_id": "fridge_power"})])  # fmt: skip

    run = rebuild_view(ENERGY, DAY1, DAY1, now=now)

    # Before: 2.7 kWh from that one raw point (the 100 W of the 3rd held until 18:00). The
    # hourly rows hold the day; the next tier run keeps their energy when it folds it in.
    assert energy_row("sensor.fridge_power").total_kwh == pytest.approx(3.6)
    assert run.details["sources"] == {"hourly": 1}
    assert tiers.downsample_hourly(DAY1, DAY2).status == "ok"
    rebuild_view(ENERGY, DAY1, DAY1, now=now)
    assert energy_row("sensor.fridge_power").total_kwh == pytest.approx(3.6)


def test_carbon_points_watttime_backfilled_days_late_are_folded_into_their_day(
    enrich_db: str, settings
):
    settings.VIEW_LATE_MARGIN_HOURS = 6
    tags = {"region": "CAISO_NORTH", "provider": "watttime"}

    def point(hours: int, gco2: float) -> Reading:
        fields = {"carbon_intensity_gco2_kwh": gco2, "is_forecast": False}
        return Reading("carbon_intensity", fields, T0 + timedelta(hours=hours), tags)

    write_fetched(WattTimeAdapter(), [point(0, 100.0)])  # then down until the 7th
    for hours in range(4, 73, 4):
        refresh_view(CARBON, now=T0 + timedelta(hours=hours))
    # Back at 00:00 on the 7th, WattTime's fetch backfills since the outage (up to 30 days).
    write_fetched(WattTimeAdapter(), [point(12, 300.0), point(24, 200.0), point(72, 200.0)])
    refresh_view(CARBON, now=T0 + timedelta(hours=76))

    [day1] = MaterializedViewManager().carbon(region="CAISO_NORTH", start=DAY1, end=DAY1)
    # 100 for 12 h, 300 for 12 h. Before: 100, the row computed during the outage (the
    # refresh reached back 24 hours, the backfill 3 days).
    assert (day1["avg_carbon"], day1["max_carbon"]) == (pytest.approx(200.0), 300.0)


@pytest.mark.parametrize("state", sorted(BINARY_STATE_NUMBERS) + ["Detected", "LOCKED", "idle"])
def test_a_binary_state_is_on_or_off_alike_for_the_tiers_and_the_views(state):
    # Before: "locked" and "above_horizon" were on for the tiers only, "true", "yes" and
    # "detected" for the views only (their own lists).
    sample = Sample(T0, state=state)
    on = BINARY_STATE_NUMBERS.get(state.lower()) == 1.0
    assert tier_reads_on(sample) is on
    assert view_reads_on(sample) is on


@pytest.mark.parametrize("state", ["detected", "yes", "locked"])
def test_a_state_read_from_tier_rows_is_on_for_the_views_as_for_the_tiers(
    ha_db: HaDatabase, enrich_db: str, state: str
):
    # A motion sensor whose writer stores `state` for on: on from 20:00 on the 4th to 02:00
    # on the 5th. The 4th goes hourly, then daily; the 5th is still raw.
    ha_db.saved_entity(
        "ingestor", "binary_sensor.hall_motion", [(T0 + timedelta(hours=12), "clear"),
        (T0 + timedelta(hours=20), state), (T0 + timedelta(hours=26), "clear")],
        kind="binary", device_class="motion", area="hall",
    )  # fmt: skip

    def night() -> list[float]:
        rows = HourlyRoomActivity.objects.filter(area="hall", hour__gte=T0 + timedelta(hours=20))
        return [r.occupancy_rate for r in rows.order_by("hour")[:8]]

    def counted_at_20() -> int:
        return HourlyRoomActivity.objects.get(
            area="hall", hour=T0 + timedelta(hours=20)
        ).motion_count

    rebuild_view(ACTIVITY, DAY1, DAY2, now=AFTER)
    assert night() == [1.0] * 6 + [0.0] * 2  # from the raw points
    assert counted_at_20() == 1
    assert tiers.downsample_hourly(DAY1, DAY2).status == "ok"
    rebuild_view(ACTIVITY, DAY1, DAY1, now=AFTER)  # the 4th from its hourly rows
    # Before: 0 for "yes" and "locked": the 20:00 row's one change ended in a state not on.
    assert counted_at_20() == 1
    assert tiers.downsample_daily(DAY1, DAY2).status == "ok"
    rebuild_view(ACTIVITY, DAY2, DAY2, now=AFTER)
    # The 5th begins with the daily row's last_state. Before: "detected" and "yes" (and
    # "locked", which the tiers counted on) were read as off there: 0.0, 0.0.
    assert night() == [1.0] * 6 + [0.0] * 2


def test_totals_per_device_are_rounded_as_the_rows_are():
    # A meter's days of 0.1 and 0.2 kWh: their sum in binary floats is 0.30000000000000004
    # kWh (before: given so).
    DailyEnergyByDevice.objects.bulk_create(
        DailyEnergyByDevice(entity_id="sensor.kettle_energy", date=day, total_kwh=kwh,
                            cost=round(kwh * 0.1, 9), currency="EUR", cost_source="price_slots")
        for day, kwh in ((DAY1, 0.1), (DAY2, 0.2))
    )  # fmt: skip
    [total] = MaterializedViewManager().energy_by_device(start=DAY1, end=DAY2)
    assert (total["total_kwh"], total["cost"], total["days"]) == (0.3, 0.03, 2)
