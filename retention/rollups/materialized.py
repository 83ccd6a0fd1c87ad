"""Materialized views: incremental refresh, rebuild of any date range, and the query interface.

Three tables in the relational database (`retention.models`), computed by `retention.rollups.rows`
from Home Assistant's data (raw, or the hourly tier where raw is gone) and the enrichment data:
`daily_energy_by_device`, `hourly_room_activity`, `daily_carbon_summary`.

Refresh (`refresh_view`, every 4 hours by the beat entry "Refresh materialized views"):
the buckets from (watermark - VIEW_LATE_MARGIN_HOURS; carbon: 24 h at least) to now are
recomputed and upserted on their unique keys, so a rerun writes the same rows and buckets
before that are not touched. Earlier still from the earliest price (energy) or carbon point
a collector has written since the last refresh (a backfill): `retention.rollups.reach`.
The watermark is the time the last refresh read the data. The first refresh (no watermark)
starts at the oldest data: the entities' first_seen, the first carbon point. An entity or area
without any row yet is filled from its first_seen too, and so is an entity discovered since
the previous refresh (an area from the first_seen of its new sensors; an entity deleted in the
admin and discovered again), so newly discovered entities get their history. The open bucket
(containing now) is written up to now with partial=True. A row it would build from fewer
source points than the stored row was built from, or read on across days read from fewer, is
kept and named in the run, as a rebuild keeps it (`retention.rollups.fewer`; a day read on
across them from more points of its own than stored, today's, is written from its own first
point on, partial): points deleted on purpose are written by a rebuild asked to; the rows of
an entity or area whose registry edits are noted are written (the follow-up after the refresh
computes them again). Every view in turn (the beat's task, `manage.py refresh_views`, `MaterializedViewManager().refresh()`):
`retention.rollups.refresh`.

Rebuild (`rebuild_view`, `manage.py rebuild_view`, `POST /api/views/<name>/rebuild`): the
buckets of the local days start..end (both included) are recomputed; the watermark is not
moved. Rows whose source data is gone entirely are left as they are, and so are rows it would
build from fewer source points than they were, or read on across days read from fewer,
unless asked (`retention.rollups.fewer`; the latter read from more points of their own than
stored are written from their own first point on, as by the refresh).

Edits of the entity registry (`retention.rollups.follow`): an edit that changes what a view
reads of an entity is followed by a run of mode "edits" on the worker; the refresh takes up
the edits no such run has followed yet. Entities kept out of the views (`Entity.in_views`)
are skipped by the refresh and the rebuild as by the follow-up (`rows.energy_entities`,
`rows.activity_sensors`).

Every refresh and rebuild is recorded as a RetentionRun with operation "view_refresh"
(`retention.rollups.runs`; the tables and writing their rows: `retention.rollups.tables`).
One refresh or rebuild per view at a time (a Redis lock per view): one that finds the view
busy does nothing and is recorded with status "skipped", so a slow refresh cannot overwrite
newer rows with older ones nor move the watermark back. Redis out of reach (taking the lock, or
making sure it is still held before writing) fails the run, nothing written: rollups.lock.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from enrich.written import forget
from retention.day_ranges import rebuild_bounds
from retention.entities.recorded_gaps import RecordedGaps
from retention.models import (
    DailyEnergyByDevice,
    Entity,
    HourlyRoomActivity,
    RetentionRun,
    ViewFollowUp,
    ViewState,
)
from retention.rollups.archived import name_archived, partly_archived
from retention.rollups.energy import energy_rows
from retention.rollups.fewer import day_before, keep_fuller
from retention.rollups.inputs import first_carbon_time
from retention.rollups.lock import (  # noqa: F401  (view_lock_key re-exported)
    ViewLock,
    skipped,
    view_lock,
    view_lock_key,
)
from retention.rollups.prices import price_book
from retention.rollups.reach import refresh_start
from retention.rollups.rows import (
    Outcome,
    activity_rows,
    activity_sensors,
    carbon_rows,
    energy_entities,
)
from retention.rollups.runs import run_view
from retention.rollups.tables import (  # noqa: F401  (the views' names re-exported)
    ACTIVITY,
    CARBON,
    ENERGY,
    KEYS,
    VIEWS,
    check_view,
)
from retention.timeutil import DAY, floor_hour, local_date, local_day_start

logger = logging.getLogger(__name__)

DISCOVERY_MARGIN = timedelta(minutes=5)  # longer than discovery's transaction takes


# --- What each view computes over a range ------------------------------------------------------
def _is_new(entity: Entity, discovered_after: datetime | None) -> bool:
    """Whether discovery registered the entity after `discovered_after` (None: never)."""
    return discovered_after is not None and entity.discovered > discovered_after


def _energy(
    first: date | None, last: date, now: datetime, *, fill_new: bool, new_after: datetime | None
) -> Outcome:
    total = Outcome()
    entities = list(energy_entities())  # not those a person kept out of the views
    plans: list[tuple[Entity, date]] = []
    with_rows = set(DailyEnergyByDevice.objects.values_list("entity_id", flat=True).distinct())
    for entity in entities:
        start = first
        history = local_date(entity.first_seen) if entity.first_seen else None
        if history is not None and (
            start is None
            or (fill_new and (entity.entity_id not in with_rows or _is_new(entity, new_after)))
        ):
            start = min(start, history) if start else history
        if start is None:
            total.skipped.append(f"{entity.entity_id}: first_seen unknown, run discover_entities")
            continue
        plans.append((entity, start))
    if not plans:
        return total
    before = day_before(plans)  # counted only: what the first days are read on from (fewer)
    first = min(s for _, s in plans + before)
    prices = price_book(local_day_start(first), min(local_day_start(last + DAY), now))
    partly = partly_archived(first, last)  # the ORM here, not in threads
    gaps = RecordedGaps().load(entities, local_day_start(first), local_day_start(last + DAY))
    # Two entities in flight: one waits for InfluxDB while the other is summed (the threads
    # read InfluxDB only; the rows come back in the plans' order).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="view-energy") as pool:
        for part in pool.map(
            lambda plan: energy_rows(*plan, last, now, prices, partly, gaps=gaps), plans
        ):
            _merge(total, part)
        for part in pool.map(
            lambda plan: energy_rows(*plan, plan[1], now, prices, partly, gaps=gaps), before
        ):
            total.counted.update(
                {(row.entity_id, row.date): row.source_points for row in part.rows}
            )
    return total


def _activity(
    start: datetime | None, end: datetime, now: datetime, *, fill_new: bool,
    new_after: datetime | None,
) -> Outcome:  # fmt: skip
    total = Outcome()
    areas = activity_sensors(Entity.objects.filter(kind=Entity.Kind.BINARY).exclude(area=""))
    with_rows = set(HourlyRoomActivity.objects.values_list("area", flat=True).distinct())
    for area, sensors in sorted(areas.items()):
        area_start = start
        seen = [s.first_seen for s in sensors if s.first_seen]
        if seen and (area_start is None or (fill_new and area not in with_rows)):
            oldest = floor_hour(min(seen))
            area_start = min(area_start, oldest) if area_start else oldest
        elif new := [s.first_seen for s in sensors if s.first_seen and _is_new(s, new_after)]:
            # A sensor discovered since the previous refresh: the area's hours since it
            # first reported are computed again, with it.
            area_start = min(area_start, floor_hour(min(new)))
        if area_start is None:
            total.skipped.append(f"{area}: first_seen of its sensors unknown")
            continue
        _merge(total, activity_rows(area, sensors, area_start, end, now))
    return total


def _carbon(first: date | None, last: date, now: datetime) -> Outcome:
    if first is None:
        oldest = first_carbon_time()
        if oldest is None:
            return Outcome()
        first = local_date(oldest)
    return carbon_rows(first, last, now)


def _merge(total: Outcome, part: Outcome) -> None:
    total.rows.extend(part.rows)
    total.sources.update(part.sources)
    total.skipped.extend(part.skipped)
    total.in_force.update(part.in_force)


def _compute(
    name: str,
    start: datetime | None,
    end: datetime,
    now: datetime,
    *,
    fill_new: bool,
    new_after: datetime | None = None,
) -> Outcome:
    """Rows of `name` for buckets from the one containing `start` (None: the oldest data)
    to the one containing the moment before `end`."""
    last_day = local_date(end - timedelta(microseconds=1))
    if name == ENERGY:
        first = local_date(start) if start else None
        return _energy(first, last_day, now, fill_new=fill_new, new_after=new_after)
    if name == ACTIVITY:
        area_start = floor_hour(start) if start else None
        # Whole UTC hours: a local midnight inside one (a +05:30 zone) does not cut it short.
        hours_end = floor_hour(end - timedelta(microseconds=1)) + timedelta(hours=1)
        return _activity(area_start, hours_end, now, fill_new=fill_new, new_after=new_after)
    return _carbon(local_date(start) if start else None, last_day, now)


def refresh_view(name: str, *, now: datetime | None = None) -> RetentionRun:
    """Recompute the buckets touched since the last refresh (see the module docstring)."""
    check_view(name)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # The range as it stands before the lock: what a run that cannot take it records (read
    # again under the lock, where another run may have moved the watermark meanwhile).
    watermark = ViewState.objects.filter(view=name).values_list("watermark", flat=True).first()
    with view_lock(name, "incremental", refresh_start(name, watermark)[0], now) as held:
        state, _ = ViewState.objects.get_or_create(view=name)
        start, late = refresh_start(name, state.watermark)  # before any data is read
        if held is None:
            return skipped(name, "incremental", start, now)
        new_after = _last_began(name)

        def work() -> Outcome:  # rows read from fewer points than they were: kept (fewer)
            outcome = _compute(name, start, now, now, fill_new=True, new_after=new_after)
            edited = ViewFollowUp.objects.filter(view=name).values_list("key", flat=True)
            return keep_fuller(VIEWS[name], KEYS[name], outcome, set(edited), now=now)

        run = run_view(name, "incremental", start, now, now, work, held=held)
        if late is not None:
            forget(late)  # the rows computed with them are stored
        state.watermark = now
        state.last_refreshed = datetime.now(UTC)
        state.save()
        if followed := _follow_noted_edits(name, now, held):
            run.details = {**run.details, "edits_run": followed.pk}
            run.save(update_fields=["details"])
        return run


def _follow_noted_edits(name: str, now: datetime, held: ViewLock) -> RetentionRun | None:
    """The registry's edits not followed yet (the broker was out of reach when they were
    saved, or the view was busy): taken up by the refresh, under its lock, in a run of their
    own (None: there were none)."""
    from retention.rollups.follow import take_up  # it builds on this module

    try:
        return take_up(name, now, held)
    except Exception as exc:  # its run says why; the edits stay noted for the next run
        logger.warning("view %s: the noted entity edits could not be followed: %s", name, exc)
        return RetentionRun.objects.filter(details__view=name).order_by("-pk").first()


def _last_began(name: str) -> datetime | None:
    """When the previous successful refresh of the view read the entities, less a margin for
    a discovery that was committing then (None: no refresh yet)."""
    previous = (
        RetentionRun.objects.filter(
            operation=RetentionRun.Operation.VIEW_REFRESH,
            status=RetentionRun.Status.OK,
            details__view=name,
            details__mode="incremental",
        )
        .order_by("-started")
        .first()
    )
    return previous.started - DISCOVERY_MARGIN if previous and previous.started else None


def rebuild_view(
    name: str,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    run: RetentionRun | None = None,
    allow_fewer_points: bool = False,
) -> RetentionRun:
    """Recompute the buckets of the local days start..end (both included); recorded in `run`
    (one the API created for the queued rebuild) or a new run. A row read from fewer source
    points than the stored one, or read on across days read from fewer, is kept, named in the
    run, unless `allow_fewer_points`."""
    check_view(name)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    range_start, range_end = rebuild_bounds(start, end, now)
    with view_lock(name, "rebuild", range_start, range_end, run) as held:
        if held is None:
            return skipped(name, "rebuild", range_start, range_end, run)

        def work() -> Outcome:  # archived days give no rows (theirs are kept): named, and why
            outcome = _compute(name, range_start, range_end, now, fill_new=False)
            named = name_archived(name, start, end, outcome)
            if allow_fewer_points:
                return named
            return keep_fuller(VIEWS[name], KEYS[name], named, now=now)

        return run_view(name, "rebuild", range_start, range_end, now, work, run, held=held)


# --- Queries (retention.rollups.queries; re-exported here, where callers look for them) --------
from retention.rollups.queries import MaterializedViewManager  # noqa: E402,F401
