"""Reading an entity's samples from the real InfluxDB, in both Home Assistant layouts."""

import logging
from datetime import datetime, timedelta

import pytest

from enrich.readings import Reading
from retention.entities import ha_source, points
from retention.entities.ha_source import count_samples, read_samples
from retention.entities.samples import Sample
from retention.models import Entity
from tests.retention.conftest import T0, at, ingestor_readings, official_readings

pytestmark = pytest.mark.influxdb

END = T0 + timedelta(hours=1)


def read(entity, start=T0, end=END, **kwargs) -> list[Sample]:
    return list(read_samples(entity, start, end, **kwargs))


def gap(seconds: float) -> Sample:
    return Sample(at(seconds))


def ingestor_entity(entity_id: str, kind: str) -> Entity:
    """An entity of the HA Ingestor layout, which keeps every entity in one measurement."""
    return Entity(
        entity_id=entity_id, kind=kind, layout="ingestor", measurement="home_assistant_events"
    )


# --- the same logical data reads the same from both layouts ---------------------------------

CASES = {
    "power": (
        "sensor.fridge_power",
        {"unit": "W", "friendly_name": "Fridge power"},
        [(0, 120.5), (60, 0), (125.5, 87.25), (3599, 3)],
        [
            Sample(at(0), 120.5),
            Sample(at(60), 0.0),
            Sample(at(125.5), 87.25),
            Sample(at(3599), 3.0),
        ],
    ),
    "binary": (
        "binary_sensor.hall_motion",
        {"device_class": "motion", "friendly_name": "Hall motion 2"},
        [(5, "off"), (600, "on"), (900, "off")],
        [Sample(at(5), 0.0, "off"), Sample(at(600), 1.0, "on"), Sample(at(900), 0.0, "off")],
    ),
    "weather": (
        "weather.home",
        {"friendly_name": "Home 2"},
        [
            (0, "sunny", {"temperature": 12.5, "humidity": 70, "temperature_unit": "°C"}),
            (1800, "rainy", {"temperature": 11.0, "humidity": 92, "pressure": "1012.5"}),
        ],
        [
            Sample(at(0), None, "sunny", {"temperature": 12.5, "humidity": 70.0}),
            Sample(
                at(1800), None, "rainy", {"temperature": 11.0, "humidity": 92.0, "pressure": 1012.5}
            ),
        ],
    ),
    "text": (
        "sensor.washer_status",
        {"kind": "text"},
        [(10, "washing"), (20, "rinsing"), (30, 3)],
        [
            Sample(at(10), None, "washing"),
            Sample(at(20), None, "rinsing"),
            Sample(at(30), 3.0, "3"),
        ],
    ),
    "presence (HA maps home/not_home)": (
        "device_tracker.phone",
        {},
        [(10, "home"), (20, "not_home"), (30, "work")],
        [
            Sample(at(10), 1.0, "home"),
            Sample(at(20), 0.0, "not_home"),
            Sample(at(30), None, "work"),
        ],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_both_layouts_and_both_ingestor_writers_read_the_same_samples(ha_db, case):
    entity_id, options, points, expected = CASES[case]
    official = ha_db.write_entity("official", entity_id, points, **options)
    new_writer = ha_db.write_entity("ingestor", entity_id, points, **options)
    # The older ingestor writer (state, attr_<name>): another entity id, the same states.
    old_id = entity_id + "_old"
    old_writer = ha_db.write_entity("ingestor", old_id, points, writer="attr", **options)

    assert read(official) == expected
    assert read(new_writer) == expected
    assert read(old_writer) == expected
    for entity in (official, new_writer, old_writer):
        assert count_samples(entity, T0, END) == len(expected)


def test_official_points_are_read_from_their_measurement_and_domain_only(ha_db):
    power = ha_db.write_entity("official", "sensor.kettle", [(0, 2000.0)], unit="W")
    # Same object id in another domain and the same unit: another entity.
    ha_db.write_entity("official", "input_number.kettle", [(0, 5.0), (10, 6.0)], unit="W")
    ha_db.write_entity("official", "sensor.kettle_2", [(0, 7.0)], unit="W")
    assert read(power) == [Sample(at(0), 2000.0)]
    assert count_samples(power, T0, END) == 1


# --- the window and the carried-in sample ---------------------------------------------------


def test_carry_in_yields_the_last_sample_before_the_window_first(ha_db, layout):
    entity = ha_db.write_entity(
        layout,
        "sensor.oven_power",
        [(-7200, 1.0), (-100, 2.0), (-50, 3.0), (0, 4.0), (1800, 5.0), (3600, 6.0)],
        unit="W",
    )
    assert read(entity) == [Sample(at(-50), 3.0), Sample(at(0), 4.0), Sample(at(1800), 5.0)]
    assert read(entity, carry_in=False) == [Sample(at(0), 4.0), Sample(at(1800), 5.0)]
    # The end is exclusive, the start inclusive; the count never includes the carried-in one.
    assert count_samples(entity, T0, END) == 2
    later = read(entity, start=at(10), end=at(3601))
    assert later == [Sample(at(0), 4.0), Sample(at(1800), 5.0), Sample(at(3600), 6.0)]


def test_no_carry_in_when_nothing_came_before(ha_db, layout):
    entity = ha_db.write_entity(layout, "sensor.tv_power", [(30, 80.0)], unit="W")
    assert read(entity) == [Sample(at(30), 80.0)]
    assert read(entity, start=END, end=END + timedelta(hours=1)) == [Sample(at(30), 80.0)]
    assert read(entity, start=END, end=END + timedelta(hours=1), carry_in=False) == []
    assert count_samples(entity, END, END + timedelta(hours=1)) == 0


def test_an_entity_without_any_points_reads_empty(ha_db, layout):
    ha_db.write_entity(layout, "sensor.other", [(0, 1.0)], unit="W")
    measurement = "W" if layout == "official" else points.INGESTOR_MEASUREMENT
    missing = Entity(
        entity_id="sensor.nothing", kind="power", layout=layout, measurement=measurement
    )
    assert read(missing) == []
    assert count_samples(missing, T0, END) == 0


# --- gaps -----------------------------------------------------------------------------------


def test_unknown_and_unavailable_are_gaps_in_the_ingestor_layout(ha_db, ingestor_writer):
    points = [(-10, "unavailable"), (0, 5), (10, "unavailable"), (20, 7), (30, "unknown"),
              (40, ""), (50, 9)]  # fmt: skip
    entity = ha_db.write_entity(
        "ingestor", "sensor.plug_power", points, unit="W", writer=ingestor_writer
    )
    expected = [gap(0 - 10), Sample(at(0), 5.0), gap(10), Sample(at(20), 7.0), gap(30), gap(40),
                Sample(at(50), 9.0)]  # fmt: skip
    assert read(entity) == expected
    # Gaps are points: the count accounts for every one of them.
    assert count_samples(entity, T0, END) == len(expected) - 1


def test_the_official_integration_never_wrote_gaps_so_values_hold(ha_db):
    points = [(0, 5), (10, "unavailable"), (20, 7), (30, "unknown")]
    entity = ha_db.write_entity("official", "sensor.plug_power", points, unit="W")
    assert read(entity) == [Sample(at(0), 5.0), Sample(at(20), 7.0)]
    assert count_samples(entity, T0, END) == 2


def test_a_gap_state_written_to_the_official_layout_by_another_writer_is_a_gap(ha_db):
    tags = {"domain": "sensor", "entity_id": "boiler"}
    ha_db.write(
        [
            Reading("°C", {"value": 55.0}, at(0), tags),
            Reading("°C", {"state": "unavailable"}, at(10), tags),
        ]
    )
    entity = Entity(entity_id="sensor.boiler", kind="numeric", layout="official", measurement="°C")
    assert read(entity) == [Sample(at(0), 55.0), gap(10)]
    assert count_samples(entity, T0, END) == 2


# --- binary states --------------------------------------------------------------------------


def test_binary_states_map_to_one_and_zero(ha_db, layout):
    points = [(0, "on"), (1, "off"), (2, "open"), (3, "closed"), (4, "detected"), (5, "clear"),
              (6, "true"), (7, "false"), (8, "yes"), (9, "no"), (10, "jammed")]  # fmt: skip
    entity = ha_db.write_entity(layout, "binary_sensor.door", points, device_class="door")
    # HA's writer stored value 1/0 only for its own states; the others are mapped on reading.
    values = [(s.value, s.state) for s in read(entity)]
    assert values == [
        (1.0, "on"), (0.0, "off"), (1.0, "open"), (0.0, "closed"), (1.0, "detected"),
        (0.0, "clear"), (1.0, "true"), (0.0, "false"), (1.0, "yes"), (0.0, "no"),
        (None, "jammed"),
    ]  # fmt: skip
    assert count_samples(entity, T0, END) == 11


def test_only_home_assistants_own_mapping_applies_outside_binary_entities(ha_db, layout):
    points = [(0, "on"), (1, "detected"), (2, "locked"), (3, "below_horizon"), (4, "true")]
    entity = ha_db.write_entity(layout, "sensor.lock_state", points, kind="text")
    assert [(s.value, s.state) for s in read(entity)] == [
        (1.0, "on"),
        (None, "detected"),
        (1.0, "locked"),
        (0.0, "below_horizon"),
        (None, "true"),
    ]


def test_a_binary_point_with_only_a_value_gets_its_state(ha_db):
    tags = {"domain": "switch", "entity_id": "heater"}
    ha_db.write([Reading("switch.heater", {"value": 1.0}, at(0), tags),
                 Reading("switch.heater", {"value": 0.0}, at(5), tags)])  # fmt: skip
    entity = Entity(
        entity_id="switch.heater", kind="binary", layout="official", measurement="switch.heater"
    )
    assert read(entity) == [Sample(at(0), 1.0, "on"), Sample(at(5), 0.0, "off")]


# --- attributes -----------------------------------------------------------------------------


def test_official_attributes_are_the_numeric_fields_without_hass_digit_tail_numbers(ha_db):
    # HA writes a string attribute ending in digits also as a number: "Station 12" -> 12.0.
    tags = {"domain": "weather", "entity_id": "station"}
    fields = {"state": "cloudy", "temperature": 4.5, "wind_speed": 20, "friendly_name_str":
              "Station 12", "friendly_name": 12.0, "attribution_str": "Data by X"}  # fmt: skip
    ha_db.write([Reading("weather.station", fields, at(0), {**tags, "location": "42"})])
    entity = Entity(
        entity_id="weather.station",
        kind="weather",
        layout="official",
        measurement="weather.station",
    )
    assert read(entity) == [Sample(at(0), None, "cloudy", {"temperature": 4.5, "wind_speed": 20.0})]


def test_ingestor_json_attributes_keep_what_ha_would_store_as_numbers(ha_db):
    attributes = {"temperature": "7.5", "humidity": 81, "ozone": True, "forecast": [{"t": 1}],
                  "wind_bearing": "NW", "visibility": None, "dew_point": float("nan")}  # fmt: skip
    entity = ha_db.write_entity("ingestor", "weather.home", [(0, "fog", attributes)])
    assert read(entity) == [
        Sample(at(0), None, "fog", {"temperature": 7.5, "humidity": 81.0, "ozone": 1.0})
    ]


def test_ingestor_attributes_that_are_not_json_are_ignored_with_one_warning(ha_db, caplog):
    tags = {"entity_id": "sensor.meter", "domain": "sensor"}
    ha_db.write(
        [
            Reading("home_assistant_events", {"state_value": "1.5", "attributes": "{oops"},
                    at(0), tags),
            Reading("home_assistant_events", {"state_value": "1.75", "attributes": "nope"},
                    at(5), tags),
        ]
    )  # fmt: skip
    entity = ingestor_entity("sensor.meter", "energy")
    with caplog.at_level(logging.WARNING, logger="retention.entities.sources"):
        assert read(entity) == [Sample(at(0), 1.5), Sample(at(5), 1.75)]
    warnings = [r for r in caplog.records if r.name == "retention.entities.sources"]
    assert len(warnings) == 1
    assert "sensor.meter" in warnings[0].getMessage()
    assert "not JSON" in warnings[0].getMessage()


def test_the_old_ingestor_writer_attr_fields(ha_db):
    tags = {"entity_id": "weather.roof", "domain": "weather"}
    fields = {"state": "windy", "old_state": "sunny", "attr_wind_speed": 41.0,
              "attr_temperature": "3.5", "attr_friendly_name": "Roof"}  # fmt: skip
    ha_db.write([Reading("home_assistant_events", fields, at(0), tags)])
    entity = ingestor_entity("weather.roof", "weather")
    assert read(entity) == [Sample(at(0), None, "windy", {"wind_speed": 41.0, "temperature": 3.5})]


def test_ingestor_events_other_than_state_changes_are_not_samples(ha_db):
    states = ingestor_readings("light.desk", [(0, "on"), (10, "off")])
    service = ingestor_readings("light.desk", [(5, "on")], event_type="call_service")
    ha_db.write(states + service)
    entity = ingestor_entity("light.desk", "binary")
    assert read(entity) == [Sample(at(0), 1.0, "on"), Sample(at(10), 0.0, "off")]
    assert count_samples(entity, T0, END) == 2


# --- duplicate timestamps -------------------------------------------------------------------


def test_ingestor_events_with_the_same_time_are_one_sample(ha_db):
    first = ingestor_readings("sensor.tv_power", [(0, 10), (20, 30)], area="Lounge")
    # The same moment again, written with another area tag: another series.
    second = ingestor_readings("sensor.tv_power", [(20, 31), (40, 50)], area="Living room")
    ha_db.write(first + second)
    entity = ingestor_entity("sensor.tv_power", "power")
    samples = read(entity)
    assert [s.time for s in samples] == [at(0), at(20), at(40)]
    assert samples[1].value in (30.0, 31.0)
    assert count_samples(entity, T0, END) == 3
    # Carried in from a tie: one sample, the same one the window read chose.
    assert read(entity, start=at(30)) == [samples[1], samples[2]]


def test_official_points_of_one_entity_in_two_series_at_the_same_time(ha_db):
    before = official_readings("sensor.fan_power", [(0, 10), (20, 30)], unit="W")
    after = official_readings(
        "sensor.fan_power", [(20, 30), (40, 5)], unit="W", extra_tags={"floor": "1"}
    )
    ha_db.write(before + after + official_readings("sensor.fan_power", [(0, 11)], unit="W"))
    entity = Entity(entity_id="sensor.fan_power", kind="power", layout="official", measurement="W")
    # Rewriting a point of the same series replaces it (InfluxDB keeps one per series+time).
    assert read(entity) == [Sample(at(0), 11.0), Sample(at(20), 30.0), Sample(at(40), 5.0)]
    assert count_samples(entity, T0, END) == 3


def test_reading_streams_across_chunk_boundaries(ha_db, layout, monkeypatch):
    # Small chunks, so ties and the last point fall on chunk edges.
    monkeypatch.setattr(ha_source, "CHUNK_SIZE", 4)
    points = [(i * 7, float(i)) for i in range(50)]
    entity = ha_db.write_entity(layout, "sensor.dryer_power", points, unit="W")
    if layout == "ingestor":
        ha_db.write(ingestor_readings("sensor.dryer_power", [(21, 99)], area="x"))
    samples = read(entity, carry_in=False)
    assert [s.time for s in samples] == [at(i * 7) for i in range(50)]
    assert [s.value for s in samples if s.time != at(21)] == [float(i) for i in range(50) if i != 3]
    assert count_samples(entity, T0, END) == 50


# --- mistakes -------------------------------------------------------------------------------


def test_bad_windows_and_layouts_are_refused_with_a_reason(ha_db):
    entity = Entity(entity_id="sensor.x", kind="power", layout="official", measurement="W")
    with pytest.raises(ValueError, match="needs a timezone"):
        read_samples(entity, datetime(2024, 1, 1), END)  # raised on the call, not when read
    with pytest.raises(ValueError, match="empty window"):
        read(entity, start=END, end=T0)
    with pytest.raises(ValueError, match="empty window"):
        count_samples(entity, T0, T0)
    odd = Entity(entity_id="sensor.x", kind="power", layout="csv", measurement="W")
    with pytest.raises(ValueError, match="layout 'csv' is unknown"):
        read(odd)
    no_domain = Entity(entity_id="kettle", kind="power", layout="official", measurement="W")
    with pytest.raises(ValueError, match="domain.object_id"):
        count_samples(no_domain, T0, END)
