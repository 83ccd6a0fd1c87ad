"""Refreshing several materialized views, one after the other: the one way the beat's task
(`retention.refresh_views`), `manage.py refresh_views` and `MaterializedViewManager().refresh()`
(`refresh_all`) go through the views (`in_turn`), so they stop alike.

A view whose refresh fails is reported and the next view is tried, but for Redis or InfluxDB out
of reach, or InfluxDB refusing (`STOPS`): every view needs them (Redis holds its lock, InfluxDB
its data), so the refresh stops at the first view it meets, and that view's one failed run names
the views not refreshed and when the next refresh comes (`details.views`): one outage, one
failed run, one alert. The views after it are not tried: they keep their rows and watermarks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from enrich.influx import TimeseriesError
from enrich.redis.client import RedisUnavailable
from retention.models import RetentionRun
from retention.rollups.lock import failed_run, failure
from retention.rollups.materialized import VIEWS, refresh_view

logger = logging.getLogger(__name__)

# What stops a refresh of the views at the first view it meets: every view needs that service.
STOPS = (RedisUnavailable, TimeseriesError)


@dataclass
class Turn:
    """One view's turn: its run (ok, skipped or failed; None when none was recorded), the error
    its refresh raised, and, when that error stopped the refresh, the views `left` after it."""

    view: str
    run: RetentionRun | None
    error: Exception | None = None
    left: list[str] | None = None  # the refresh stopped here: these views were not tried

    @property
    def stops(self) -> bool:
        return self.left is not None


def in_turn(names: Sequence[str], *, now: datetime | None = None) -> Iterator[Turn]:
    """Refresh the views `names` one after the other, each view's turn as it ends (see the
    module docstring: one of STOPS ends the refresh with the turn that names the views left)."""
    for index, name in enumerate(names):
        try:
            run = refresh_view(name, now=now)
        except STOPS as exc:  # the view's run is recorded failed: it names the rest
            left = list(names[index + 1 :])
            yield Turn(name, stopped(name, left, exc), exc, left)
            return
        except Exception as exc:  # the run record holds the details; go on with the next view
            logger.warning("view %s refresh failed: %s", name, exc)
            yield Turn(name, failed_run(exc) or _latest(name), exc)
            continue
        yield Turn(name, run)


def stopped(name: str, left: list[str], exc: Exception) -> RetentionRun:
    """The failed run of view `name`, which `exc` (one of STOPS) stopped, naming the views
    `left` after it, which the refresh does not try: they keep their rows and watermarks."""
    run = failed_run(exc) or _latest(name, status=RetentionRun.Status.FAILED)
    if left:
        run.errors = failure(exc, name, "incremental", left)
        run.details = {**run.details, "views": [name, *left]}
        run.save(update_fields=["errors", "details"])
    logger.warning("views %s not refreshed: %s", ", ".join([name, *left]), exc)
    return run


def _latest(name: str, **status: str) -> RetentionRun | None:
    """The latest run of view `name`, for an error no run of it noted (`failed_run`)."""
    runs = RetentionRun.objects.filter(details__view=name, **status)
    return runs.order_by("-pk").first()


def refresh_all(*, now: datetime | None = None) -> list[RetentionRun]:
    """Refresh every view (`in_turn`): the runs of the views tried, in order. One that stopped
    the refresh comes last and names the views not refreshed (`details.views`)."""
    return [turn.run for turn in in_turn(list(VIEWS), now=now) if turn.run is not None]
