"""The materialized views follow the entity registry's edits and deletions.

An edit (admin: the entity's form or the list; discovery and the import of Home Assistant's
areas: a change to an entity already registered) that changes what a view reads of an entity
(`changed_parts`) notes the parts of the view it changes, in the edit's own transaction
(`ViewFollowUp`): the entity's rows of daily_energy_by_device (its kind, unit, layout,
measurements, id or switch "count in the views"), the old and the new area's rows of
hourly_room_activity (a motion, occupancy or presence sensor's area, kind, device class, name,
layout, measurements, id or switch).
Measurements: the entity's current one and the older ones discovery found it in, with
their units (`Entity.series`; a sensor switched from W to kW has points in both).
An edit that changes none of that (tiered, the name of a power sensor, "W" for "") notes
nothing.

Once committed, the edit's request (or the discovery, the import, once at its end) queues
`retention.follow_view_edits` on the retention worker
(`retention.rollups.tasks.queue_follow_ups`: one waiting run per view, so ten edits in a row
are one run). The run (`take_up`, under the view's lock, recorded as a "view_refresh" run in
mode "edits") computes each noted part again, as a rebuild would, from the entity's
first_seen to now (discovery that found the entity's new points in another measurement:
from its first point there, the rows before hold its older measurement's points, which are
still read; in another layout: from its first point there, the rows before were computed
from the layout it no longer reads), and deletes its rows the computation no longer gives:
the sensor's hours in its old area, the days of an entity that left the energy view. It
reaches back to the first day whose hourly aggregates still exist (`horizon`): before it only
daily aggregates or the archive hold the data, a day cannot be split into hours again, and
those rows stay as they were computed. Tier rows made under another kind, or converted by
another unit (`ViewFollowUp.unit_before`: a power or energy entity's label corrected), are
read as the entity reads them now where that is exact, else their days get no row, named in
the run (`retention.rollups.tier_kinds`). Noted parts the run could not take up (the broker was out of reach at
the save, the view was busy) are taken up by the view's next refresh.

An entity a person keeps out of the views (`Entity.in_views` off, in the admin: a duplicate
sensor) is read by neither view: its parts are noted as a deletion's (`deleted`, below), so
its rows all go and its area is computed again without it. Switched on again, it is followed
as any edit: its rows are computed again from the horizon on. Discovery never changes the
switch, and the refresh and the rebuild skip such an entity too (`rows.energy_entities`,
`rows.activity_sensors`), so they give the rows the follow-up gave.

Deletions are followed the same way. Every delete of an entity (admin: its delete page or the
bulk action; a queryset's delete in code) notes, in its own transaction (`entity_deleted`,
the post_delete signal), its rows of daily_energy_by_device (also rows left from when it was
power or energy) and its area's rows of hourly_room_activity, marked `deleted`. The run
deletes every row of an entity the registry no longer has (or keeps out of the views) and of
an area left without sensors the views count, also before the horizon: nothing computes them
any more (an entity discovered again before the run is computed as after an edit). An area
that keeps other sensors is computed again without it from its first_seen; its rows before
the horizon keep it. The admin queues the run once the delete is committed; a delete
elsewhere is taken up by the next refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import partial

from django.db.models import Q

from retention.entities.sources import raw_measurements
from retention.entities.units import UNIT_FACTORS, Units, registry_convert
from retention.models import (
    DailyEnergyByDevice,
    Entity,
    HourlyRoomActivity,
    RetentionRun,
    TierChunk,
    ViewFollowUp,
)
from retention.rollups.energy import energy_rows
from retention.rollups.lock import ViewLock, skipped, view_lock
from retention.rollups.materialized import ACTIVITY, DAY, ENERGY, _merge, check_view
from retention.rollups.prices import price_book
from retention.rollups.rows import (
    Outcome,
    activity_rows,
    activity_sensors,
    energy_entities,
    in_energy_view,
)
from retention.rollups.runs import run_view
from retention.rollups.tier_kinds import TieredUnit
from retention.timeutil import floor_hour, local_date, local_day_start

TIER_RUNS = (RetentionRun.Operation.DOWNSAMPLE_HOURLY, RetentionRun.Operation.DOWNSAMPLE_DAILY)
DRY_RUN = RetentionRun.Status.DRY_RUN
# Shown next to a change: the fields the views read.
SHOWN = ("entity_id", "kind", "area", "unit", "device_class", "friendly_name", "layout",
         "measurement", "in_views")  # fmt: skip


# --- What an edit changes ------------------------------------------------------------------
def _energy_inputs(entity: Entity) -> tuple | None:
    """What daily_energy_by_device reads of the entity (None: it is not in the view, also
    when a person kept it out)."""
    if not in_energy_view(entity):
        return None
    return (entity.entity_id, entity.kind, registry_convert(entity), entity.layout, _read(entity))


def _activity_inputs(entity: Entity) -> tuple | None:
    """What hourly_room_activity reads of the entity, its area first (None: not counted, also
    when a person kept it out)."""
    if not activity_sensors([entity]):
        return None
    return (entity.area, entity.entity_id, entity.layout, raw_measurements(entity))


def _read(entity: Entity) -> tuple:
    """The entity's measurements, each with the unit its points are read in when that is not
    the registry's (`retention.entities.units`)."""
    units = Units(entity)
    current = units.now if units.now not in (None, entity.unit) else None
    *older, measurement = raw_measurements(entity)
    return (*((m, units.by_measurement.get(m)) for m in older), (measurement, current))


INPUTS = {ENERGY: _energy_inputs, ACTIVITY: _activity_inputs}


def changed_parts(before: Entity, after: Entity | None) -> dict[str, set[str]]:
    """view -> the keys of its rows (entity ids, areas) the edit `before` -> `after` changes
    (`after` None: the entity is deleted)."""
    parts: dict[str, set[str]] = {}
    for view, inputs in INPUTS.items():
        old, new = inputs(before), inputs(after) if after is not None else None
        if old != new:
            parts[view] = {found[0] for found in (old, new) if found is not None}
    return parts


def describe(before: Entity, after: Entity) -> str:
    changes = [
        f"{name} {getattr(before, name)!r} -> {getattr(after, name)!r}"
        for name in SHOWN
        if getattr(before, name) != getattr(after, name)
    ]
    old, new = raw_measurements(before), raw_measurements(after)
    if before.measurement == after.measurement and old != new:
        changes.append(f"measurements {', '.join(old)} -> {', '.join(new)}")
    return f"{after.entity_id}: {', '.join(changes)}"[:500]


def note_edit(before: Entity, after: Entity, since: datetime | None = None) -> dict[str, set[str]]:
    """Note the parts of the views the edit changes (in the caller's transaction); them.
    They are computed again from `since`, by default the entity's first_seen; an entity kept
    out of the views by the edit is noted as a deletion: all its rows go."""
    parts = changed_parts(before, after)
    since = since or after.first_seen or before.first_seen
    kept_out = before.in_views and not after.in_views
    _note(parts, describe(before, after), since, deleted=kept_out, unit=unit_before(before, after))
    return parts


def note_unavailable(entity: Entity, since: datetime) -> dict[str, set[str]]:
    """Note the views' rows of `entity` from `since` on, where the unknown/unavailable spans
    recorded from Home Assistant changed (`retention.entities.ha_gaps`): computed again with
    them by the next follow-up run or refresh, a row no longer given deleted (a day of no
    known value has none). Them."""
    parts = {view: {found[0]} for view, inputs in INPUTS.items() if (found := inputs(entity))}
    edit = f"{entity.entity_id}: unknown/unavailable in Home Assistant from {since.isoformat()}"
    _note(parts, edit[:500], since)
    return parts


def unit_before(before: Entity, after: Entity) -> str:
    """The unit a power or energy entity's tier rows were converted by, when the edit changes
    how its readings are converted while Home Assistant writes the same unit (a label
    corrected: kW readings labelled W); "" otherwise (Home Assistant's own switch to another
    unit leaves the older points, and their rows, in theirs)."""
    if before.kind != after.kind or after.kind not in UNIT_FACTORS:
        return ""
    if (before.measurement, before.series) != (after.measurement, after.series):
        return ""
    return before.unit if registry_convert(before) != registry_convert(after) else ""


def deleted_parts(entity: Entity) -> dict[str, set[str]]:
    """view -> the keys of its rows the deletion of `entity` changes: its own rows of the
    energy view (also those left from when it was power or energy), its area's activity."""
    parts = changed_parts(entity, None)
    if DailyEnergyByDevice.objects.filter(entity_id=entity.entity_id).exists():
        parts.setdefault(ENERGY, set()).add(entity.entity_id)
    return parts


def note_delete(entity: Entity) -> dict[str, set[str]]:
    """Note the parts of the views the deletion of `entity` changes (in the delete's
    transaction); them. Its area's rows are computed again from its first_seen (unknown: from
    the oldest row); its own rows, and those of an area left without sensors, all go."""
    parts = deleted_parts(entity)
    _note(parts, f"{entity.entity_id}: deleted", entity.first_seen, deleted=True)
    return parts


def entity_deleted(sender, instance: Entity, **kwargs) -> None:
    """post_delete of Entity (connected in retention.apps): every delete, the admin's or a
    queryset's in code, is noted in its own transaction. The admin queues the follow-up
    (retention.admin); after a delete elsewhere the view's next refresh takes it up."""
    note_delete(instance)


def _note(parts: dict[str, set[str]], edit: str, since: datetime | None, deleted: bool = False,
          unit: str = "") -> None:  # fmt: skip
    ViewFollowUp.objects.bulk_create(
        ViewFollowUp(
            view=view,
            key=key,
            since=since,
            edit=edit,
            deleted=deleted,
            unit_before=unit if view == ENERGY else "",
        )
        for view, keys in sorted(parts.items())
        for key in sorted(keys)
    )


def gather(noted: dict[str, set[str]], parts: dict[str, set[str]]) -> None:
    """Add the parts one edit noted to those of the edits before it (view -> keys)."""
    for view, keys in parts.items():
        noted.setdefault(view, set()).update(keys)


def pending(name: str) -> bool:
    return ViewFollowUp.objects.filter(view=name).exists()


# --- Following them --------------------------------------------------------------------------
def horizon() -> datetime | None:
    """The first moment after the last UTC day whose hourly aggregates retention replaced by
    daily ones (None: none was): the edits are followed from there on."""
    last = (
        TierChunk.objects.filter(tier=TierChunk.Tier.DAILY, state=TierChunk.State.DELETED)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    return datetime.combine(last + DAY, time(), UTC) if last else None


def _tier_run_since(moment: datetime) -> int | None:
    """A tier run (raw -> hourly, hourly -> daily) that ran after `moment`, or runs."""
    runs = RetentionRun.objects.filter(operation__in=TIER_RUNS).exclude(status=DRY_RUN)
    since = runs.filter(Q(finished__isnull=True) | Q(finished__gte=moment))
    return since.order_by("pk").values_list("pk", flat=True).first()


def _oldest_row(name: str, key: str) -> datetime | None:
    if name == ENERGY:
        day = DailyEnergyByDevice.objects.filter(entity_id=key).order_by("date").first()
        return local_day_start(day.date) if day else None
    row = HourlyRoomActivity.objects.filter(area=key).order_by("hour").first()
    return row.hour if row else None


def _stale(rows, bucket: str, start, produced: Outcome) -> list[int]:
    """Ids of the rows from `start` on (None: all) that the computation no longer gives."""
    given = {getattr(row, bucket) for row in produced.rows} | produced.kept
    if start is not None:
        rows = rows.filter(**{f"{bucket}__gte": start})
    return [pk for pk, at in rows.values_list("pk", bucket) if at not in given]


def _energy_part(
    key: str, since: datetime, now: datetime, deleted: bool, unit: TieredUnit | None = None
) -> Outcome:
    """`unit`: the unit its tier rows were converted by, when an edit changed it."""
    first = local_date(since)
    entity = energy_entities(entity_id=key).first()
    outcome = Outcome()
    if entity is not None:
        prices = price_book(local_day_start(first), now)
        outcome = energy_rows(entity, first, local_date(now), now, prices, tiered_unit=unit)
    # Deleted, or kept out of the views (and not counted again since): nothing computes it.
    gone = deleted and not Entity.objects.filter(entity_id=key, in_views=True).exists()
    rows = DailyEnergyByDevice.objects.filter(entity_id=key)
    outcome.stale = _stale(rows, "date", None if gone else first, outcome)
    return outcome


def _activity_part(key: str, since: datetime, now: datetime, deleted: bool) -> Outcome:
    start = floor_hour(since)
    sensors = activity_sensors(Entity.objects.filter(kind=Entity.Kind.BINARY, area=key))
    outcome = activity_rows(key, sensors.get(key, []), start, now, now)
    gone = deleted and key not in sensors  # its last sensor was deleted
    rows = HourlyRoomActivity.objects.filter(area=key)
    outcome.stale = _stale(rows, "hour", None if gone else start, outcome)
    return outcome


def _outcome(name: str, since: dict[str, datetime], deleted: set[str], now: datetime,
             units: dict[str, TieredUnit]) -> Outcome:  # fmt: skip
    total = Outcome()
    for key, start in sorted(since.items()):
        if name == ENERGY:  # only the energy view reads power and energy rows
            found = _energy_part(key, start, now, key in deleted, units.get(key))
        else:
            found = _activity_part(key, start, now, key in deleted)
        _merge(total, found)
        total.stale.extend(found.stale)
    return total


def take_up(
    name: str, now: datetime, held: ViewLock, run: RetentionRun | None = None
) -> RetentionRun | None:
    """Follow the view's noted edits (the caller `held` the view's lock); None when there were
    none and no run was given."""
    marks = list(ViewFollowUp.objects.filter(view=name).order_by("pk"))
    if not marks and run is None:
        return None
    limit = horizon()
    since: dict[str, datetime] = {}
    unknown: set[str] = set()
    for mark in marks:
        start = mark.since or _oldest_row(name, mark.key)
        if start is None:
            unknown.add(mark.key)  # nothing was computed for it, and nothing can be yet
            continue
        start = max(start, limit) if limit else start
        since[mark.key] = min(since.get(mark.key, start), start)
    run = run or RetentionRun(operation=RetentionRun.Operation.VIEW_REFRESH)
    run.details = {
        **run.details,
        "edits": sorted({mark.edit for mark in marks})[:100],
        "parts": sorted(since),
        "first_seen_unknown": sorted(unknown),
    }
    deleted = {mark.key for mark in marks if mark.deleted}
    units: dict[str, TieredUnit] = {}  # the unit the tier rows were converted by: the first's
    for mark in marks:
        if mark.unit_before and mark.key not in units:
            units[mark.key] = TieredUnit(mark.unit_before, _tier_run_since(mark.noted))
    start = min(since.values(), default=None)
    work = partial(_outcome, name, since, deleted, now, units)
    done = run_view(name, "edits", start, now, now, work, run, held=held)
    ViewFollowUp.objects.filter(pk__in=[mark.pk for mark in marks]).delete()
    return done


def follow_edits(
    name: str, *, now: datetime | None = None, run: RetentionRun | None = None
) -> RetentionRun | None:
    """Take the view's lock and follow its noted edits (see the module docstring)."""
    check_view(name)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with view_lock(name, "edits", None, now, run) as held:
        if held is None:
            why = "the edits stay noted: that run's task or the next refresh takes them up"
            return skipped(name, "edits", None, now, run, why)
        return take_up(name, now, held, run)
