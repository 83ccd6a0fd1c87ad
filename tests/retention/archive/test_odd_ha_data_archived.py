"""Odd but real Home Assistant data (tests/retention/tiers/test_odd_ha_data.py) through the whole
chain: raw (both layouts) -> hourly -> daily -> archive (the local directory) -> restore into the
restore database and to a Parquet file. Each comes back as the daily tier held it: every row,
tag and field, its InfluxDB type (SHOW FIELD KEYS, not JSON's 2 for 2.0) and its float's bits.
Real InfluxDB; T0 is a Monday."""

import struct
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention.archive import format as fmt
from retention.archive.restore import restore_to_influxdb
from retention.archive.run import run_archive
from retention.entities.discovery import discover
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, read_rows
from tests.retention.conftest import (
    T0,
    HaDatabase,
    NanoReading,
    ingestor_readings,
    official_readings,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
NOW = datetime(2026, 3, 15, tzinfo=UTC)  # 2024 is a closed year, due for the archive
ODD_IDS = ("with space", "comma,id", "eq=x", "back\\slash", 'quote"d', "küche_🔥",
           unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café"))  # fmt: skip
CASTS = {"float": float, "integer": int, "string": str, "boolean": bool}


def odd_home(ha: HaDatabase) -> None:
    power = [(0, 100.0), (1800, 0.30000000000000004), (7200, 1 / 3), (9000, 5e-324)]
    for object_id in ODD_IDS:
        ha.write(official_readings(f"sensor.{object_id}_power", power, unit="W"))
    for name, unit, values in (("temperature", "°C", (20.123456789012345, 21.5)),
                               ("pm25", "µg/m³", (12.3, 7)), ("gas", "m³", (1234.567, 1235.001)),
                               ("humidity", "%", (55.5, 60))):  # fmt: skip
        ha.write(
            official_readings(
                f"sensor.{name}", list(zip((0, 3600), values, strict=True)), unit=unit
            )
        )
    ha.write(official_readings("sensor.meter_energy", [(0, 10.0), (3600, 11.25)], unit="kWh"))
    ha.write(official_readings("input_text.code", [(0, "007"), (600, "1e5")]))
    ha.write(official_readings("sensor.status", [(0, 'a,b c=d "q" \\ ü'), (600, "true")]))
    ha.write(
        official_readings("weather.home", [(0, "sunny", {"temperature": 12.5, "humidity": 70})])
    )
    bool_tags = {"domain": "binary_sensor", "entity_id": "door"}
    ha.write([Reading("binary_sensor.door", {"value": v}, T0 + timedelta(seconds=s), bool_tags)
              for s, v in ((0, True), (600, False))])  # fmt: skip
    nano = {"domain": "sensor", "entity_id": "nano_power"}
    ha.write([NanoReading("W", {"value": v}, T0, nano, ns) for ns, v in ((7, 1.5), (999, 2.5))])
    ha.write(ingestor_readings("sensor.ing space_power", [(0, 50.0), (1800, 0.1)], unit="W"))
    ha.write(ingestor_readings("sensor.ing_ü", [(0, 19.9), (3600, "unavailable"), (5400, 18.25)],
                               unit="°C", device_class="temperature"))  # fmt: skip
    ha.write(ingestor_readings("binary_sensor.ing_motion", [(0, "on"), (60, "off")],
                               device_class="motion", area="Hall, main"))  # fmt: skip


def bits(value):
    return struct.pack(">d", value).hex() if isinstance(value, float) else (type(value), value)


def keyed(rows) -> dict:
    return {(r["entity_id"], r["time"]): {k: bits(v) for k, v in r.items()} for r in rows}


def typed_rows(database: str, rp: str) -> list[dict]:
    """The rows of `rp`, each field in its InfluxDB type."""
    source = f'"{rp}"."entity_aggregates"'
    ts = get_timeseries()
    types = {r.values["fieldKey"]: r.values["fieldType"]
             for r in ts.query(database, f"SHOW FIELD KEYS FROM {source}")}  # fmt: skip
    query = f'SELECT * FROM {source} GROUP BY "entity_id", "kind"'
    return [{"time": r.time, **r.tags,
             **{k: CASTS[types[k]](v) for k, v in r.values.items() if v is not None}}
            for r in ts.query(database, query)]  # fmt: skip


def test_odd_ha_data_comes_back_from_the_archive_as_the_daily_tier_held_it(
    tier, local_archive, tmp_path
):
    ha = HaDatabase(tier.database)
    odd_home(ha)
    discover(ha.name, "official")
    discover(ha.name, "ingestor")
    for run in (tiers.downsample_hourly, tiers.downsample_daily):
        done = run(T0.date(), T0.date() + 2 * DAY)
        assert (done.status, done.errors, done.details["waiting"]) == ("ok", "", [])
    held = keyed(typed_rows(tier.database, DAILY_RP))
    # What enrich's readers see: the rows with the fields the tier leaves out put back.
    expanded = keyed({"time": row.start, "entity_id": e, "kind": row.kind, **row.fields}
                     for e, rows in read_rows(DAILY_RP, T0, T0 + 2 * DAY).items()
                     for row in rows)  # fmt: skip
    assert len(held) == len(expanded) == 2 * 21  # two NFC/NFD cafés: two entities

    report = run_archive(NOW)
    assert (report.errors, report.records_deleted, tier.rows()) == ([], len(held), [])
    restored = restore_to_influxdb(T0.date(), T0.date() + DAY)
    assert restored.records == len(held)
    assert keyed(typed_rows(tier.restore_database, "autogen")) == expanded
    out = tmp_path / "restored.parquet"
    call_command("restore_from_archive", str(T0.date()), str(T0.date() + DAY), "--output", str(out))
    assert keyed(fmt.table_rows(fmt.from_parquet(out.read_bytes()))) == expanded
