"""Entity discovery from the real InfluxDB (both layouts), the admin, and area import from
Home Assistant through the local replay server."""

import io
import json
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from jinja2.sandbox import ImmutableSandboxedEnvironment

from enrich.readings import Reading
from retention.entities.areas import AREAS_TEMPLATE, AreaImportError, import_ha_areas
from retention.entities.discovery import DiscoveryError, discover
from retention.entities.scan import detect_layout
from retention.models import Entity, ViewFollowUp
from tests.retention.conftest import T0, at, official_readings, official_to_ingestor

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

KIND_OF_MEASUREMENT = {"W": "power", "kWh": "energy", "°C": "numeric"}


def expected_demo_entities(readings, layout):
    """What discovery must find for the demo home, worked out from the points written."""
    series = defaultdict(list)
    for reading in readings:
        series[(reading.measurement, reading.tags["domain"], reading.tags["entity_id"])].append(
            reading
        )
    expected = {}
    for (measurement, domain, object_id), points in series.items():
        entity_id = f"{domain}.{object_id}"
        unit = measurement if measurement in KIND_OF_MEASUREMENT else ""
        kind = KIND_OF_MEASUREMENT.get(measurement) or {"binary_sensor": "binary"}.get(
            domain, domain
        )
        expected[entity_id] = {
            "kind": kind,
            "unit": unit,
            "layout": layout,
            "measurement": measurement if layout == "official" else "home_assistant_events",
            "friendly_name": points[-1].fields["friendly_name_str"],
            # The demo writes device_class_str on every entity but the weather.
            "device_class": points[-1].fields.get("device_class_str", ""),
            "area": "",
            "first_seen": min(p.time for p in points),
            "last_seen": max(p.time for p in points),
            "edited": False,
            "tiered": True,
        }
    return expected


def registry():
    return {
        e.entity_id: {
            "kind": e.kind,
            "unit": e.unit,
            "layout": e.layout,
            "measurement": e.measurement,
            "friendly_name": e.friendly_name,
            "device_class": e.device_class,
            "area": e.area,
            "first_seen": e.first_seen,
            "last_seen": e.last_seen,
            "edited": e.edited,
            "tiered": e.tiered,
        }
        for e in Entity.objects.all()
    }


# --- the demo home, both layouts ------------------------------------------------------------


def test_the_demo_home_is_discovered_with_each_entitys_kind_unit_and_place(ha_db, layout):
    readings = ha_db.write_demo_home(layout, days=2, entities=9, end=T0, seed=5)
    expected = expected_demo_entities(readings, layout)
    assert len(expected) == 9

    report = discover(layout=layout)

    assert registry() == expected
    assert (report.created, report.updated, report.unchanged) == (9, 0, 0)
    assert report.kinds == {"power": 3, "energy": 2, "numeric": 1, "binary": 2, "weather": 1}
    classes = Counter(e["device_class"] for e in expected.values())
    assert classes == {"power": 3, "energy": 2, "temperature": 1, "motion": 2, "": 1}
    assert report.database == ha_db.name and report.layout == layout
    assert sorted(report.created_ids) == sorted(expected)
    assert "9 created, 0 updated, 0 unchanged" in str(report)


def test_a_second_run_changes_nothing_and_new_points_update_last_seen(ha_db, layout):
    readings = ha_db.write_demo_home(layout, days=1, entities=5, end=T0, seed=2)
    discover(layout=layout)
    before = registry()

    again = discover(layout=layout)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert registry() == before

    power = next(r for r in readings if r.measurement == "W")
    later = T0 + timedelta(minutes=5)
    newer = Reading("W", {**power.fields, "value": 1.5}, later, power.tags)
    ha_db.write([newer if layout == "official" else official_to_ingestor(newer)])
    third = discover(layout=layout)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 4)
    entity_id = f"sensor.{power.tags['entity_id']}"
    assert Entity.objects.get(entity_id=entity_id).last_seen == later


def test_edited_rows_keep_kind_area_unit_device_class_and_tiered(ha_db, layout):
    ha_db.write_demo_home(layout, days=1, entities=4, end=T0, seed=3)
    discover(layout=layout)
    power = Entity.objects.get(kind="power")
    power.kind, power.area, power.unit, power.tiered = "numeric", "Kitchen", "kW", False
    power.device_class = "current"
    power.measurement, power.edited = "moved", True
    power.save()
    motion = Entity.objects.get(kind="binary")
    motion.area = "Hall"  # not edited: discovery manages it, but has no area to offer
    motion.device_class = "door"  # not edited: discovery puts the data's device class back
    motion.save()

    report = discover(layout=layout)

    power.refresh_from_db()
    assert (power.kind, power.area, power.unit, power.device_class) == (
        "numeric",
        "Kitchen",
        "kW",
        "current",
    )
    assert (power.tiered, power.edited) == (False, True)
    # Where the data is comes from InfluxDB even for edited rows.
    assert power.measurement == ("W" if layout == "official" else "home_assistant_events")
    motion.refresh_from_db()
    assert (motion.kind, motion.area, motion.device_class) == ("binary", "Hall", "motion")
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    assert report.kinds["numeric"] == 1 and report.kinds["power"] == 0


def test_changes_the_views_read_are_noted_with_the_discovery(ha_db):
    """A change to a registered entity that a view reads is noted in the discovery's
    transaction (the follow-up on a worker: tests/retention/rollups/test_follow_discovery.py);
    a new entity, or one only seen again, is not."""

    def write(entity_id, points, **options):
        ha_db.write_entity("ingestor", entity_id, points, **options)

    write("binary_sensor.kitchen_pir", [(0, "off")], device_class="motion", area="Kitchen")
    write("binary_sensor.hall_sensor", [(0, "off")], area="Hall", friendly_name="Hall sensor")
    write("sensor.fridge_power", [(0, 80.0)], unit="W", area="Kitchen")
    assert not discover(layout="ingestor").noted and not ViewFollowUp.objects.exists()

    # Moved to the Office in Home Assistant; renamed so that its name says what it is; seen.
    write("binary_sensor.kitchen_pir", [(60, "on")], device_class="motion", area="Office")
    write("binary_sensor.hall_sensor", [(60, "on")], area="Hall", friendly_name="Hall motion")
    write("sensor.fridge_power", [(60, 90.0)], unit="W", area="Kitchen")
    write("binary_sensor.new_motion", [(60, "on")], device_class="motion", area="Attic")
    report = discover(layout="ingestor")

    assert (report.created, report.updated) == (1, 3)
    assert report.noted == {"hourly_room_activity": {"Kitchen", "Office", "Hall"}}
    noted = {(n.key, n.since, n.edit) for n in ViewFollowUp.objects.all()}
    assert noted == {
        ("Kitchen", at(0), "binary_sensor.kitchen_pir: area 'Kitchen' -> 'Office'"),
        ("Office", at(0), "binary_sensor.kitchen_pir: area 'Kitchen' -> 'Office'"),
        ("Hall", at(0), "binary_sensor.hall_sensor: friendly_name 'Hall sensor' -> 'Hall motion'"),
    }


def test_an_area_removed_in_home_assistant_is_removed_unless_edited(ha_db):
    """The HA Ingestor tags a point with the entity's area while it has one: an entity taken
    out of its area in Home Assistant has no `area` tag on its newer points. The registry
    follows (the views too), unless a person set the area in the admin."""

    def write(entity_id, points, **options):
        ha_db.write_entity("ingestor", entity_id, points, device_class="motion", **options)

    write("binary_sensor.kitchen_pir", [(0, "off")], area="Kitchen")
    write("binary_sensor.hall_pir", [(0, "off")], area="Hall")
    discover(layout="ingestor")
    Entity.objects.filter(entity_id="binary_sensor.hall_pir").update(edited=True)

    write("binary_sensor.kitchen_pir", [(60, "on")])  # no area in Home Assistant any more
    write("binary_sensor.hall_pir", [(60, "on")])
    report = discover(layout="ingestor")

    areas = dict(Entity.objects.values_list("entity_id", "area"))
    assert areas == {"binary_sensor.kitchen_pir": "", "binary_sensor.hall_pir": "Hall"}
    assert report.noted == {"hourly_room_activity": {"Kitchen"}}
    [noted] = ViewFollowUp.objects.all()
    assert (noted.key, noted.edit) == ("Kitchen", "binary_sensor.kitchen_pir: area 'Kitchen' -> ''")


def test_an_ingestor_that_writes_no_areas_leaves_the_registrys_areas(ha_db):
    """Without any `area` tag (a writer that does not record areas) the areas come from the
    admin or Home Assistant's registry (`--ha-areas`): discovery keeps them."""
    ha_db.write_entity("ingestor", "sensor.oven_power", [(0, 2000.0)], unit="W")
    discover(layout="ingestor")
    Entity.objects.update(area="Kitchen")  # as `--ha-areas` sets it

    ha_db.write_entity("ingestor", "sensor.oven_power", [(60, 1500.0)], unit="W")
    discover(layout="ingestor")

    assert Entity.objects.get().area == "Kitchen"


def test_first_seen_only_moves_back_when_old_raw_data_was_deleted(ha_db):
    ha_db.write_entity("official", "sensor.kettle_power", [(0, 1.0), (60, 2.0)], unit="W")
    discover(layout="official")
    entity = Entity.objects.get(entity_id="sensor.kettle_power")
    earlier = at(-86400)
    Entity.objects.filter(pk=entity.pk).update(first_seen=earlier)
    assert discover(layout="official").unchanged == 1
    entity.refresh_from_db()
    assert (entity.first_seen, entity.last_seen) == (earlier, at(60))


# --- kinds beyond the demo home -------------------------------------------------------------


def test_kinds_units_and_names_in_the_official_layout(ha_db):
    write = ha_db.write_entity
    write("official", "sensor.heat_pump", [(0, 1.2)], unit="kW", friendly_name="Heat pump")
    write("official", "sensor.solar_yield", [(0, 5120.0)], unit="Wh")
    write("official", "sensor.grid", [(0, 300.0)], unit="W", measurement="sensor__power")
    write("official", "sensor.meter", [(0, 12.5)], measurement="sensor__energy")
    write("official", "sensor.humidity", [(0, 45.0)], unit="%")
    write("official", "sensor.uptime_ticks", [(0, 45.0)])  # no unit: measurement = entity id
    write("official", "sensor.washer_status", [(0, "washing"), (60, "idle")])
    write("official", "input_boolean.guest_mode", [(0, "on")])
    write("official", "switch.kettle", [(0, "off")])
    write("official", "light.desk", [(0, "on")])
    write("official", "weather.forecast_home", [(0, "rainy", {"temperature": 9.5})])
    # Not Home Assistant's: enrichment data and our own tier measurement.
    ha_db.write(
        [
            Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": 320.0}, T0, {"region": "DE"}),
            Reading("entity_aggregates", {"sample_count": 3}, T0, {"entity_id": "sensor.x",
                                                                    "kind": "power"}),
        ]
    )  # fmt: skip

    report = discover(layout="official")

    found = {e.entity_id: (e.kind, e.unit, e.measurement) for e in Entity.objects.all()}
    assert found == {
        "sensor.heat_pump": ("power", "kW", "kW"),
        "sensor.solar_yield": ("energy", "Wh", "Wh"),
        "sensor.grid": ("power", "W", "sensor__power"),
        "sensor.meter": ("energy", "", "sensor__energy"),
        "sensor.humidity": ("numeric", "%", "%"),
        "sensor.uptime_ticks": ("numeric", "", "sensor.uptime_ticks"),
        "sensor.washer_status": ("text", "", "sensor.washer_status"),
        "input_boolean.guest_mode": ("binary", "", "input_boolean.guest_mode"),
        "switch.kettle": ("binary", "", "switch.kettle"),
        "light.desk": ("binary", "", "light.desk"),
        "weather.forecast_home": ("weather", "", "weather.forecast_home"),
    }
    assert Entity.objects.get(entity_id="sensor.heat_pump").friendly_name == "Heat pump"
    assert report.created == 11


def test_an_entity_whose_unit_changed_is_one_entity_in_its_newest_measurement(ha_db):
    ha_db.write(official_readings("sensor.pump", [(0, 800.0), (60, 750.0)], unit="W"))
    ha_db.write(official_readings("sensor.pump", [(120, 0.8)], unit="kW"))
    discover(layout="official")
    pump = Entity.objects.get(entity_id="sensor.pump")
    assert (pump.kind, pump.unit, pump.measurement) == ("power", "kW", "kW")
    assert (pump.first_seen, pump.last_seen) == (at(0), at(120))


def test_ingestor_kinds_areas_and_entities_seen_only_unavailable(ha_db, ingestor_writer):
    def write(entity_id, points, **options):
        ha_db.write_entity("ingestor", entity_id, points, writer=ingestor_writer, **options)

    write("sensor.oven_power", [(0, "unavailable"), (10, 2000.0), (20, "unavailable")],
          unit="W", area="Kitchen", friendly_name="Oven power")  # fmt: skip
    write("sensor.router_speed", [(0, "unavailable")], unit="Mbit/s")
    write("sensor.mystery", [(0, "unknown")])
    write("sensor.washer_status", [(0, "washing"), (30, "unavailable")])
    write("binary_sensor.door", [(0, "off")], device_class="door", area="Hall")

    discover(layout="ingestor")

    found = {e.entity_id: (e.kind, e.unit, e.area, e.friendly_name) for e in Entity.objects.all()}
    assert found == {
        "sensor.oven_power": ("power", "W", "Kitchen", "Oven power"),
        "sensor.router_speed": ("numeric", "Mbit/s", "", ""),
        "sensor.mystery": ("text", "", "", ""),
        "sensor.washer_status": ("text", "", "", ""),
        "binary_sensor.door": ("binary", "", "Hall", ""),
    }
    oven = Entity.objects.get(entity_id="sensor.oven_power")
    assert (oven.first_seen, oven.last_seen) == (at(0), at(20))


def device_classes_discovered(layout: str) -> dict[str, str]:
    """Run discovery in `layout`; each entity it registered, with its device class."""
    discover(layout=layout)
    return dict(Entity.objects.values_list("entity_id", "device_class"))


def test_device_classes_in_the_official_layout(ha_db):
    write = ha_db.write_entity
    write("official", "binary_sensor.sofa", [(0, "on")], device_class="occupancy")
    # measurement_attr domain__device_class: HA leaves the attribute out, the name has it.
    write("official", "sensor.grid", [(0, 300.0)], unit="W", measurement="sensor__power")
    write("official", "binary_sensor.porch", [(0, "off")], measurement="binary_sensor__door")
    write("official", "sensor.heater", [(0, 2.0)], unit="kW", device_class="power")
    write("official", "binary_sensor.hall_pir", [(0, "off")])  # no device class
    write("official", "switch.kettle", [(0, "off")], measurement="switch")  # domain only

    assert device_classes_discovered("official") == {
        "binary_sensor.sofa": "occupancy",
        "sensor.grid": "power",
        "binary_sensor.porch": "door",
        "sensor.heater": "power",
        "binary_sensor.hall_pir": "",
        "switch.kettle": "",
    }


def test_device_classes_in_the_ingestor_layout(ha_db, ingestor_writer):
    def write(entity_id, points, **options):
        ha_db.write_entity("ingestor", entity_id, points, writer=ingestor_writer, **options)

    # The writer puts the device class into the tag and the attributes.
    write("binary_sensor.sofa", [(0, "on")], device_class="occupancy", area="Lounge")
    # Only the `device_class` tag (no attribute): the tag is what the ingestor layout has.
    write("binary_sensor.motion_door", [(0, "off")], extra_tags={"device_class": "door"})
    write("sensor.oven_power", [(0, 1500.0)], unit="W", device_class="power")
    write("binary_sensor.hall_pir", [(0, "off"), (10, "unavailable")])  # no device class

    assert device_classes_discovered("ingestor") == {
        "binary_sensor.sofa": "occupancy",
        "binary_sensor.motion_door": "door",
        "sensor.oven_power": "power",
        "binary_sensor.hall_pir": "",
    }


def test_layout_auto_detection(ha_db):
    ha_db.write_entity("official", "sensor.a", [(0, 1.0)], unit="W")
    assert detect_layout(ha_db.name) == "official"
    assert discover(layout="auto").layout == "official"
    ha_db.write_entity("ingestor", "sensor.b", [(0, 1.0)], unit="W")
    assert detect_layout(ha_db.name) == "ingestor"
    report = discover(layout="auto")
    assert report.layout == "ingestor" and report.created_ids == ["sensor.b"]


def test_layout_comes_from_settings_by_default(ha_db, settings):
    ha_db.write_entity("ingestor", "sensor.b", [(0, 1.0)], unit="W")
    settings.HA_LAYOUT = "ingestor"
    assert discover().created_ids == ["sensor.b"]


def test_mistakes_are_explained(ha_db):
    with pytest.raises(DiscoveryError, match="no database 'nope'.*HA_INFLUXDB_DATABASE"):
        discover(database="nope")
    with pytest.raises(DiscoveryError, match="Layout 'csv' is not known"):
        discover(layout="csv")


# --- the command ----------------------------------------------------------------------------


def test_command_prints_the_report(ha_db):
    ha_db.write_demo_home("official", days=1, entities=4, end=T0, seed=9)
    out = io.StringIO()
    call_command("discover_entities", "--layout", "auto", stdout=out)
    text = out.getvalue()
    assert f"Discovered 4 entities in {ha_db.name!r} (official layout)" in text
    assert "4 created, 0 updated, 0 unchanged" in text
    assert "binary 1, energy 1, power 1, weather 1" in text
    with pytest.raises(CommandError, match="no database 'missing'"):
        call_command("discover_entities", "--database", "missing", stdout=io.StringIO())


def test_command_imports_areas_when_asked(ha_db, settings, replay_server):
    ha_db.write_entity("official", "sensor.fridge_power", [(0, 80.0)], unit="W")
    replay_server.add("POST", "/api/template", body='[["sensor.fridge_power", "Kitchen"]]')
    settings.HA_URL, settings.HA_TOKEN = replay_server.url, "long-lived"
    out = io.StringIO()
    call_command("discover_entities", "--ha-areas", stdout=out)
    assert "1 updated" in out.getvalue()
    assert Entity.objects.get(entity_id="sensor.fridge_power").area == "Kitchen"

    settings.HA_TOKEN = ""
    with pytest.raises(CommandError, match="HA_TOKEN not set"):
        call_command("discover_entities", "--ha-areas", stdout=io.StringIO())


# --- areas from Home Assistant --------------------------------------------------------------


def make(entity_id, **fields):
    defaults = {"kind": "power", "layout": "official", "measurement": "W"}
    return Entity.objects.create(entity_id=entity_id, **{**defaults, **fields})


def test_areas_are_imported_with_one_template_call(replay_server):
    make("sensor.fridge_power")
    make("sensor.tv_power", area="Lounge")
    make("binary_sensor.hall_motion", kind="binary", area="Corridor", edited=True)
    make("sensor.oven_power", area="Kitchen")
    make("sensor.garage_power", area="Garage")  # HA knows no area for it
    pairs = [
        ["sensor.fridge_power", "Kitchen"],
        ["sensor.tv_power", "Living room"],
        ["binary_sensor.hall_motion", "Hall"],
        ["sensor.oven_power", "Kitchen"],
        ["light.not_in_influx", "Attic"],
    ]
    # Home Assistant answers a template with text/plain.
    replay_server.add("POST", "/api/template", body=json.dumps(pairs))

    report = import_ha_areas(replay_server.url + "/", "secret-token")

    areas = dict(Entity.objects.values_list("entity_id", "area"))
    assert areas == {
        "sensor.fridge_power": "Kitchen",
        "sensor.tv_power": "Living room",
        "binary_sensor.hall_motion": "Corridor",
        "sensor.oven_power": "Kitchen",
        "sensor.garage_power": "Garage",
    }
    assert (report.areas_known, report.updated, report.unchanged) == (5, 2, 1)
    assert (report.kept_edited, report.without_area) == (1, 1)
    assert "2 updated" in str(report)
    [call] = replay_server.calls("POST", "/api/template")
    assert call.headers["Authorization"] == "Bearer secret-token"
    assert call.json() == {"template": AREAS_TEMPLATE}


def test_an_entity_without_an_area_in_home_assistant_any_more_loses_it(replay_server):
    """An entity Home Assistant still has (`GET /api/states`) but in no area there is in no
    area in the registry either, unless a person set its area in the admin; one Home
    Assistant no longer has keeps its area."""
    make("binary_sensor.kitchen_motion", kind="binary", area="Kitchen")
    make("binary_sensor.hall_motion", kind="binary", area="Corridor", edited=True)
    make("sensor.garage_power", area="Garage")  # removed from Home Assistant
    make("sensor.fridge_power", area="Kitchen")
    replay_server.add(
        "POST", "/api/template", body=json.dumps([["sensor.fridge_power", "Kitchen"]])
    )
    states = ["binary_sensor.kitchen_motion", "binary_sensor.hall_motion", "sensor.fridge_power"]
    replay_server.add("GET", "/api/states", json=[{"entity_id": e, "state": "off"} for e in states])

    report = import_ha_areas(replay_server.url, "secret-token")

    # Edited in the admin, gone from Home Assistant, in an area there: kept.
    kept = {"binary_sensor.hall_motion": "Corridor", "sensor.garage_power": "Garage",
            "sensor.fridge_power": "Kitchen"}  # fmt: skip
    areas = dict(Entity.objects.values_list("entity_id", "area"))
    assert areas == {**kept, "binary_sensor.kitchen_motion": ""}
    assert (report.updated, report.unchanged, report.kept_edited) == (1, 1, 1)
    assert report.noted == {"hourly_room_activity": {"Kitchen"}}
    assert "1 updated, 1 unchanged" in str(report) and "Cleared: 1 in no area" in str(report)


def test_the_template_renders_json_pairs_with_device_areas_included():
    # Home Assistant renders templates with a sandboxed Jinja environment and these functions
    # (helpers/template.py); area_entities includes entities inheriting their device's area.
    registry = {"kitchen": ("Kitchen", ["sensor.fridge_power", 'sensor.odd"name']),
                "hall": ("Hall <1>", ["binary_sensor.hall_motion"]), "attic": ("Attic", [])}  # fmt: skip
    env = ImmutableSandboxedEnvironment()
    env.globals.update(
        areas=lambda: list(registry),
        area_entities=lambda area: registry[area][1],
        area_name=lambda area: registry[area][0],
    )
    rendered = env.from_string(AREAS_TEMPLATE).render()
    assert json.loads(rendered) == [
        ["sensor.fridge_power", "Kitchen"],
        ['sensor.odd"name', "Kitchen"],
        ["binary_sensor.hall_motion", "Hall <1>"],
    ]


def test_area_import_errors_say_what_to_fix(replay_server, settings):
    settings.HTTP_MAX_RETRIES = 0
    replay_server.add("POST", "/api/template", 401, json={"message": "Invalid authentication"})
    with pytest.raises(AreaImportError, match="refused the token.*HA_TOKEN"):
        import_ha_areas(replay_server.url, "wrong")

    replay_server.reset()
    replay_server.add("POST", "/api/template", body="<html>Login</html>")
    with pytest.raises(AreaImportError, match="expected JSON list.*HA_URL"):
        import_ha_areas(replay_server.url, "token")

    replay_server.reset()
    replay_server.add("POST", "/api/template", 400, body="Error rendering template: boom")
    with pytest.raises(AreaImportError, match="Could not read areas.*HTTP 400"):
        import_ha_areas(replay_server.url, "token")

    settings.HA_URL, settings.HA_TOKEN = "", ""
    with pytest.raises(AreaImportError, match="HA_URL and HA_TOKEN not set"):
        import_ha_areas()


# --- the admin ------------------------------------------------------------------------------


def test_admin_lists_filters_and_marks_edits(admin_client):
    fridge = make("sensor.fridge_power", friendly_name="Fridge power", unit="W")
    make("binary_sensor.hall_motion", kind="binary", measurement="binary_sensor.hall_motion")
    changelist = reverse("admin:retention_entity_changelist")

    page = admin_client.get(changelist, {"kind__exact": "power", "q": "fridge"})
    assert page.status_code == 200
    assert b"sensor.fridge_power" in page.content
    assert b"binary_sensor.hall_motion" not in page.content

    url = reverse("admin:retention_entity_change", args=[fridge.pk])
    form = {
        "entity_id": fridge.entity_id,
        "friendly_name": "Fridge power",
        "kind": "power",
        "area": "Kitchen",
        "unit": "W",
        "device_class": "power",
        "tiered": "on",
        "in_views": "on",
        "layout": "official",
        "measurement": "W",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    fridge.refresh_from_db()
    assert (fridge.area, fridge.device_class, fridge.edited) == ("Kitchen", "power", True)

    # Unticking "edited" without changing curated fields hands the row back to discovery.
    response = admin_client.post(url, form)
    fridge.refresh_from_db()
    assert fridge.edited is False


def test_a_name_set_in_the_admin_is_kept_by_discovery(ha_db, admin_client):
    """A person names a sensor so that the room activity picks it ("Hall motion": it has no
    device class); the next discovery must not put Home Assistant's name back (the sensor
    would leave the hall's activity every night)."""

    def write(at_second):
        ha_db.write_entity("ingestor", "binary_sensor.hall_sensor", [(at_second, "off")],
                           area="Hall", friendly_name="Hall sensor")  # fmt: skip

    write(0)
    discover(layout="ingestor")
    hall = Entity.objects.get(entity_id="binary_sensor.hall_sensor")
    form = {
        "entity_id": hall.entity_id,
        "friendly_name": "Hall motion",
        "kind": "binary",
        "area": "Hall",
        "unit": "",
        "device_class": "",
        "tiered": "on",
        "in_views": "on",
        "layout": "ingestor",
        "measurement": "home_assistant_events",
    }
    response = admin_client.post(reverse("admin:retention_entity_change", args=[hall.pk]), form)
    assert response.status_code == 302, response.content[:2000]
    hall.refresh_from_db()
    assert (hall.friendly_name, hall.edited) == ("Hall motion", True)

    write(60)
    discover(layout="ingestor")
    hall.refresh_from_db()
    assert (hall.friendly_name, hall.last_seen) == ("Hall motion", at(60))


@pytest.mark.django_db
def test_the_daily_task_registers_new_entities(ha_db, caplog):
    from config.schedule import SCHEDULE
    from retention.entities.tasks import discover_entities

    ha_db.write_demo_home("official", days=1, entities=5, end=T0, seed=2)
    result = discover_entities.run()
    assert result["created"] == 5 and Entity.objects.count() == 5
    assert discover_entities.run()["created"] == 0
    entry = next(e for e in SCHEDULE if e.task == "retention.discover_entities")
    assert (entry.queue, entry.crontab) == ("retention", "30 1 * * *")  # before the 02:00 tier run


@pytest.mark.django_db
def test_the_daily_task_fails_on_a_missing_database_and_logs_it(settings, caplog):
    """A discovery that cannot run is a failed task (Flower and the result say so), not a
    success carrying an error; a missing database is not retried."""
    from retention.entities.discovery import DiscoveryError
    from retention.entities.tasks import discover_entities

    settings.HA_INFLUXDB_DATABASE = "no_such_ha_database"
    result = discover_entities.apply()
    assert result.state == "FAILURE" and isinstance(result.result, DiscoveryError)
    assert "no_such_ha_database" in str(result.result)
    assert result.info is result.result and discover_entities.request.retries == 0
    assert any(
        r.levelname == "ERROR" and "no_such_ha_database" in r.getMessage() for r in caplog.records
    )
    assert not any("retry" in r.getMessage() for r in caplog.records)
