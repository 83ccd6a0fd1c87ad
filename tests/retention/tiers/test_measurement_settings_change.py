"""Home Assistant's InfluxDB integration settings changed in the middle of the history: after
`measurement_attr: entity_id` (or `override_measurement: ha`) the entities' points go on in
the measurement `sensor.heat_pump_energy` (or `ha`) instead of `kWh` and `W`. Discovery
records the new measurement in the entity's series, and every read, count and delete covers
both. Until discovery has run, the raw -> hourly run read only the old one: the switch day and
the days after were aggregated from the morning's points with the value held on (the meter's
growth and the heater's energy lost), and the points of the new measurement came in later as
late points, folded into counts and minima/maxima only. The run leaves such an entity out,
naming the measurement and what to do, deletes none of its points, and the run after discovery
tiers every point once. T0 = 2024-03-04 00:00 UTC (tests/retention/conftest.py)."""

from datetime import timedelta

import pytest

from enrich.influx import get_timeseries, quote_ident
from retention.entities.discovery import discover
from retention.models import Alert
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0, official_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
METER, HEATER = "sensor.heat_pump_energy", "sensor.heat_pump_power"
START, SWITCH, END = T0 - DAY, T0 + 12 * HOUR, T0 + 2 * DAY  # 3 days, the switch at noon
HOURS = range(int((END - START) / HOUR))
NEW = {"entity_id": lambda entity_id, unit: entity_id, "override": lambda entity_id, unit: "ha"}


def write(ha_db, measurement, before: bool) -> None:
    """A meter growing 1 kWh an hour and a heater at 1 or 2 kW by turns, hourly readings."""
    for entity_id, unit, reading in (
        (METER, "kWh", lambda n: (float(n), {"state_class": "total_increasing"})),
        (HEATER, "W", lambda n: (2000.0 if n % 2 else 1000.0, {})),
    ):
        points = [(START + n * HOUR, *reading(n)) for n in HOURS
                  if (START + n * HOUR < SWITCH) == before]  # fmt: skip
        ha_db.write(official_readings(entity_id, points, unit=unit,
                                      measurement=measurement(entity_id, unit)))  # fmt: skip


def raw_points(ha_db) -> int:
    total = 0
    for measurement in ("kWh", "W", METER, HEATER, "ha"):
        query = f'SELECT COUNT("value") FROM {quote_ident(measurement)}'
        with get_timeseries().query(ha_db.name, query) as rows:
            total += sum(int(row.values.get("count") or 0) for row in rows)
    return total


def energy(entity_id: str) -> float:
    rows = read_rows(HOURLY_RP, START, END, entity_id).get(entity_id, [])
    return sum(row.fields["total_energy"] for row in rows)


@pytest.mark.parametrize("setting", NEW)
def test_a_run_before_discovery_found_the_new_measurement_leaves_the_entities_out(ha_db, setting):
    write(ha_db, lambda entity_id, unit: unit, before=True)  # the default: the unit
    discover(ha_db.name, "official")
    write(ha_db, NEW[setting], before=False)
    new = "ha" if setting == "override" else None
    now = END + 8 * DAY  # every day due; discovery has not run since the change

    run = tiers.downsample_hourly(now=now)

    assert (run.status, run.records_processed, run.records_deleted) == ("ok", 0, 0)
    assert raw_points(ha_db) == 2 * len(HOURS)  # none deleted, none aggregated
    meter_note = next(note for note in run.details["waiting"] if note.startswith(f"'{METER}'"))
    assert meter_note.startswith(
        f"'{METER}' is left out: Home Assistant's InfluxDB integration writes its points to "
        f"the measurement '{new or METER}' (since 2024-03-04 12:00 UTC), which discovery has "
        "not recorded yet (its measurement settings changed: measurement_attr, "
        "override_measurement, default_measurement, or the entity's unit or device class)"
    )
    assert meter_note.endswith(
        "Run discovery (manage.py discover_entities, or the beat entry 'Discover Home "
        "Assistant entities'): the next run tiers it with all its points"
    )
    assert Alert.objects.get().kind == "entities_left_out"
    dry = tiers.downsample_hourly(now=now, dry_run=True)  # says the same
    assert meter_note in dry.details["waiting"]

    discover(ha_db.name, "official")
    run = tiers.downsample_hourly(now=now + DAY)

    assert (run.status, run.errors, run.details.get("late_points", 0)) == ("ok", "", 0)
    assert (run.records_processed, run.records_deleted) == (2 * len(HOURS), 2 * len(HOURS))
    assert raw_points(ha_db) == 0
    assert energy(METER) == pytest.approx(len(HOURS) - 1)  # 1 kWh an hour from the first
    assert energy(HEATER) == pytest.approx(1.5 * len(HOURS))  # 1.5 kW on average
