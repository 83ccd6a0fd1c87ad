"""The hourly run's pass over late points (`retention.tiers.late`), after its days
(`fold_late_points`), holding the daily tier's lock.

Official-layout entities on InfluxDB 1.x are taken a day and a group of up to GROUP_SIZE
entities at a time (an import of history, or a Home Assistant pushing the backlog of days
offline, brings whole days of every entity): which days hold their raw points is one count by
day for each group over each run of days (`reads.days_with_samples`); each such day is read for
the group as the hourly tier reads a day (`reader.read_group`: the points, the carry-in, the
newest rows before it), the group's stored rows of the day in one query; the late points of all
its entities are folded in, written together and read back in one query, then their raw points
are counted and deleted in one statement where no other series matches it
(`reads.delete_each`), only once their rows are verified. The rows are those of
`late.fold_entity`, which takes the HA Ingestor layout and InfluxDB 2.x entity by entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from enrich.redis.lock import RunLock
from retention import faults
from retention.archive.errors import ArchiveError
from retention.archive.store import StorageError
from retention.entities.samples import Sample
from retention.models import Entity, RetentionRun
from retention.tiers import density
from retention.tiers import reads as tier_reads
from retention.tiers.archived import ArchivedRows
from retention.tiers.chunks import day_runs, deleted_days, lock_taken, run_lock, still_held
from retention.tiers.hourly import DAY, HOUR, HourlyTier
from retention.tiers.late import (
    LeftRaw,
    account_day,
    aggregate_day,
    check_folded,
    fold_entity,
    from_raw,
    keep_raw,
    merge_late,
    of_now,
    rows_tier,
    same_rows,
    stored_rows,
    value_holds_on,
)
from retention.tiers.raw_delete import delete_raw
from retention.tiers.reader import read_group
from retention.tiers.rows import HOURLY_RP, TierRow, read_rows, write_rows
from retention.tiers.window import window_samples
from retention.timeutil import utc_midnight


def fold_late_points(tier: HourlyTier, lock: RunLock, run_id: int) -> None:
    """Fold raw points found in the tier's days already downsampled into their rows (see
    `retention.tiers.late`), then delete them; then give the downsampled days an entity has no
    rows in while its value held (it was not tiered then: `tier.holes`) the rows of that value.
    `run_id`: the hourly run doing it, named by the daily tier's lock (and the archive's) while
    it holds it."""
    ranges = day_runs(deleted_days(tier.tier, tier.start, tier.end))
    daily_lock: RunLock | None = None
    hourly = RetentionRun.Operation.DOWNSAMPLE_HOURLY.label
    archived = ArchivedRows(f"{hourly} run {run_id} folding late points into archived days")
    try:
        pieces = list(density.with_raw(tier.entities, ranges, tier.database))
        if pieces and (daily_lock := _daily_lock(tier, run_id)) is None:
            return
        batched = {e.entity_id for e in tier_reads.official([piece[0] for piece in pieces])}
        days, with_states = _late_days([p for p in pieces if p[0].entity_id in batched],
                                       tier.database)  # fmt: skip
        for day in sorted(days):
            for group in tier_reads.groups(days[day]):
                fold_day(tier, day, group, with_states, archived)
                still_held(lock, daily_lock, *archived.locks)
        for entity, start, end in pieces:
            if entity.entity_id not in batched:
                fold_entity(tier, entity, start, end, archived)
                still_held(lock, daily_lock, *archived.locks)
        for entity in tier.entities:
            for last in sorted(tier.holes.get(entity.entity_id, ())):
                if daily_lock is None and (daily_lock := _daily_lock(tier, run_id)) is None:
                    return
                value_holds_on(tier, entity, last, set(), archived)
                still_held(lock, daily_lock, *archived.locks)
    finally:
        archived.release()
        if daily_lock is not None:
            daily_lock.release()


def _daily_lock(tier: HourlyTier, run_id: int) -> RunLock | None:
    """The daily tier's lock (hourly rows must not change while it composes them, nor daily
    rows while the archive checks and deletes them), or None with a note naming who holds it."""
    hourly = RetentionRun.Operation.DOWNSAMPLE_HOURLY.label
    daily = RetentionRun.Operation.DOWNSAMPLE_DAILY
    daily_lock = run_lock(daily, owner=f"{hourly} run {run_id} folding late points")
    if daily_lock.acquire():
        return daily_lock
    held = lock_taken(daily, daily_lock.holder())
    tier.late_unread = True
    tier.outcome.waiting.append(f"late points not folded in: {held}; the next run does it")
    return None


def _late_days(pieces: Sequence[tuple[Entity, datetime, datetime]], database: str
               ) -> tuple[dict[date, list[Entity]], dict[str, set[date]]]:  # fmt: skip
    """(day -> the entities with raw points in it, entity id -> those days) of the official
    entities' runs of days with raw points (`density.with_raw`)."""
    by_range: dict[tuple[datetime, datetime], list[Entity]] = {}
    for entity, start, end in pieces:
        by_range.setdefault((start, end), []).append(entity)
    with_states: dict[str, set[date]] = {}
    for (start, end), entities in by_range.items():
        if end - start == DAY:  # with_raw found points there
            found = {entity.entity_id: {start.date()} for entity in entities}
        else:
            found = tier_reads.days_with_samples(entities, start, end, database)
        for entity_id, days in found.items():
            with_states.setdefault(entity_id, set()).update(days)
    entities = {entity.entity_id: entity for entity, _, _ in pieces}
    by_day: dict[date, list[Entity]] = {}
    for entity_id in sorted(with_states):
        for day in with_states[entity_id]:
            by_day.setdefault(day, []).append(entities[entity_id])
    return by_day, with_states


def fold_day(tier: HourlyTier, day: date, group: list[Entity],
             with_states: dict[str, set[date]], archived: ArchivedRows) -> None:  # fmt: skip
    """Fold the raw points of the day of a group of official entities into their rows (or
    aggregate the day of one without rows, as `late.fold_entity` does), verify them, then
    delete the raw points."""
    start = utc_midnight(day)
    rp = rows_tier(day)
    if rp is None:
        samples = window_samples(group, start, start + DAY, tier.database)
        for entity in (e for e in group if samples[e.entity_id]):
            keep_raw(tier, entity.entity_id, day, len(samples[entity.entity_id]))
        return
    reads = read_group(group, start, tier.database, None)
    late = [entity for entity in group if reads.samples[entity.entity_id]]
    found = read_rows(rp, start, start + DAY, [entity.entity_id for entity in late])
    folded: dict[str, int] = {}  # entity id -> late points folded in (absent: aggregated)
    merged: list[TierRow] = []
    done: list[Entity] = []
    for entity in late:
        day_samples = reads.samples[entity.entity_id]
        try:
            stored = stored_rows(entity.entity_id, rp, start, archived, found=found)
            computed = from_raw(tier, entity, day, rp, written=not stored, reads=reads)
            if not stored:
                # No row at all: the entity was not tiered when the day was downsampled. Its
                # states there are the whole record, not late points: aggregate them.
                if aggregate_day(tier, entity, day, rp, computed) is None:
                    continue
            else:
                folded[entity.entity_id] = 0
                if not same_rows(of_now(stored, entity), computed):  # else: rows of these very
                    # points (a crash); compared in the units of now, as a switch may have come
                    for row, fresh in _merged(entity, rp, start, stored, day_samples):
                        merged.append(row)
                        folded[entity.entity_id] += fresh
        except (StorageError, ArchiveError, LeftRaw) as exc:  # see keep_raw
            keep_raw(tier, entity.entity_id, day, len(day_samples), exc)
            continue
        done.append(entity)
    if not done:
        return
    if merged:
        write_rows(rp, merged)
        ids = sorted({row.entity_id for row in merged})
        check_folded(rp, merged, read_rows(rp, start, start + DAY, ids))
    faults.point("hourly:late_after_write")
    deleted = _delete(tier, start, done)
    for entity in done:
        account_day(tier, entity, day, rp, folded.get(entity.entity_id),
                    deleted.get(entity.entity_id, 0))  # fmt: skip
        if entity.entity_id not in folded:
            value_holds_on(tier, entity, day, with_states[entity.entity_id], archived)


def _merged(entity: Entity, rp: str, start: datetime, stored: list[TierRow],
            samples: list[Sample]) -> list[tuple[TierRow, int]]:  # fmt: skip
    """The entity's `stored` rows of a day with its late samples folded in (`late.merge_late`,
    window by window: hours, or the day once it is daily), and how many each took in."""
    width, windows = DAY, {start: samples}
    if rp == HOURLY_RP:
        width, windows = HOUR, {}
        for sample in samples:
            windows.setdefault(sample.time.replace(minute=0, second=0, microsecond=0),
                               []).append(sample)  # fmt: skip
    by_start = {row.start: row for row in stored}
    rows = []
    for window_start, group in sorted(windows.items()):
        row = by_start.get(window_start)
        if (one := merge_late(entity, stored[0].kind, row, window_start, width, group)) is not None:
            rows.append(one)
    return rows


def _delete(tier: HourlyTier, start: datetime, entities: list[Entity]) -> dict[str, int]:
    """Delete the entities' raw points of the day at `start` (their rows verified); returns
    the points deleted of each."""
    end, database, raw_rp = start + DAY, tier.database, tier.raw_rp
    present = tier_reads.count_samples(entities, start, end, database)
    targets = [(entity, present[entity.entity_id]) for entity in entities
               if present[entity.entity_id]]  # fmt: skip
    if not targets:
        return {}
    return tier_reads.delete_each(
        targets, start, end, database, raw_rp,
        lambda entity, n: delete_raw(entity, start, end, database, raw_rp, n),
        after_first=lambda: None,
    )  # fmt: skip
