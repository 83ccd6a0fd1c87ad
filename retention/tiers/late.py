"""Late points: raw points of a tiered entity in a day whose raw data was already deleted
(also those written into a "verified" day after the entity's delete statement ran, before a
crash: the rerun leaves them here, `TierChunk.raw_deleted`).

The points around them are gone, so where they sit in the step function cannot be
reconstructed. They are folded into the row of their hour (or, once the hourly rows were
composed into a daily row, into that; once that daily row was archived and deleted from
InfluxDB, into the archived row, written back to the daily tier for the archive to merge):
sample_count/gap_count grow by them, so every raw point stays accounted for,
min_value/max_value widen to include their readings; everything time-based (avg_value,
coverage, energy, on_seconds, state changes, last_*) keeps the value computed from the
complete sequence Home Assistant had written. Their times are added to the row's
`late_times`, so a rerun after a crash does not fold them twice; then they are deleted.
A day whose daily composition is in progress waits for the next run. The hourly run folds
them in after its days (`retention.tiers.late_days`: a day and a group of entities at a time,
or entity by entity here, `fold_entity`), holding the daily tier's lock meanwhile, and the
archive's once it reads an archived row (`retention.tiers.archived`).

Not late: raw points of an entity that has no row at all in their day (it was not tiered
when the day was downsampled, then ticked again) are the day's whole record, so the day is
aggregated from them as the hourly tier does (and composed into its daily row when the day is
daily already), checked against the raw count and deleted; the downsampled days after it
without a state of the entity get the rows of its value holding on (`value_holds_on`), and so
do those after its last row that the hourly run found without rows (`HourlyTier.holes`). Raw
points the rows already hold exactly (a run died after writing them, before the delete) are
deleted without a fold.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from enrich.wording import counted
from retention import faults
from retention.archive.errors import ArchiveError
from retention.archive.store import StorageError
from retention.entities import ha_source
from retention.entities.samples import Sample
from retention.models import Entity, TierChunk
from retention.tiers.aggregate import VALUE_KINDS, Aggregate, compose
from retention.tiers.archived import ArchivedRows
from retention.tiers.chunks import (
    find_chunk,
)
from retention.tiers.hourly import DAY, HOUR, LEFT_RAW, HourlyTier
from retention.tiers.raw_delete import delete_raw
from retention.tiers.reader import GroupReads
from retention.tiers.row_units import in_units_of_now, units_of_now
from retention.tiers.rows import (
    DAILY_RP,
    HOURLY_RP,
    LATE_TIMES,
    TierRow,
    differences,
    is_own_field,
    micros,
    read_rows,
    write_rows,
)
from retention.tiers.safety import VerificationFailed
from retention.tiers.stepwise import aggregate_window
from retention.timeutil import utc_date, utc_midnight

logger = logging.getLogger(__name__)


def fold_entity(
    tier: HourlyTier, entity: Entity, start: datetime, end: datetime, archived: ArchivedRows
) -> None:
    samples = ha_source.read_samples(entity, start, end, carry_in=False, database=tier.database)
    by_day: dict[date, list[Sample]] = {}
    for sample in samples:
        by_day.setdefault(utc_date(sample.time), []).append(sample)
    for day, day_samples in sorted(by_day.items()):
        rp = rows_tier(day)
        if rp is None:
            keep_raw(tier, entity.entity_id, day, len(day_samples))
            continue
        width, groups = DAY, {utc_midnight(day): day_samples}
        if rp == HOURLY_RP:
            width, groups = HOUR, {}
            for sample in day_samples:
                hour = sample.time.replace(minute=0, second=0, microsecond=0)
                groups.setdefault(hour, []).append(sample)
        folded, aggregated = 0, None
        midnight = utc_midnight(day)
        try:
            stored = stored_rows(entity.entity_id, rp, midnight, archived)
            computed = from_raw(tier, entity, day, rp, written=not stored)
            if not stored:
                # No row at all: the entity was not tiered when the day was downsampled. Its
                # states there are the whole record, not late points: aggregate them.
                aggregated = aggregate_day(tier, entity, day, rp, computed)
                if aggregated is None:
                    continue
            elif not same_rows(of_now(stored, entity), computed):  # else: rows of these very
                # points (a crash); compared in the units of now, as a switch may have come since
                for window_start, group in sorted(groups.items()):
                    folded += fold_late(
                        entity, stored[0].kind, rp, window_start, width, group, archived
                    )
        except (StorageError, ArchiveError, LeftRaw) as exc:  # see keep_raw
            keep_raw(tier, entity.entity_id, day, len(day_samples), exc)
            continue
        faults.point("hourly:late_after_write")
        deleted = delete_raw(entity, midnight, midnight + DAY, tier.database, tier.raw_rp)
        account_day(tier, entity, day, rp, None if aggregated is not None else folded, deleted)
        if aggregated is not None:
            value_holds_on(tier, entity, day, set(by_day), archived)


def keep_raw(tier: HourlyTier, entity_id: str, day: date, points: int,
             why: Exception | None = None) -> None:  # fmt: skip
    """Say why an entity's raw points of a day stay: the daily tier has not finished the day
    (`why` None), its archived row could not be read (StorageError, ArchiveError: only the
    daily row of an archived day), or its rows would hold a field InfluxDB cannot (LeftRaw)."""
    if isinstance(why, LeftRaw):
        note = f"{entity_id}: {counted(points, 'raw point')} of {day} kept raw: {why}; {LEFT_RAW}"
        tier.outcome.leave_out(entity_id, note)
        return
    tier.late_unread = True
    reason = " until the daily tier has finished that day"
    if why is not None:
        reason = f": the day is archived and its row could not be read from the archive ({why})"
    tier.outcome.waiting.append(
        f"{entity_id}: {counted(points, 'late point')} of {day} kept raw{reason}"
    )


def account_day(tier: HourlyTier, entity: Entity, day: date, rp: str, folded: int | None,
                deleted: int) -> None:  # fmt: skip
    """Log and count an entity's day done (`folded`: its late points folded in; None: the day
    was aggregated, as it had no rows)."""
    if folded is None:
        logger.info(
            "%s: %s of %s (not tiered when the day was downsampled) aggregated into %s rows "
            "and deleted",
            entity.entity_id, counted(deleted, "raw point"), day, rp,
        )  # fmt: skip
    else:
        logger.warning(
            "%s: %s of %s folded into the %s rows (counts, min/max; see the README), %s "
            "deleted",
            entity.entity_id, counted(folded, "late point"), day, rp, counted(deleted, "raw point"),
        )  # fmt: skip
    tier.outcome.late_points += folded or 0
    tier.outcome.processed += folded or 0
    tier.outcome.deleted += deleted
    tier.outcome.entities.add(entity.entity_id)


def value_holds_on(
    tier: HourlyTier, entity: Entity, day: date, with_states: set[date], archived: ArchivedRows
) -> None:
    """The downsampled days after `day` (just aggregated: the entity had no rows there) in which
    it has no state and no row: its value holds on through them, so they get the rows of a value
    that holds, as the hourly tier gives any day; else their means and energy were lost. Stops
    at a day with its states (aggregated in turn), with rows, not downsampled yet (the hourly
    run carries the value in), kept raw, or once nothing is in force."""
    day += DAY
    while day not in with_states:
        chunk = find_chunk(TierChunk.Tier.HOURLY, day)
        if chunk is None or chunk.state != TierChunk.State.DELETED:
            return
        if entity.entity_id in (chunk.kept_raw or []):
            return
        rp = rows_tier(day)
        try:
            if rp is None:
                tier.outcome.waiting.append(
                    f"{entity.entity_id}: the days from {day} on, where its value holds, wait "
                    "for the daily tier to finish that day"
                )
                return
            if stored_rows(entity.entity_id, rp, utc_midnight(day), archived):
                return
            computed = from_raw(tier, entity, day, rp)
        except (StorageError, ArchiveError) as exc:
            tier.outcome.waiting.append(
                f"{entity.entity_id}: the days from {day} on, where its value holds, wait: "
                f"the day is archived and its row could not be read from the archive ({exc})"
            )
            return
        except LeftRaw:  # its states there stay raw: _fold names them
            return
        if not computed or aggregate_day(tier, entity, day, rp, computed) is None:
            return
        tier.outcome.entities.add(entity.entity_id)
        day += DAY


def rows_tier(day: date) -> str | None:
    """Where a downsampled day's rows are: hourly, daily once composed (None meanwhile)."""
    chunk = find_chunk(TierChunk.Tier.DAILY, day)
    if chunk is None:
        return HOURLY_RP
    return DAILY_RP if chunk.state == TierChunk.State.DELETED else None


def fold_late(
    entity: Entity,
    kind: str,
    rp: str,
    window_start: datetime,
    width: timedelta,
    samples: list[Sample],
    archived: ArchivedRows,
) -> int:
    """Fold late samples into the entity's row of [window_start, + width) (`merge_late`);
    returns how many were new. Verified by reading the row back; raises VerificationFailed
    otherwise."""
    row = (stored_rows(entity.entity_id, rp, window_start, archived, width) or [None])[0]
    merged = merge_late(entity, kind, row, window_start, width, samples)
    if merged is None:
        return 0
    write_rows(rp, [merged[0]])
    check_folded(rp, [merged[0]], read_rows(rp, window_start, window_start + width,
                                            entity.entity_id))  # fmt: skip
    return merged[1]


def merge_late(entity: Entity, kind: str, row: TierRow | None, window_start: datetime,
               width: timedelta, samples: list[Sample]) -> tuple[TierRow, int] | None:  # fmt: skip
    """The entity's stored `row` of [window_start, + width) (None: it has none) with the late
    samples folded in, of the `kind` its day's rows were computed as (the registry's kind may
    have changed since: a row under another kind tag would be a second row of the window),
    and how many were new; None when none was (already folded ones, named in `late_times`,
    are skipped)."""
    seen = row.late_times() if row is not None else set()
    fresh = [s for s in samples if micros(s.time) not in seen]
    if not fresh:
        return None
    window_end = window_start + width
    kind = row.kind if row is not None else kind
    now = units_of_now(entity)
    if row is not None:  # computed before a unit switch: in the units of the late points
        [row] = of_now([row], entity)
    late = aggregate_window(kind, fresh, window_start, window_end)
    base = row.aggregate(width) if row is not None else Aggregate(window_start, window_end, kind)
    if late is not None:
        base.sample_count += late.sample_count
        base.gap_count += late.gap_count
        if kind in VALUE_KINDS:
            lows = [v for v in (base.min_value, late.min_value) if v is not None]
            highs = [v for v in (base.max_value, late.max_value) if v is not None]
            base.min_value = min(lows) if lows else None
            base.max_value = max(highs) if highs else None
    kept = {k: v for k, v in (row.fields if row else {}).items() if k.startswith("carry_")}
    times = sorted(seen | {micros(s.time) for s in fresh})
    fields = {**base.to_fields(), **kept, **now, LATE_TIMES: ",".join(map(str, times))}
    return TierRow(entity.entity_id, kind, window_start, fields), len(fresh)


def check_folded(rp: str, written: list[TierRow], got: dict[str, list[TierRow]]) -> None:
    """Each row `written` with late points as read back (`got`: entity id -> rows); raises
    VerificationFailed naming the first that differs."""
    for row in written:
        have = next((r for r in got.get(row.entity_id, []) if r.start == row.start), None)
        problems = differences(row.fields, have.fields) if have else ["row missing"]
        if problems:
            raise VerificationFailed(
                f"{row.entity_id}: the {rp} row of {row.start.isoformat()} with late points "
                f"reads back differently ({'; '.join(problems)}); the late points were kept."
            )


def stored_rows(entity_id: str, rp: str, start: datetime, archived: ArchivedRows,
                width: timedelta = DAY, found: dict[str, list[TierRow]] | None = None
                ) -> list[TierRow]:  # fmt: skip
    """The entity's rows of [start, + width) in `rp` (from `found`, the window's rows of a
    group of entities, when given); a daily row archived and deleted from InfluxDB as the
    archive holds it (read under the archive's lock: `archived`)."""
    if found is None:
        found = read_rows(rp, start, start + width, entity_id)
    rows = found.get(entity_id, [])
    if not rows and rp == DAILY_RP:
        rows = [row] if (row := archived.row(entity_id, start)) is not None else []
    return rows


class LeftRaw(Exception):
    """The entity's rows of a day would hold a field InfluxDB cannot: its states stay raw."""


def from_raw(tier: HourlyTier, entity: Entity, day: date, rp: str, written: bool = True,
             reads: GroupReads | None = None) -> list[TierRow]:  # fmt: skip
    """The entity's rows of the day in `rp` as the tiers compute them from its raw states (the
    hourly tier's hours; composed into the daily row, with its last hour's carry-in fields);
    LeftRaw when they are to be `written` and InfluxDB cannot hold one of their fields (none
    when they are only compared: late points are folded into the stored rows without them).
    `reads`: the day's reads of a group of entities holding it (`HourlyTier.compute`)."""
    computed = tier.compute(entity, day, reads)
    if written and computed.unwritable:
        raise LeftRaw(computed.unwritable)
    hours = computed.rows
    start = utc_midnight(day)
    if rp == HOURLY_RP or not hours:
        return hours
    daily = compose(entity.kind, [row.aggregate(HOUR) for row in hours], start, start + DAY)
    assert daily is not None  # there are hours
    carry = {k: v for k, v in hours[-1].fields.items() if k.startswith("carry_")}
    fields = {**daily.to_fields(), **carry, **units_of_now(entity)}
    return [TierRow(entity.entity_id, entity.kind, start, fields)]


def of_now(rows: list[TierRow], entity: Entity) -> list[TierRow]:
    """The rows with their readings in the units of now (`retention.tiers.row_units`)."""
    now = units_of_now(entity)
    return [TierRow(r.entity_id, r.kind, r.start, in_units_of_now(r.fields, entity, now))
            for r in rows]  # fmt: skip


def same_rows(stored: list[TierRow], computed: list[TierRow]) -> bool:
    """Whether the stored rows are the computed ones (times and aggregate fields)."""
    if [row.start for row in stored] != [row.start for row in computed]:
        return False
    for have, want in zip(stored, computed, strict=True):
        a, b = (
            {k: v for k, v in row.fields.items() if not is_own_field(k)} for row in (want, have)
        )
        if a.keys() != b.keys() or differences(a, b):
            return False
    return True


def aggregate_day(
    tier: HourlyTier, entity: Entity, day: date, rp: str, rows: list[TierRow]
) -> int | None:
    """Write the entity's rows of a day it has none of, read them back and check them against
    its raw states; returns the raw points they hold, None when they do not hold all (the
    states stay, named in the run's notes)."""
    start = utc_midnight(day)
    write_rows(rp, rows)
    got = {
        r.start: r
        for r in read_rows(rp, start, start + DAY, entity.entity_id).get(entity.entity_id, [])
    }
    raw = ha_source.count_samples(entity, start, start + DAY, database=tier.database)
    problems = [
        p
        for row in rows
        for p in differences(row.fields, got[row.start].fields if row.start in got else {})
    ]
    points = sum(row.points for row in rows)
    if raw != points:
        problems.append(f"the rows written of them hold {counted(points, 'point')}")
    if problems:
        tier.outcome.waiting.append(
            f"{entity.entity_id}: {counted(raw, 'raw point')} of {day} (it was not tiered when "
            f"the day was downsampled) kept raw: {'; '.join(problems)}"
        )
        return None
    tier.outcome.processed += points
    tier.outcome.rows_written += len(rows)
    return points
