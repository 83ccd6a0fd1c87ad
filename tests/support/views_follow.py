"""Helpers of the tests where the materialized views follow changes to the entity registry
(admin edits and deletes, discovery, the import of Home Assistant's areas), on a real worker
or in the test: the worker's settings, waiting for its run, the views' rows as numbers to
compare, the admin's messages."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from retention.models import DailyEnergyByDevice, Entity, HourlyRoomActivity, RetentionRun
from retention.rollups.materialized import VIEWS, MaterializedViewManager
from retention.timeutil import floor_day, floor_hour
from tests.support.entities import save
from tests.support.worker import output

# The marks of both modules: real InfluxDB, committed rows (a worker or a follow-up in another
# transaction reads them) and Celery queues emptied before each test.
MARKS = [
    pytest.mark.influxdb,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_queues"),
]
# The data lies in the last days before the real now: a follow-up computes up to its own now.
DAY = floor_day(datetime.now(UTC)) - timedelta(days=2)  # two whole UTC days before today


def days_through_today(first: date, run: RetentionRun | None = None) -> int:
    """How many daily rows an entity has from `first` on: the days up to today, which a
    refresh or follow-up computes up to its own now (a partial row); `run`'s today if given
    (the run that wrote the rows: a midnight may have passed since). DAY is taken when the
    tests are collected, so a suite that passes midnight UTC has one day more than it."""
    today = computed_at(run).date() if run else datetime.now(UTC).date()
    return (today - first).days + 1


def computed_at(run: RetentionRun) -> datetime:
    """The moment a view's run computed its rows up to (its own now, in another process too):
    a rebuild given it computes the same hours and days, whichever hour or day it is run in."""
    return datetime.fromisoformat(run.details["now"])


def clear_of_an_hour_end(margin: timedelta = timedelta(minutes=1)) -> None:
    """Wait past the end of this UTC hour (a midnight among them) if it is less than `margin`
    away: a test whose views are computed at several moments, each up to its own now (whole
    hours, whole days), has them all computed in one hour."""
    now = datetime.now(UTC)
    left = (floor_hour(now) + timedelta(hours=1) - now).total_seconds()
    if left < margin.total_seconds():
        time.sleep(left + 0.1)


def worker_env(ha_db, enrich_db: str, settings, **more: str) -> dict[str, str]:
    """The environment of a worker reading the test's databases, with its lock prefix (and
    `more` settings)."""
    return {
        "HA_INFLUXDB_DATABASE": ha_db.name,
        "TIER_DATABASE": ha_db.name,
        "INFLUXDB_DATABASE": enrich_db,
        "TIME_ZONE": "UTC",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        **more,
    }


def finished(run_id: int, worker, timeout: float = 90) -> RetentionRun:
    """The run once a worker has ended it (the worker's output on timeout)."""
    deadline = time.monotonic() + timeout
    while (run := RetentionRun.objects.get(pk=run_id)).status == RetentionRun.Status.RUNNING:
        assert time.monotonic() < deadline, output(worker)
        time.sleep(0.2)
    return run


def activity(area: str) -> dict[datetime, tuple[int, float]]:
    """The area's whole hours: hour -> (motion_count, occupancy_rate)."""
    return {
        row.hour: (row.motion_count, round(row.occupancy_rate, 9))
        for row in HourlyRoomActivity.objects.filter(area=area, partial=False)
    }


def energy() -> dict[tuple[str, object], float]:
    """The whole days: (entity_id, date) -> total_kwh."""
    return {
        (row.entity_id, row.date): round(row.total_kwh, 9)
        for row in DailyEnergyByDevice.objects.filter(partial=False)
    }


def follow_ups() -> list[RetentionRun]:
    """The runs that followed (or were queued to follow) edits, oldest first."""
    return list(RetentionRun.objects.filter(details__mode="edits").order_by("pk"))


def shown(page) -> list[str]:
    """The messages of the page as the user reads them (without their links' markup)."""
    return [strip_tags(str(message)) for message in page.context["messages"]]


def edit_in_the_admin(client, entity: Entity, **changes) -> list[str]:
    """POST the entity's change form with `changes` (its checkboxes as the page shows them
    ticked, unless changed); the messages the next page shows."""
    fields = ("entity_id", "friendly_name", "kind", "area", "unit", "device_class", "layout",
              "measurement")  # fmt: skip
    data = {name: changes.get(name, getattr(entity, name)) for name in fields}
    flags = ("tiered", "in_views", "edited")
    data.update({flag: "on" for flag in flags if changes.get(flag, getattr(entity, flag))})
    url = reverse("admin:retention_entity_change", args=[entity.pk])
    page = client.post(url, data, follow=True)
    assert page.status_code == 200 and page.redirect_chain, page.content.decode()[:2000]
    return shown(page)


def kitchen_and_office(ha_db, day: datetime) -> dict[str, Entity]:
    """Binary sensors of the official layout, registered: a kitchen with a motion sensor (on
    10:10-10:30 and 12:00-12:15 on `day`, known from 23:50 the day before) and a presence
    sensor reporting from 11:00 (on 12:30-12:45); an office with a motion sensor (on
    10:40-10:50, known from 23:50 the day before)."""

    def at(hours: float) -> datetime:
        return day + timedelta(hours=hours)

    def sensor(entity_id: str, points: list, area: str) -> Entity:
        entity = ha_db.write_entity("official", entity_id, points, kind="binary")
        return save(entity, points[0][0], area=area)

    return {
        "kitchen_motion": sensor("binary_sensor.kitchen_motion", [(at(-1 / 6), "off"),
                                 (at(10 + 1 / 6), "on"), (at(10.5), "off"), (at(12), "on"),
                                 (at(12.25), "off")], "kitchen"),
        "kitchen_presence": sensor("binary_sensor.kitchen_presence", [(at(11), "off"),
                                   (at(12.5), "on"), (at(12.75), "off")], "kitchen"),
        "office_motion": sensor("binary_sensor.office_motion", [(at(-1 / 6), "off"),
                                (at(10 + 2 / 3), "on"), (at(10 + 5 / 6), "off")], "office"),
    }  # fmt: skip


def every_view_refreshed() -> None:
    """`MaterializedViewManager().refresh()`, every service there: each view's run ok, in order."""
    runs = MaterializedViewManager().refresh()
    assert [(run.details["view"], run.status) for run in runs] == [(name, "ok") for name in VIEWS]
