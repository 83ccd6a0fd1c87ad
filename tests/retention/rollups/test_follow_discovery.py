"""The materialized views follow the changes that discovery and the import of Home Assistant's
areas make to registered entities (nobody edits them in the admin): the changes are noted
with them, one follow-up per view is queued at the end, the command's output and the task's
result name it, a real worker runs it, and the rows are what the new registry gives. With the
broker out of reach the discovery still succeeds and the next refresh follows.

Home Assistant's data is written in the official layout to a real InfluxDB, in the last days
before the real now (the worker computes up to its own now).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from retention.entities.discovery import discover
from retention.entities.tasks import discover_entities
from retention.models import DailyEnergyByDevice, Entity, HourlyRoomActivity, ViewFollowUp
from retention.rollups.materialized import ACTIVITY, ENERGY, rebuild_view, refresh_view
from retention.timeutil import floor_day
from tests.retention.conftest import HaDatabase
from tests.support.views_follow import (
    activity,
    computed_at,
    energy,
    finished,
    follow_ups,
    worker_env,
)
from tests.support.worker import celery_worker

pytestmark = [
    pytest.mark.influxdb,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_queues"),
]

DAY = floor_day(datetime.now(UTC)) - timedelta(days=2)  # two whole UTC days before today
AREAS = ("Hall", "Kitchen", "Office")


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def motion(ha_db: HaDatabase, entity_id: str, points: list, device_class: str = "motion"):
    """A binary sensor's states as Home Assistant's InfluxDB integration writes them."""
    ha_db.write_entity("official", entity_id, points, device_class=device_class)


def ha_areas(replay_server, settings, areas: dict[str, str]) -> None:
    """Home Assistant's answer to the areas template: these entities in these areas."""
    replay_server.reset()
    replay_server.add("POST", "/api/template", body=json.dumps([*areas.items()]))
    settings.HA_URL, settings.HA_TOKEN = replay_server.url, "long-lived"


def discover_with_ha_areas() -> str:
    printed = StringIO()
    call_command("discover_entities", "--layout", "official", "--ha-areas", stdout=printed)
    return printed.getvalue()


def registered_long_ago() -> None:
    """The entities were discovered days ago, as the daily discovery does: not new to the
    refresh (which fills the history of entities discovered since its previous run)."""
    Entity.objects.update(discovered=at(-24))


def all_activity() -> dict[str, dict]:
    return {area: activity(area) for area in AREAS}


# --- Areas imported from Home Assistant -------------------------------------------------------
@pytest.fixture
def rooms(ha_db: HaDatabase, enrich_db: str, settings, replay_server) -> None:
    """A hall motion sensor without an area (on 10:10-10:30 on DAY) next to a presence sensor
    in the Hall reporting from 11:00 (on 12:30-12:45); a kitchen motion sensor in the Kitchen
    (on 12:00-12:15); an office motion sensor in the Office (on 10:40-10:50). Discovered, the
    areas imported from Home Assistant, the views computed."""
    motion(ha_db, "binary_sensor.hall_motion", [(at(-1 / 6), "off"), (at(10 + 1 / 6), "on"),
                                                (at(10.5), "off")])  # fmt: skip
    motion(ha_db, "binary_sensor.hall_presence", [(at(11), "off"), (at(12.5), "on"),
                                                  (at(12.75), "off")], "presence")  # fmt: skip
    motion(ha_db, "binary_sensor.kitchen_motion", [(at(-1 / 6), "off"), (at(12), "on"),
                                                   (at(12.25), "off")])  # fmt: skip
    motion(ha_db, "binary_sensor.office_motion", [(at(-1 / 6), "off"), (at(10 + 2 / 3), "on"),
                                                  (at(10 + 5 / 6), "off")])  # fmt: skip
    ha_areas(replay_server, settings, {"binary_sensor.hall_presence": "Hall",
             "binary_sensor.kitchen_motion": "Kitchen", "binary_sensor.office_motion": "Office"})  # fmt: skip
    discover_with_ha_areas()  # all new: nothing to follow yet
    assert not follow_ups() and not ViewFollowUp.objects.exists()
    registered_long_ago()
    refresh_view(ACTIVITY)
    rows = all_activity()
    assert min(rows["Hall"]) == at(11) and at(10) not in rows["Hall"]  # hall_motion: no area
    assert rows["Kitchen"][at(12)] == (1, 0.25)
    assert rows["Office"][at(10)] == (1, round(10 / 60, 9)) and rows["Office"][at(12)] == (0, 0)


MOVED = {  # the hall sensor given its room in Home Assistant, the kitchen's moved to the office
    "binary_sensor.hall_motion": "Hall",
    "binary_sensor.hall_presence": "Hall",
    "binary_sensor.kitchen_motion": "Office",
    "binary_sensor.office_motion": "Office",
}


@pytest.mark.usefixtures("rooms")
def test_areas_imported_from_home_assistant_move_the_sensors_activity(
    ha_db, enrich_db, settings, replay_server
):
    kitchen_rows = HourlyRoomActivity.objects.filter(area="Kitchen").count()
    ha_areas(replay_server, settings, MOVED)

    printed = discover_with_ha_areas()

    [run] = follow_ups()  # one, at the end of the import; discovery changed nothing
    assert run.status == "running" and run.details["view"] == ACTIVITY
    assert run.details["queued_by"] == "area import from Home Assistant"
    assert "0 created, 0 updated, 4 unchanged" in printed
    assert "2 updated, 2 unchanged" in printed
    assert (
        "The views follow the changes: the rows of hourly_room_activity (areas Hall, Kitchen, "
        f"Office) are computed again on the retention worker in run {run.pk}." in printed
    ), printed
    assert Entity.objects.get(entity_id="binary_sensor.kitchen_motion").area == "Office"

    with celery_worker("follow-areas", **worker_env(ha_db, enrich_db, settings)) as worker:
        run = finished(run.pk, worker)

    assert run.status == "ok", run.errors
    rows = all_activity()
    # The hall sensor's morning now counts in the Hall, from its first state (23:50 the day
    # before): the Hall had rows only from the presence sensor's 11:00.
    assert rows["Hall"][at(10)] == (1, round(20 / 60, 9))  # was no row
    assert min(rows["Hall"]) == at(-1) and rows["Hall"][at(12)] == (1, 0.25)  # presence kept
    assert sum(count for count, _ in rows["Hall"].values()) == 2  # was 1
    # The kitchen sensor's 12:00-12:15 is in the Office; the Kitchen has no sensor left.
    assert rows["Office"][at(12)] == (1, 0.25)  # was (0, 0)
    assert rows["Office"][at(10)] == (1, round(10 / 60, 9))
    assert sum(count for count, _ in rows["Office"].values()) == 2  # was 1
    assert not HourlyRoomActivity.objects.filter(area="Kitchen").exists()
    assert run.records_deleted == kitchen_rows
    assert sorted(run.details["edits"]) == [
        "binary_sensor.hall_motion: area '' -> 'Hall'",
        "binary_sensor.kitchen_motion: area 'Kitchen' -> 'Office'",
    ]
    assert not ViewFollowUp.objects.exists()

    # The same rows as computed from scratch, up to the same moment (an hour may have ended).
    HourlyRoomActivity.objects.all().delete()
    moment = computed_at(run)
    rebuild_view(ACTIVITY, DAY.date() - timedelta(days=1), moment.date(), now=moment)
    assert all_activity() == rows

    # Once more: nothing changes, nothing is queued.
    printed = discover_with_ha_areas()
    assert "0 updated, 4 unchanged" in printed and "views" not in printed
    assert len(follow_ups()) == 1 and not ViewFollowUp.objects.exists()


@pytest.mark.usefixtures("rooms", "broker_down")
def test_with_the_broker_out_of_reach_discovery_succeeds_and_the_next_refresh_follows(
    settings, replay_server
):
    ha_areas(replay_server, settings, MOVED)

    printed = discover_with_ha_areas()  # no error

    assert Entity.objects.get(entity_id="binary_sensor.kitchen_motion").area == "Office"
    assert "The views cannot follow the changes now (The task could not be queued: " in printed, (
        printed
    )
    assert (
        "their rows of hourly_room_activity (areas Hall, Kitchen, Office) are computed again at "
        "the next refresh of the views" in printed
    )
    [run] = follow_ups()
    assert run.status == "failed" and "the next refresh of the view takes them up" in run.errors
    assert sorted(ViewFollowUp.objects.values_list("key", flat=True)) == [
        "Hall",
        "Kitchen",
        "Office",
    ]

    printed = StringIO()
    call_command("refresh_views", ACTIVITY, stdout=printed)

    [_, followed] = follow_ups()
    assert followed.status == "ok" and f"entity edits followed in run {followed.pk}: ok" in (
        printed.getvalue()
    )
    rows = all_activity()
    assert rows["Hall"][at(10)] == (1, round(20 / 60, 9))
    assert rows["Office"][at(12)] == (1, 0.25)
    assert not HourlyRoomActivity.objects.filter(area="Kitchen").exists()
    assert not ViewFollowUp.objects.exists()


# --- The daily discovery: a unit and a device class changed in Home Assistant ----------------
def test_the_daily_discovery_follows_a_new_unit_and_a_new_device_class(
    ha_db: HaDatabase, enrich_db: str, settings
):
    settings.HA_LAYOUT = "official"
    # A heater reporting 800 W; a hall sensor without a device class (its name says nothing)
    # on 10:10-10:30, in the Hall with a presence sensor reporting from 11:00 (on 12:30-12:45).
    ha_db.write_entity("official", "sensor.heater_power", [(at(0), 800)], unit="W")
    motion(ha_db, "binary_sensor.hall_sensor", [(at(-1 / 6), "off"), (at(10 + 1 / 6), "on"),
                                                (at(10.5), "off")], device_class="")  # fmt: skip
    motion(ha_db, "binary_sensor.hall_presence", [(at(11), "off"), (at(12.5), "on"),
                                                  (at(12.75), "off")], "presence")  # fmt: skip
    discover()
    Entity.objects.filter(entity_id__startswith="binary_sensor.hall").update(area="Hall")
    registered_long_ago()
    refresh_view(ENERGY)
    refresh_view(ACTIVITY)
    days = (DAY.date(), DAY.date() + timedelta(days=1))
    assert [energy()[("sensor.heater_power", d)] for d in days] == [19.2, 19.2]
    assert at(10) not in activity("Hall")  # the hall sensor does not count: no device class

    # In Home Assistant the heater's unit was set to kW at DAY+1 00:00: its states from then
    # go to the measurement "kW", 2 kW. The hall sensor is given the device class motion. A
    # kettle is new.
    ha_db.write_entity("official", "sensor.heater_power", [(at(24), 2.0)], unit="kW")
    motion(ha_db, "binary_sensor.hall_sensor", [(at(30), "off")])
    ha_db.write_entity("official", "sensor.kettle_power", [(at(0), 0)], unit="W")

    result = discover_entities.apply().get()

    assert result["created_ids"] == ["sensor.kettle_power"] and result["updated"] == 2
    runs = {run.details["view"]: run for run in follow_ups()}
    assert result["views_follow"] == [
        {"view": ENERGY, "keys": ["sensor.heater_power"], "run": runs[ENERGY].pk,
         "waiting": False, "error": ""},
        {"view": ACTIVITY, "keys": ["Hall"], "run": runs[ACTIVITY].pk, "waiting": False,
         "error": ""},
    ]  # fmt: skip
    assert runs[ENERGY].details["queued_by"] == "entity discovery"
    heater = Entity.objects.get(entity_id="sensor.heater_power")
    assert (heater.unit, heater.measurement, heater.first_seen) == ("kW", "kW", at(0))

    with celery_worker("follow-discovery", **worker_env(ha_db, enrich_db, settings)) as worker:
        runs = {view: finished(run.pk, worker) for view, run in runs.items()}

    assert [run.status for run in runs.values()] == ["ok", "ok"], [r.errors for r in runs.values()]
    after = energy()
    # DAY was read from the "W" measurement and stays; DAY+1 is the kW states' 2 kW, no longer
    # the 800 W held on from DAY.
    assert [after[("sensor.heater_power", d)] for d in days] == [19.2, 48.0]
    today = DailyEnergyByDevice.objects.get(entity_id="sensor.heater_power", partial=True)
    assert today.avg_power == pytest.approx(2000.0)  # W, was 800
    assert runs[ENERGY].details["edits"] == [
        "sensor.heater_power: unit 'W' -> 'kW', measurement 'W' -> 'kW'"
    ]
    hall = activity("Hall")
    assert hall[at(10)] == (1, round(20 / 60, 9)) and min(hall) == at(-1)  # was no row
    assert hall[at(12)] == (1, 0.25)
    assert runs[ACTIVITY].details["edits"] == [
        "binary_sensor.hall_sensor: device_class '' -> 'motion'"
    ]
    assert not ViewFollowUp.objects.exists()
