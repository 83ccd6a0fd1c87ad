"""The materialized views follow the entity registry's edits in the admin: a superuser edits
an entity (its form, or several rows of the list), the save queues the follow-up on the
retention queue, a real worker runs it, and the rows are what they would be computed from
scratch. With the broker out of reach the save still succeeds and the next refresh follows.

The data lies in the last days before the real now: the worker computes up to its own now.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from config.celery import app
from enrich.redis.client import get_redis
from retention.models import (
    DailyEnergyByDevice,
    Entity,
    HourlyRoomActivity,
    RetentionRun,
    ViewFollowUp,
)
from retention.rollups.materialized import (
    ACTIVITY,
    ENERGY,
    rebuild_view,
    refresh_view,
    view_lock_key,
)
from retention.rollups.tasks import rebuild
from tests.retention.conftest import HaDatabase
from tests.support.entities import save
from tests.support.views_follow import (
    DAY,
    MARKS,
    activity,
    computed_at,
    days_through_today,
    edit_in_the_admin,
    energy,
    finished,
    follow_ups,
    kitchen_and_office,
    shown,
    worker_env,
)
from tests.support.worker import celery_worker

pytestmark = MARKS


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def edit_in_the_list(client, edits: dict[Entity, dict]) -> list[str]:
    """Save several rows of the entity list at once (its editable columns)."""
    data = {"form-TOTAL_FORMS": str(len(edits)), "form-INITIAL_FORMS": str(len(edits)),
            "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000", "_save": "Save"}  # fmt: skip
    for index, (entity, changes) in enumerate(edits.items()):
        prefix = f"form-{index}-"
        data[prefix + "id"] = str(entity.pk)
        for name in ("kind", "area", "unit", "device_class"):
            data[prefix + name] = changes.get(name, getattr(entity, name))
        if changes.get("tiered", entity.tiered):
            data[prefix + "tiered"] = "on"
    page = client.post(reverse("admin:retention_entity_changelist"), data, follow=True)
    assert page.status_code == 200 and page.redirect_chain, page.content.decode()[:2000]
    return shown(page)


# --- A motion sensor moved to another room -----------------------------------------------------
@pytest.fixture
def rooms(ha_db: HaDatabase, enrich_db: str) -> dict[str, Entity]:
    """A kitchen with a motion sensor (on 10:10-10:30 and 12:00-12:15 on DAY) and a presence
    sensor reporting from 11:00 (on 12:30-12:45); an office with a motion sensor (on
    10:40-10:50); the views computed."""

    found = kitchen_and_office(ha_db, DAY)
    found["moved"], found["stays"] = found["kitchen_motion"], found["kitchen_presence"]
    found["office"] = found["office_motion"]
    refresh_view(ACTIVITY)
    assert activity("kitchen")[at(10)] == (1, round(20 / 60, 9))
    assert activity("kitchen")[at(12)] == (2, round(30 / 60, 9))  # 12:00-12:15 + 12:30-12:45
    assert activity("office")[at(10)] == (1, round(10 / 60, 9))
    return found


def test_moving_a_motion_sensor_to_another_room_in_the_admin_moves_its_activity(
    admin_client, rooms, ha_db, enrich_db, settings
):
    kitchen_before = activity("kitchen")

    said = edit_in_the_admin(admin_client, rooms["moved"], area="office")

    [run] = follow_ups()  # queued on commit; no worker has run it yet
    assert run.status == "running" and run.details["view"] == ACTIVITY
    assert run.details["queued_by"] == "admin"
    assert any(
        "The views follow the edit: the rows of hourly_room_activity (areas kitchen, office) "
        f"are computed again on the retention worker in run {run.pk}." in message
        for message in said
    ), said
    assert Entity.objects.get(pk=rooms["moved"].pk).area == "office"

    with celery_worker("follow-area", **worker_env(ha_db, enrich_db, settings)) as worker:
        run = finished(run.pk, worker)

    assert run.status == "ok", run.errors
    office, kitchen = activity("office"), activity("kitchen")
    # 10:xx in the office: the moved sensor on 10:10-10:30, the office's own 10:40-10:50.
    assert office[at(10)] == (2, round(30 / 60, 9))  # was (1, 10 min)
    assert office[at(12)] == (1, round(15 / 60, 9))  # was (0, 0): the moved sensor's 12:00
    # The kitchen keeps only the presence sensor, known from 11:00: its hours before are gone.
    assert at(10) not in kitchen and min(kitchen) == at(11)
    assert kitchen[at(12)] == (1, round(15 / 60, 9))  # was (2, 30 min)
    assert sum(count for count, _ in kitchen.values()) == 1  # was 3
    assert sum(count for count, _ in office.values()) == 3  # was 1
    # The kitchen's hours from 23:00 the day before to 10:00 were the moved sensor's alone
    # (the worker's hours go on to its own now: the hour running at the refresh is whole if
    # an hour ended between them).
    assert run.records_deleted == 12
    assert set(kitchen_before) - set(kitchen) == {at(hour) for hour in range(-1, 11)}
    assert run.details["edits"] == ["binary_sensor.kitchen_motion: area 'kitchen' -> 'office'"]
    assert ViewFollowUp.objects.count() == 0
    assert [r.details["view"] for r in follow_ups()] == [ACTIVITY]  # the energy view: no run

    # The same rows as computed from scratch, up to the same moment (an hour may have ended).
    followed = {area: activity(area) for area in ("kitchen", "office")}
    HourlyRoomActivity.objects.all().delete()
    moment = computed_at(run)
    rebuild_view(ACTIVITY, DAY.date() - timedelta(days=1), moment.date(), now=moment)
    assert {area: activity(area) for area in ("kitchen", "office")} == followed


# --- Kind and unit edits in the list, several in a row ----------------------------------------
def test_kind_and_unit_edits_in_the_list_recompute_the_energy_rows_in_one_run(
    admin_client, ha_db: HaDatabase, enrich_db: str, settings
):
    def meter(entity_id: str, points: list, unit: str, kind: str) -> Entity:
        return ha_db.saved_entity("official", entity_id, points, unit=unit, kind=kind)

    heater = meter("sensor.heater_power", [(at(0), 2)], "W", "power")  # it reports kW
    kettle = meter("sensor.kettle_power", [(at(0), 1)], "W", "power")  # kW too
    pump = meter("sensor.pump_power", [(at(0), 500)], "W", "numeric")  # discovery's guess
    forecast = meter("sensor.solar_forecast_energy", [(at(0), 5.0), (at(30), 9.0)], "kWh",
                     "energy")  # a forecast, not a meter  # fmt: skip
    fridge = meter("sensor.fridge_power", [(at(0), 100)], "W", "power")
    refreshed = refresh_view(ENERGY)
    days = (DAY.date(), DAY.date() + timedelta(days=1))
    before = energy()
    assert [before[("sensor.heater_power", d)] for d in days] == [0.048, 0.048]
    assert ("sensor.pump_power", days[0]) not in before
    assert before[("sensor.solar_forecast_energy", days[1])] == 4.0

    said = edit_in_the_list(
        admin_client,
        {
            heater: {"unit": "kW"},
            pump: {"kind": "power"},
            forecast: {"kind": "numeric"},
            fridge: {"tiered": False},  # nothing the views read
        },
    )
    # Another edit right after, before any worker took the first up: the same run.
    again = edit_in_the_admin(admin_client, kettle, unit="kW")

    [run] = follow_ups()
    listed = "sensor.heater_power, sensor.pump_power, sensor.solar_forecast_energy"
    assert any(
        f"daily_energy_by_device (entities {listed}) are computed again on the retention "
        f"worker in run {run.pk}." in message
        for message in said
    ), said
    assert any(
        f"(entities sensor.kettle_power) are computed again on the retention worker in run "
        f"{run.pk} (queued by an earlier edit, not started yet)." in message
        for message in again
    ), again

    with celery_worker("follow-energy", **worker_env(ha_db, enrich_db, settings)) as worker:
        run = finished(run.pk, worker)

    assert run.status == "ok", run.errors
    after = energy()
    assert [after[("sensor.heater_power", d)] for d in days] == [48.0, 48.0]  # 2 kW all day
    assert [after[("sensor.kettle_power", d)] for d in days] == [24.0, 24.0]
    assert [after[("sensor.pump_power", d)] for d in days] == [12.0, 12.0]
    assert not DailyEnergyByDevice.objects.filter(entity_id="sensor.solar_forecast_energy")
    assert [after[("sensor.fridge_power", d)] for d in days] == [2.4, 2.4]  # untouched
    # The forecast's rows, its partial one too, as the refresh wrote them (a midnight may
    # have passed since, while the worker started).
    assert run.records_deleted == days_through_today(DAY.date(), refreshed)
    assert sorted(run.details["parts"]) == [
        "sensor.heater_power", "sensor.kettle_power", "sensor.pump_power",
        "sensor.solar_forecast_energy",
    ]  # fmt: skip
    assert [r.pk for r in follow_ups()] == [run.pk] and not ViewFollowUp.objects.exists()


def test_an_edit_that_changes_nothing_the_views_read_queues_nothing(
    admin_client, ha_db: HaDatabase, enrich_db: str
):
    fridge = ha_db.saved_entity("official", "sensor.fridge_power", [(at(0), 100)], unit="W",
                                kind="power")  # fmt: skip
    motion = ha_db.write_entity("official", "binary_sensor.hall_motion", [(at(0), "off")],
                                kind="binary")  # fmt: skip
    motion.device_class = "motion"
    save(motion, at(0), area="hall")

    said = edit_in_the_admin(
        admin_client, fridge, tiered=False, friendly_name="Fridge", unit="", area="kitchen"
    )
    said += edit_in_the_admin(admin_client, motion, friendly_name="Hall", tiered=False)

    assert Entity.objects.get(pk=fridge.pk).area == "kitchen"
    assert not ViewFollowUp.objects.exists() and not RetentionRun.objects.exists()
    assert not [message for message in said if "views" in message], said


# --- The broker out of reach, the view busy ---------------------------------------------------
@pytest.mark.usefixtures("broker_down")
def test_with_the_broker_out_of_reach_the_edit_is_saved_and_the_next_refresh_follows_it(
    admin_client, rooms, caplog
):
    with caplog.at_level(logging.WARNING, logger="retention.rollups.tasks"):
        said = edit_in_the_admin(admin_client, rooms["moved"], area="office")

    assert Entity.objects.get(pk=rooms["moved"].pk).area == "office"
    [warning] = [message for message in said if "views" in message]
    [run] = follow_ups()
    # The broker's error named its address ("Error 111 connecting to 127.0.0.1:…"): the run's
    # record and the server log keep it, the message says what failed and where to look.
    assert (
        "Saved, but the views cannot follow the edit now (The task could not be queued: Redis, "
        "the Celery broker, does not take it (it is down, starting, or refuses the connection); "
        f"run {run.pk} is recorded failed, and the server log names the address tried and the "
        "error)." in warning
    ), warning
    address = app.conf.broker_url.removeprefix("redis://").split("/")[0]  # 127.0.0.1:<port>
    assert address.split(":")[1] not in warning and "127.0.0.1" not in warning, warning
    assert address in run.errors and any(address in r.getMessage() for r in caplog.records)
    assert (
        "Their rows of hourly_room_activity (areas kitchen, office) are computed again at the "
        "next refresh of the views" in warning
    )
    assert "at once by manage.py refresh_views once Redis, the Celery broker, is running" in (
        warning
    )
    assert run.status == "failed" and "the next refresh of the view takes them up" in run.errors
    assert sorted(ViewFollowUp.objects.values_list("key", flat=True)) == ["kitchen", "office"]

    printed = StringIO()
    call_command("refresh_views", ACTIVITY, stdout=printed)  # what the message says

    [_, followed] = follow_ups()
    assert (
        f"entity edits followed in run {followed.pk}: ok, {followed.records_processed} rows "
        "written, 12 deleted" in printed.getvalue()
    )

    assert activity("office")[at(10)] == (2, round(30 / 60, 9))
    assert at(10) not in activity("kitchen")
    assert follow_ups()[-1].status == "ok" and not ViewFollowUp.objects.exists()


def test_edits_a_busy_view_could_not_follow_are_queued_when_it_is_free(
    admin_client, rooms, ha_db, enrich_db, settings
):
    busy = get_redis().lock(view_lock_key(ACTIVITY), timeout=120)
    assert busy.acquire(blocking=False)  # a rebuild of the view is running
    try:
        edit_in_the_admin(admin_client, rooms["moved"], area="office")
        [first] = follow_ups()
        with celery_worker("follow-busy", **worker_env(ha_db, enrich_db, settings)) as worker:
            first = finished(first.pk, worker)
            assert first.status == "skipped" and "the edits stay noted" in first.errors
            assert ViewFollowUp.objects.count() == 2
            assert activity("kitchen")[at(10)] == (1, round(20 / 60, 9))  # not followed yet
            busy.release()
            # The rebuild ends (here in this process, as the worker runs it) and, the view
            # free, queues the edits noted meanwhile.
            day = DAY.date().isoformat()
            assert rebuild.apply(kwargs={"name": ACTIVITY, "start": day, "end": day}).get()
            [_, second] = follow_ups()
            assert second.details["queued_by"].startswith("retention worker")
            second = finished(second.pk, worker)
    finally:
        if busy.owned():
            busy.release()

    assert second.status == "ok" and not ViewFollowUp.objects.exists()
    assert activity("office")[at(10)] == (2, round(30 / 60, 9))
    assert at(10) not in activity("kitchen")
