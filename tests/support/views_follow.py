"""Helpers of the tests where the materialized views follow changes to the entity registry
(admin edits, discovery, the import of Home Assistant's areas) on a real worker: the
worker's settings, waiting for its run, and the views' rows as numbers to compare."""

from __future__ import annotations

import time
from datetime import datetime

from retention.models import DailyEnergyByDevice, HourlyRoomActivity, RetentionRun
from tests.support.worker import output


def worker_env(ha_db, enrich_db: str, settings) -> dict[str, str]:
    """The environment of a worker reading the test's databases, with its lock prefix."""
    return {
        "HA_INFLUXDB_DATABASE": ha_db.name,
        "TIER_DATABASE": ha_db.name,
        "INFLUXDB_DATABASE": enrich_db,
        "TIME_ZONE": "UTC",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
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
