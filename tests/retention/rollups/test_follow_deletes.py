"""The materialized views follow the deletion of entities: a superuser deletes an entity in the
admin (its delete page, or several with the bulk action), the delete queues the follow-up on
the retention queue, and the follow-up (run here in the test's process, as the worker runs
it: tests/retention/rollups/test_follow_edits.py runs the same task on a real worker) deletes
the entity's own rows and computes its area's again without it. A delete in code is noted
as well and followed by the next refresh.

Keeping an entity out of the views (its switch "count in the views", or the list action) is
followed the same way, and it stays out: discovery leaves the switch as it is, the refresh
and the rebuild skip the entity, retention still tiers it; counted again, it is back.

The data lies in the last days before the real now: the follow-up computes up to its own now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from retention.admin import COUNTED_AGAIN, KEPT_OUT, REDISCOVERED
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.models import DailyEnergyByDevice, Entity, HourlyRoomActivity, TierChunk
from retention.models import ViewFollowUp as FollowUp
from retention.rollups.materialized import ACTIVITY, ENERGY, rebuild_view, refresh_view
from retention.rollups.tasks import follow_view_edits
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import HaDatabase
from tests.support.entities import save
from tests.support.views_follow import (
    DAY,
    MARKS,
    activity,
    clear_of_an_hour_end,
    days_through_today,
    edit_in_the_admin,
    energy,
    follow_ups,
    kitchen_and_office,
    shown,
)

pytestmark = MARKS

BEFORE = (DAY - timedelta(days=1)).date()  # the last day retention reduced to daily rows
DAYS = (BEFORE, DAY.date(), DAY.date() + timedelta(days=1))  # the whole days of the rows


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


@pytest.fixture
def home(ha_db: HaDatabase, enrich_db: str) -> dict[str, Entity]:
    """The kitchen's kettle at 1 kW from the day BEFORE on, registered twice (a duplicate
    sensor), a fridge at 100 W in the pantry; in the kitchen a motion sensor (on 10:10-10:30
    and 12:00-12:15 on DAY) and a presence sensor reporting from 11:00 (on 12:30-12:45), in
    the office a motion sensor (on 10:40-10:50). The views computed; then retention replaced
    the hours of the day BEFORE by daily aggregates (the follow-up's horizon is DAY). Not in
    an hour's last minute: the test compares rows computed at several moments, each up to its
    own now, and counts the days up to today."""
    clear_of_an_hour_end()

    def meter(entity_id: str, watts: float, area: str) -> Entity:
        entity = ha_db.write_entity("official", entity_id, [(at(-24), watts)], unit="W",
                                    kind="power")  # fmt: skip
        return save(entity, at(-24), area=area)

    found = {
        "kettle": meter("sensor.kettle_power", 1000, "kitchen"),
        "duplicate": meter("sensor.kettle_plug_power", 1000, "kitchen"),
        "fridge": meter("sensor.fridge_power", 100, "pantry"),
        **kitchen_and_office(ha_db, DAY),
    }
    refresh_view(ENERGY)
    refresh_view(ACTIVITY)
    assert [kitchen_kwh(day) for day in DAYS] == [48.0, 48.0, 48.0]  # the kettle counted twice
    assert activity("kitchen")[at(10)] == (1, round(20 / 60, 9))
    assert activity("kitchen")[at(12)] == (2, round(30 / 60, 9))  # 12:00-12:15 + 12:30-12:45
    assert activity("office")[at(-1)] == (0, 0)  # 23:00 the day BEFORE: known off
    TierChunk.objects.create(tier="daily", day=BEFORE, state="deleted")
    return found


def kitchen_kwh(day) -> float:
    """The kitchen's energy of a whole day as the view gives it: the sum over the rows of the
    kitchen's meters (the kettle's two sensors)."""
    meters = ("sensor.kettle_power", "sensor.kettle_plug_power")
    rows = DailyEnergyByDevice.objects.filter(date=day, entity_id__in=meters)
    return round(sum(rows.values_list("total_kwh", flat=True)), 9)


def rows_of(entity_id: str) -> int:
    return DailyEnergyByDevice.objects.filter(entity_id=entity_id).count()


def follow(run_id: int, view: str):
    """The queued follow-up, run as the retention worker runs it; its run."""
    follow_view_edits.apply(kwargs={"name": view, "run_id": run_id}).get()
    return next(run for run in follow_ups() if run.pk == run_id)


def test_deleting_a_duplicate_power_sensor_in_the_admin_deletes_its_rows(admin_client, home):
    before = energy()
    assert rows_of("sensor.kettle_plug_power") == days_through_today(BEFORE)  # and today's

    url = reverse("admin:retention_entity_delete", args=[home["duplicate"].pk])
    page = admin_client.post(url, {"post": "yes"}, follow=True)

    assert page.status_code == 200 and page.redirect_chain, page.content.decode()[:2000]
    said = shown(page)
    [run] = follow_ups()  # queued on commit; the energy view only
    assert run.status == "running" and run.details["view"] == ENERGY
    assert (
        "The views follow the deletion: the rows of daily_energy_by_device (entities "
        f"sensor.kettle_plug_power) are deleted on the retention worker in run {run.pk}."
    ) in said, said
    assert REDISCOVERED in said  # the next discovery registers it again
    [noted] = FollowUp.objects.all()
    assert (noted.key, noted.deleted, noted.edit) == (
        "sensor.kettle_plug_power",
        True,
        "sensor.kettle_plug_power: deleted",
    )

    run = follow(run.pk, ENERGY)

    assert run.status == "ok", run.errors
    assert run.details["edits"] == ["sensor.kettle_plug_power: deleted"]
    # All its rows go, the day before the horizon too: nothing computes them any more.
    assert rows_of("sensor.kettle_plug_power") == 0
    assert run.records_deleted == days_through_today(BEFORE)
    assert [kitchen_kwh(day) for day in DAYS] == [24.0, 24.0, 24.0]  # was 48 each day
    after = energy()
    assert after == {k: v for k, v in before.items() if k[0] != "sensor.kettle_plug_power"}
    assert after[("sensor.fridge_power", DAYS[1])] == 2.4  # untouched
    assert not FollowUp.objects.exists()
    # The view's API answers for the entity that is gone, without its rows.
    answer = admin_client.get(
        "/api/views/daily_energy_by_device", {"entity_id": "sensor.kettle_plug_power"}
    )
    assert answer.status_code == 200 and answer.json()["count"] == 0


def test_deleting_sensors_and_a_meter_with_the_bulk_action_follows_both_views(admin_client, home):
    office_rows = HourlyRoomActivity.objects.filter(area="office").count()
    kitchen_before = activity("kitchen")
    chosen = [home[name].pk for name in ("kitchen_motion", "office_motion", "fridge")]

    page = admin_client.post(
        reverse("admin:retention_entity_changelist"),
        {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        follow=True,
    )

    assert page.status_code == 200, page.content.decode()[:2000]
    said = shown(page)
    assert "Successfully deleted 3 entities." in said, said
    energy_run, activity_run = follow_ups()  # one per view, sorted by view name
    assert (energy_run.details["view"], activity_run.details["view"]) == (ENERGY, ACTIVITY)
    assert (
        "The views follow the deletion: the rows of hourly_room_activity (areas kitchen, "
        f"office) are computed again on the retention worker in run {activity_run.pk}."
    ) in said, said
    assert (
        "The views follow the deletion: the rows of daily_energy_by_device (entities "
        f"sensor.fridge_power) are deleted on the retention worker in run {energy_run.pk}."
    ) in said, said

    energy_run, activity_run = follow(energy_run.pk, ENERGY), follow(activity_run.pk, ACTIVITY)

    assert (energy_run.status, activity_run.status) == ("ok", "ok"), activity_run.errors
    assert rows_of("sensor.fridge_power") == 0
    assert rows_of("sensor.kettle_power") == days_through_today(BEFORE)
    # The office had no other sensor: all its hours go, also before the horizon.
    assert activity("office") == {} and not HourlyRoomActivity.objects.filter(area="office")
    # The kitchen keeps the presence sensor, known from 11:00: its hours from the horizon to
    # 11:00 were the motion sensor's alone and go; 23:00 the day before the horizon cannot
    # be computed again (only a daily aggregate is left) and stays as it was.
    kitchen = activity("kitchen")
    assert at(10) not in kitchen and kitchen[at(12)] == (1, round(15 / 60, 9))  # was (2, 30 m)
    assert kitchen[at(-1)] == kitchen_before[at(-1)] and min(kitchen) == at(-1)
    assert [hour for hour in kitchen if hour < at(11)] == [at(-1)]
    assert sum(count for count, _ in kitchen.values()) == 1  # was 3
    assert activity_run.records_deleted == office_rows + 11  # and the kitchen's 00:00-10:00
    assert not FollowUp.objects.exists()

    # From the horizon on, the same rows as computed from scratch.
    HourlyRoomActivity.objects.filter(hour__gte=DAY).delete()
    rebuild_view(ACTIVITY, DAY.date(), datetime.now(UTC).date())
    assert {h: v for h, v in activity("kitchen").items() if h >= DAY} == {
        h: v for h, v in kitchen.items() if h >= DAY
    }
    assert activity("office") == {}


def test_an_entity_deleted_in_code_is_followed_by_the_next_refresh(home):
    Entity.objects.filter(entity_id__in=["sensor.kettle_plug_power", "sensor.fridge_power"]
                          ).delete()  # fmt: skip

    assert not follow_ups()  # nothing queued outside the admin, but noted with the delete
    assert sorted(FollowUp.objects.values_list("key", "deleted")) == [
        ("sensor.fridge_power", True), ("sensor.kettle_plug_power", True)
    ]  # fmt: skip
    assert rows_of("sensor.kettle_plug_power") == days_through_today(BEFORE)

    refresh_view(ENERGY)

    [run] = follow_ups()
    assert run.status == "ok" and run.records_deleted == 2 * days_through_today(BEFORE)  # 2 meters
    assert rows_of("sensor.kettle_plug_power") == rows_of("sensor.fridge_power") == 0
    assert [kitchen_kwh(day) for day in DAYS] == [24.0, 24.0, 24.0]
    assert not FollowUp.objects.exists()


# --- Kept out of the views instead ------------------------------------------------------------
def switch(client, action: str, *entities: Entity) -> list[str]:
    """Run the entity list's action on `entities`; the messages the next page shows."""
    chosen = {"action": action, "_selected_action": [entity.pk for entity in entities]}
    page = client.post(reverse("admin:retention_entity_changelist"), chosen, follow=True)
    assert page.status_code == 200 and page.redirect_chain, page.content.decode()[:2000]
    return shown(page)


def test_a_duplicate_kept_out_of_the_views_stays_out_and_is_counted_again_when_switched_on(
    admin_client, home, settings
):
    before = energy()
    duplicate = home["duplicate"]

    said = switch(admin_client, "keep_out_of_views", duplicate)

    [run] = follow_ups()  # the energy view only: a power sensor
    assert run.status == "running" and run.details["view"] == ENERGY
    assert (
        "The views follow the edit: the rows of daily_energy_by_device (entities "
        f"sensor.kettle_plug_power) are deleted on the retention worker in run {run.pk}."
    ) in said, said
    assert f"Kept out of the materialized views: 1 entity. {KEPT_OUT}" in said, said
    [noted] = FollowUp.objects.all()
    assert (noted.key, noted.deleted, noted.edit) == (
        "sensor.kettle_plug_power",
        True,
        "sensor.kettle_plug_power: in_views True -> False",
    )
    duplicate.refresh_from_db()
    assert (duplicate.in_views, duplicate.edited) == (False, False)  # not a correction

    run = follow(run.pk, ENERGY)

    assert run.status == "ok", run.errors
    # All its rows go, the day before the horizon too, as after a delete.
    assert rows_of("sensor.kettle_plug_power") == 0
    assert run.records_deleted == days_through_today(BEFORE)
    assert [kitchen_kwh(day) for day in DAYS] == [24.0, 24.0, 24.0]  # was 48 each day
    kept_out = energy()
    assert kept_out == {k: v for k, v in before.items() if k[0] != "sensor.kettle_plug_power"}

    # The daily discovery finds its points again: it stays registered, kept out.
    settings.HA_LAYOUT = "official"
    report = discover()
    assert report.created == 0
    duplicate.refresh_from_db()
    assert duplicate.in_views is False
    assert "sensor.kettle_plug_power" not in report.noted.get(ENERGY, set())

    # The refresh (which fills an entity without rows from its first_seen) and a rebuild
    # give the rows the follow-up gave.
    refresh_view(ENERGY)
    assert energy() == kept_out and rows_of("sensor.kettle_plug_power") == 0
    rebuild_view(ENERGY, DAYS[0], datetime.now(UTC).date())
    assert energy() == kept_out and rows_of("sensor.kettle_plug_power") == 0

    # Retention still tiers it: DAY's raw points become 24 hourly rows of 1 kWh, then go.
    settings.RETENTION_RAW_DAYS, settings.RETENTION_LATE_MARGIN_HOURS = 1, 0
    tiered = tiers.downsample_hourly(DAY.date(), DAY.date() + timedelta(days=1))
    assert tiered.status == "ok", tiered.errors
    hours = read_rows(HOURLY_RP, DAY, at(24), "sensor.kettle_plug_power")
    assert [row.fields["total_energy"] for row in hours["sensor.kettle_plug_power"]] == [1.0] * 24
    assert count_samples(duplicate, DAY, at(24)) == 0

    # Counted again in its form: its rows are computed again from the horizon on, DAY from
    # the hourly rows; the day before the horizon comes back with a rebuild.
    said = edit_in_the_admin(admin_client, duplicate, in_views=True)

    run = follow_ups()[-1]
    assert (
        "The views follow the edit: the rows of daily_energy_by_device (entities "
        f"sensor.kettle_plug_power) are computed again on the retention worker in run {run.pk}."
    ) in said, said
    assert f"sensor.kettle_plug_power is counted in the views again. {COUNTED_AGAIN}" in said
    run = follow(run.pk, ENERGY)
    assert run.status == "ok", run.errors
    assert run.details["sources"]["hourly"] == 1
    assert [kitchen_kwh(day) for day in DAYS] == [24.0, 48.0, 48.0]
    rebuild_view(ENERGY, DAYS[0], DAYS[0])
    assert energy() == before
    duplicate.refresh_from_db()
    assert (duplicate.in_views, duplicate.edited) == (True, False)


def test_motion_sensors_kept_out_of_the_views_leave_their_rooms_and_come_back(admin_client, home):
    office_rows = HourlyRoomActivity.objects.filter(area="office").count()
    kitchen_before = activity("kitchen")
    sensors = home["kitchen_motion"], home["office_motion"]

    said = switch(admin_client, "keep_out_of_views", *sensors)

    [run] = follow_ups()
    assert (
        "The views follow the edit: the rows of hourly_room_activity (areas kitchen, office) "
        f"are computed again on the retention worker in run {run.pk}."
    ) in said, said
    assert "Kept out of the materialized views: 2 entities" in said[-1], said
    run = follow(run.pk, ACTIVITY)

    assert run.status == "ok", run.errors
    # As after deleting them: the office had no other sensor and loses all its hours; the
    # kitchen keeps the presence sensor from 11:00, its hour before the horizon stays.
    assert not HourlyRoomActivity.objects.filter(area="office").exists()
    kitchen = activity("kitchen")
    assert at(10) not in kitchen and kitchen[at(12)] == (1, round(15 / 60, 9))
    assert [hour for hour in kitchen if hour < at(11)] == [at(-1)]
    assert kitchen[at(-1)] == kitchen_before[at(-1)]
    assert run.records_deleted == office_rows + 11
    # A rebuild from the horizon gives the same rows.
    rebuild_view(ACTIVITY, DAY.date(), datetime.now(UTC).date())
    assert activity("kitchen") == kitchen and activity("office") == {}

    said = switch(admin_client, "count_in_views", *sensors)

    run = follow_ups()[-1]
    assert f"Counted in the views again: 2 entities. {COUNTED_AGAIN}" in said, said
    # Before, it promised the older days back from the daily aggregates in any time zone.
    assert (
        "rebuild_view where the daily aggregates hold them and the local day is a whole UTC day"
        in said[-1]
    )
    run = follow(run.pk, ACTIVITY)
    assert run.status == "ok", run.errors
    kitchen, office = activity("kitchen"), activity("office")
    assert kitchen == kitchen_before  # from the horizon on computed again, with it
    assert office[at(10)] == (1, round(10 / 60, 9)) and min(office) == DAY
    assert not FollowUp.objects.exists()
