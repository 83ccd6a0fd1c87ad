"""A power sensor whose unit changed in Home Assistant (W -> kW at 12:30) is one history: the
tiers aggregate every raw point of it, each converted by the unit it was written under, check
them against the raw counts of every series, delete them all; the views read them the same way.

Home Assistant records the unit in three ways (reference/ha_influx_schema.md):
- official layout, measurement = the unit (the default): the W points stay in the measurement
  `W`, the kW points go to the measurement `kW`;
- official layout, measurement = the entity id: one measurement, the unit in the field
  `unit_of_measurement_str` of every point (or, with `tags_attributes: [unit_of_measurement]`,
  in the tag `unit_of_measurement`);
- HA Ingestor: one measurement, the unit in the `attributes` JSON (or, older writer, the
  field `attr_unit_of_measurement`) of every point.

Discovery finds the entity (its unit now kW), the hourly and daily tiers and a rebuild of
`daily_energy_by_device` run against the real InfluxDB; the answers are worked out below.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from enrich.influx import get_timeseries, quote_ident
from retention.entities.discovery import discover
from retention.entities.points import INGESTOR_MEASUREMENT
from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.follow import follow_edits
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0, HaDatabase, ingestor_readings, official_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BEFORE, SWITCH_DAY = (T0 - DAY).date(), T0.date()  # only W / W until 12:30, then kW
AFTER = T0 + 3 * DAY
HEATER = "sensor.heater_power"
# (hours after T0, reading, unit)
W_POINTS = [(-24, 500.0), (-12, 1000.0), (6, 800.0)]
KW_POINTS = [(12.5, 2.0), (18, 1.5)]


def _points(points: list[tuple[float, float]]) -> list[tuple[datetime, float]]:
    return [(T0 + hours * HOUR, value) for hours, value in points]


def write_official_by_unit(ha_db: HaDatabase) -> None:
    ha_db.write(official_readings(HEATER, _points(W_POINTS), unit="W"))
    ha_db.write(official_readings(HEATER, _points(KW_POINTS), unit="kW"))


def write_official_by_entity_id(ha_db: HaDatabase) -> None:
    ha_db.write(official_readings(HEATER, _points(W_POINTS), unit="W", measurement=HEATER))
    ha_db.write(official_readings(HEATER, _points(KW_POINTS), unit="kW", measurement=HEATER))


def write_official_unit_tag(ha_db: HaDatabase) -> None:
    for points, unit in ((W_POINTS, "W"), (KW_POINTS, "kW")):
        tag = {"unit_of_measurement": unit}  # the integration's tags_attributes lists it
        ha_db.write(official_readings(HEATER, _points(points), measurement=HEATER, extra_tags=tag))


def write_ingestor(writer: str):
    def write(ha_db: HaDatabase) -> None:
        ha_db.write(ingestor_readings(HEATER, _points(W_POINTS), unit="W", writer=writer))
        ha_db.write(ingestor_readings(HEATER, _points(KW_POINTS), unit="kW", writer=writer))

    return write


WRITERS = {
    "official-W-then-kW-measurement": ("official", ("W", "kW"), write_official_by_unit),
    "official-unit-field": ("official", (HEATER,), write_official_by_entity_id),
    "official-unit-tag": ("official", (HEATER,), write_official_unit_tag),
    "ingestor-json": ("ingestor", (INGESTOR_MEASUREMENT,), write_ingestor("json")),
    "ingestor-attr": ("ingestor", (INGESTOR_MEASUREMENT,), write_ingestor("attr")),
}


def implied_kwh(start: datetime, end: datetime) -> float:
    """The time integral of the raw points in [start, end), each in W by its own unit."""
    steps = sorted([(T0 + h * HOUR, v) for h, v in W_POINTS] +
                   [(T0 + h * HOUR, v * 1000) for h, v in KW_POINTS])  # fmt: skip
    total = 0.0
    for (at, watts), (following, _) in zip(steps, [*steps[1:], (end, 0.0)], strict=True):
        held = min(following, end) - max(at, start)
        total += watts * max(held.total_seconds(), 0) / 3.6e6
    return total


def raw_points(ha_db: HaDatabase, measurements: tuple[str, ...]) -> int:
    """Every raw point of the heater in InfluxDB, whatever its measurement or unit."""
    total = 0
    for measurement in measurements:
        query = f"SELECT COUNT(*) FROM {quote_ident(measurement)}"
        with get_timeseries().query(ha_db.name, query) as rows:
            total += max((int(v) for row in rows for v in row.values.values() if v), default=0)
    return total


def energy_rows() -> dict[date, tuple[float, ...]]:
    """The heater's whole days up to the switch day: (kWh, mean W, peak W), to 1e-6."""
    rows = DailyEnergyByDevice.objects.filter(entity_id=HEATER, partial=False,
                                              date__lte=SWITCH_DAY)  # fmt: skip
    return {
        row.date: tuple(round(v, 6) for v in (row.total_kwh, row.avg_power, row.peak_power))
        for row in rows
    }


def own(row) -> dict:
    return {k: v for k, v in row.fields.items() if not is_own_field(k)}


@pytest.mark.parametrize("written", WRITERS)
def test_a_unit_switch_at_noon_is_one_history_in_the_tiers_and_the_views(
    ha_db: HaDatabase, enrich_db: str, written: str
):
    layout, measurements, write = WRITERS[written]
    write(ha_db)
    assert raw_points(ha_db, measurements) == 5
    discover(ha_db.name, layout)
    heater = Entity.objects.get(entity_id=HEATER)
    assert (heater.kind, heater.unit, heater.first_seen) == ("power", "kW", T0 - DAY)

    # The day before: 500 W for 12 h, 1000 W for 12 h = 18 kWh. The switch day: 1000 W
    # 00:00-06:00, 800 W to 12:30, 2 kW to 18:00, 1.5 kW to 24:00 = 6 + 5.2 + 11 + 9 kWh.
    expected = {
        BEFORE: (18.0, 750.0, 1000.0),
        SWITCH_DAY: (31.2, 1300.0, 2000.0),
    }
    assert implied_kwh(T0, T0 + DAY) == pytest.approx(31.2)
    rebuild_view(ENERGY, BEFORE, SWITCH_DAY, now=AFTER)  # from the raw points
    assert energy_rows() == expected

    run = tiers.downsample_hourly(BEFORE, SWITCH_DAY + DAY)
    assert run.status == "ok", run.errors
    assert (run.records_processed, run.records_deleted) == (5, 5)
    assert raw_points(ha_db, measurements) == 0  # every series deleted, none left raw
    hours = {row.start: own(row) for row in read_rows(HOURLY_RP, T0 - DAY, T0 + DAY)[HEATER]}
    assert len(hours) == 48
    means = [hours[T0 + n * HOUR]["avg_value"] for n in range(24)]
    assert means == pytest.approx([1000.0] * 6 + [800.0] * 6 + [1400.0] + [2000.0] * 5
                                  + [1500.0] * 6)  # fmt: skip
    counts = {start: row["sample_count"] for start, row in hours.items() if row["sample_count"]}
    assert counts == {T0 - DAY: 1, T0 - 12 * HOUR: 1, T0 + 6 * HOUR: 1, T0 + 12 * HOUR: 1,
                      T0 + 18 * HOUR: 1}  # fmt: skip
    assert all(row["coverage_seconds"] == 3600 for row in hours.values())
    hourly_kwh = sum(row["total_energy"] for start, row in hours.items() if start >= T0)
    assert hourly_kwh == pytest.approx(31.2)

    run = tiers.downsample_daily(BEFORE, SWITCH_DAY + DAY)
    assert run.status == "ok", run.errors
    days = {row.start: own(row) for row in read_rows(DAILY_RP, T0 - DAY, T0 + DAY)[HEATER]}
    assert sorted(days) == [T0 - DAY, T0]
    for start, row in days.items():
        assert row["total_energy"] == pytest.approx(implied_kwh(start, start + DAY))
        assert row["coverage_seconds"] == 86400
    assert days[T0]["avg_value"] == pytest.approx(1300.0)
    assert (days[T0 - DAY]["sample_count"], days[T0]["sample_count"]) == (2, 3)
    assert (days[T0]["min_value"], days[T0]["max_value"]) == (800.0, 2000.0)

    DailyEnergyByDevice.objects.all().delete()
    rebuild_view(ENERGY, BEFORE, SWITCH_DAY, now=AFTER)  # from the daily tier now
    assert energy_rows() == expected


def test_an_entity_registered_at_its_new_unit_gets_its_older_days_back_after_discovery(
    ha_db: HaDatabase, enrich_db: str
):
    # Registered before discovery recorded measurements: at kW, nothing known of `W`. The
    # views then read only the kW points: the day before is missing, the switch day short.
    write_official_by_unit(ha_db)
    Entity.objects.create(entity_id=HEATER, kind="power", unit="kW", layout="official",
                          measurement="kW", first_seen=T0 - DAY)  # fmt: skip
    rebuild_view(ENERGY, BEFORE, SWITCH_DAY, now=AFTER)
    assert energy_rows() == {SWITCH_DAY: (20.0, 1739.130435, 2000.0)}  # 11:30 h known

    report = discover(ha_db.name, "official")

    assert Entity.objects.get(entity_id=HEATER).series == [
        {"measurement": "W", "unit": "W"}, {"measurement": "kW", "unit": "kW"}
    ]  # fmt: skip
    assert report.noted == {ENERGY: {HEATER}}
    follow_edits(ENERGY, now=AFTER)  # what the queued follow-up runs on the worker
    assert energy_rows() == {BEFORE: (18.0, 750.0, 1000.0), SWITCH_DAY: (31.2, 1300.0, 2000.0)}
