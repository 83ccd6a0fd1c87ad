"""The hourly tier's batched reads (`retention.tiers.reads`, `retention.tiers.window`) give
exactly what `retention.entities.ha_source` gives one entity at a time, on real InfluxDB data, the
awkward cases included; the batched delete removes exactly the listed entities' points."""

from datetime import timedelta

import pytest

from enrich.readings import Reading
from retention.entities import ha_source
from retention.tiers import reads as tier_reads
from retention.tiers import window as tier_window
from retention.tiers.side import Side
from tests.retention.conftest import T0

pytestmark = pytest.mark.influxdb

DAY = timedelta(days=1)
START, END = T0, T0 + DAY


def _home(ha_db):
    """Entities in several measurements, with every case the CSV reader must get right."""
    entities = [
        ha_db.write_entity(
            "official",
            "sensor.fridge_power",
            [(-300, 80.0), (0, 120.5), (60, 0), (7200, 1e-7), (86400, 5)],
            unit="W",
        ),  # fmt: skip
        ha_db.write_entity(
            "official",
            "sensor.named_power",
            [(-60, 3), (30, 4.25)],
            unit="W",
            friendly_name="Named",
        ),  # fmt: skip
        ha_db.write_entity(
            "official", "binary_sensor.door", [(-10, "off"), (5, "on"), (95, "off"), (4000, "on")]
        ),  # fmt: skip
        ha_db.write_entity(
            "official",
            "weather.home",
            [
                (-600, "sunny", {"temperature": 3.5}),
                (600, "rainy, cold", {"temperature": 2, "humidity": 80, "summary": 'say "hi"'}),
            ],
        ),  # fmt: skip
        ha_db.write_entity(
            "official", "sensor.meter_energy", [(0, 10.0), (3600, 10.5), (7200, 0.2)], unit="kWh"
        ),  # fmt: skip
        ha_db.write_entity(
            "official", "sensor.gap_temperature", [(0, 5.0), (900, 6.0)], unit="°C"
        ),  # fmt: skip
        ha_db.write_entity("official", "sensor.twin_power", [(0, 1.0), (600, 2.0)], unit="W"),
        ha_db.write_entity("ingestor", "sensor.old_power", [(0, 1.0), (60, "unavailable")]),
    ]
    # HA never writes a "" state in this layout, but a point with one is a gap: JSON tells.
    ha_db.write([Reading("°C", {"value": 7.0, "state": ""}, T0 + timedelta(seconds=1200),
                         {"domain": "sensor", "entity_id": "gap_temperature"})])  # fmt: skip
    # A second series of the same entity (a tag added later) with a point at the same time.
    ha_db.write([Reading("W", {"value": 9.0}, T0 + timedelta(seconds=600),
                         {"domain": "sensor", "entity_id": "twin_power", "source": "b"})])  # fmt: skip
    return entities


def test_window_carry_in_and_counts_equal_ha_source_entity_by_entity(ha_db):
    entities = _home(ha_db)
    db = ha_db.name
    batched = tier_window.window_samples(entities, START, END, db)
    carried = tier_reads.carried_in(entities, START, db)
    counts = tier_reads.count_samples(entities, START, END, db)
    for entity in entities:
        expected = list(ha_source.read_samples(entity, START, END, carry_in=False, database=db))
        assert batched[entity.entity_id] == expected, entity.entity_id
        whole = list(ha_source.read_samples(entity, START, END, database=db))
        before = whole[0] if whole and whole[0].time < START else None
        assert carried[entity.entity_id] == before, entity.entity_id
        assert counts[entity.entity_id] == ha_source.count_samples(entity, START, END, database=db)
    assert len(batched["sensor.fridge_power"]) == 3  # not the one before or at the day end
    gap = batched["sensor.gap_temperature"]
    assert [s.value for s in gap] == [5.0, 6.0, None]  # the "" state is a gap, as in JSON
    assert len(batched["sensor.twin_power"]) == 2  # two series, one point at 600 s: one sample
    weather = batched["weather.home"][0]
    assert weather.state == "rainy, cold" and weather.attributes == {
        "temperature": 2.0,
        "humidity": 80.0,
    }


def test_the_csv_reader_leaves_points_it_cannot_type_exactly_to_ha_source(ha_db):
    entities = _home(ha_db)
    fetched = tier_window.fetch(
        tier_window.get_timeseries(), tier_reads.official(entities), START, END, ha_db.name
    )
    found, redo = tier_window.parse(tier_reads.official(entities), fetched)
    assert redo == {"sensor.gap_temperature"}  # a point without `state` where the field is
    assert "sensor.gap_temperature" not in found and "sensor.fridge_power" in found


def test_delete_day_deletes_the_listed_entities_and_never_a_look_alike_series(ha_db):
    power = ha_db.write_entity("official", "sensor.a_power", [(0, 1.0), (60, 2.0)], unit="W")
    energy = ha_db.write_entity("official", "sensor.b_energy", [(0, 1.0)], unit="kWh")
    # The same tags in the other measurement, not registered: one regex DELETE over W and kWh
    # with (a OR b) would remove it, so the delete goes measurement by measurement.
    look_alike = ha_db.write_entity("official", "sensor.a_power", [(30, 5.0)], unit="kWh")
    other = ha_db.write_entity("official", "sensor.c_power", [(0, 3.0)], unit="W")
    db, calls = ha_db.name, []
    deleted = tier_reads.delete_day(
        [(power, 2), (energy, 1)], START, END, db, "autogen",
        lambda entity, n: 0, lambda: calls.append("first"),
    )  # fmt: skip
    assert deleted == 3 and calls == ["first"]
    for entity, left in ((power, 0), (energy, 0), (look_alike, 1), (other, 1)):
        assert ha_source.count_samples(entity, START, END, database=db) == left


def test_the_series_check_asked_ahead_and_the_count_on_a_side_thread_give_the_same_delete(ha_db):
    power = ha_db.write_entity("official", "sensor.a_power", [(0, 1.0), (60, 2.0)], unit="W")
    energy = ha_db.write_entity("official", "sensor.b_energy", [(0, 1.0)], unit="kWh")
    db, ids = ha_db.name, frozenset({"sensor.a_power", "sensor.b_energy"})
    assert tier_reads.alone_groups([power, energy], START, END, db) == {ids: True}
    look_alike = ha_db.write_entity("official", "sensor.a_power", [(30, 5.0)], unit="kWh")
    alone = tier_reads.alone_groups([power, energy], START, END, db)
    assert alone == {ids: False}  # one statement over W and kWh would take the look-alike
    side, calls = Side("test-side"), []
    try:
        deleted = tier_reads.delete_day(
            [(power, 2), (energy, 1)], START, END, db, "autogen", lambda entity, n: 0,
            lambda: calls.append("first"), side, alone, meanwhile=lambda: calls.append("then"),
        )  # fmt: skip
    finally:
        side.close()
    assert deleted == 3 and calls == ["first", "then"]
    for entity, left in ((power, 0), (energy, 0), (look_alike, 1)):
        assert ha_source.count_samples(entity, START, END, database=db) == left


def _switched(ha_db):
    """An oven written in W (from the day before), then in kW from 12:00 (its measurement
    `kW`; a point at 12:00 in both: the one of the current measurement wins), registered as
    discovery registers it; a plug next to it whose kW series is a look-alike nobody listed."""
    ha_db.write_entity("official", "sensor.oven_power", [(-3600, 500.0), (3600, 800.0),
                                                         (43200, 900.0)], unit="W")  # fmt: skip
    oven = ha_db.write_entity("official", "sensor.oven_power", [(43200, 2.0), (50400, 1.5)],
                              unit="kW")  # fmt: skip
    oven.series = [{"measurement": "W", "unit": "W"}, {"measurement": "kW", "unit": "kW"}]
    plug = ha_db.write_entity("official", "sensor.plug_power", [(0, 40.0)], unit="W")
    return oven, plug


def test_an_entity_in_a_measurement_per_unit_reads_as_one_history_in_w(ha_db):
    oven, plug = _switched(ha_db)
    db = ha_db.name
    expected = [(3600, 800.0), (43200, 2000.0), (50400, 1500.0)]
    samples = list(ha_source.read_samples(oven, START, END, database=db))
    assert [((s.time - T0).total_seconds(), s.value) for s in samples] == [(-3600, 500.0),
                                                                          *expected]  # fmt: skip
    assert ha_source.count_samples(oven, START, END, database=db) == 3
    assert ha_source.first_sample_time(oven, END, database=db) == T0 - timedelta(hours=1)
    # The batched reads of the hourly tier give the same.
    batched = tier_window.window_samples([oven, plug], START, END, db)
    assert batched["sensor.oven_power"] == samples[1:]
    assert tier_reads.carried_in([oven, plug], START, db)["sensor.oven_power"] == samples[0]
    assert tier_reads.count_samples([oven, plug], START, END, db)["sensor.oven_power"] == 3
    # Deleting the day removes the oven's points in both measurements, and only its own.
    deleted = tier_reads.delete_day([(oven, 3), (plug, 1)], START, END, db, "autogen",
                                    lambda entity, n: 0, lambda: None)  # fmt: skip
    assert deleted == 4
    for measurement in ("W", "kW"):
        with tier_window.get_timeseries().query(
            db, f'SELECT COUNT("value") FROM "{measurement}" WHERE time >= $s AND time < $e',
            {"s": START, "e": END},
        ) as rows:  # fmt: skip
            assert [row.values["count"] for row in rows] == [], measurement
    assert ha_source.count_samples(oven, START - DAY, START, database=db) == 1  # not the day's


def test_a_unit_corrected_in_the_admin_applies_to_the_unit_home_assistant_writes_now(ha_db):
    # The heater wrote kW (measurement `kW`), then an integration update labels its kW
    # readings W (measurement `W`); a person set kW in the admin: the registry's unit is read
    # for the points in the unit Home Assistant writes now, the older ones by their own.
    ha_db.write_entity("official", "sensor.heater_power", [(0, 1.0)], unit="kW")
    heater = ha_db.write_entity("official", "sensor.heater_power", [(3600, 2.0)], unit="W")
    heater.series = [{"measurement": "kW", "unit": "kW"}, {"measurement": "W", "unit": "W"}]
    heater.unit, heater.edited = "kW", True
    values = [s.value for s in ha_source.read_samples(heater, START, END, database=ha_db.name)]
    assert values == [1000.0, 2000.0]
    assert [s.value for s in tier_window.window_samples([heater], START, END, ha_db.name)[
        "sensor.heater_power"]] == [1000.0, 2000.0]  # fmt: skip
