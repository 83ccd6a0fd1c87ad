"""Verified days held to be deleted together (`HeldDays`, both tiers), and the hourly tier's
deletes of raw points, a few verified days at a time (`PendingDeletes`).

InfluxDB 1.6 applies each DELETE statement to every shard of the database, whatever its time
range: on a settled dense year, deleting seven days took about as long as deleting one
(0.13-0.20 s each; bench/README.md). So the hourly tier does not delete a day as soon as it is
verified: it holds up to DELETE_BATCH_DAYS consecutive verified days and deletes their raw
points in one statement per group of entities.

What stays as strict as a day at a time:
- a day is deleted only once verified, and its chunk stays "verified" until the delete ran:
  a crash leaves verified days, which a rerun resumes entity by entity (`HourlyTier`); each
  statement, once it ran, names its entities in the days' chunks (`TierChunk.raw_deleted`),
  so raw points of theirs a rerun finds there are late points, never leftovers to delete;
- a statement covers only entities whose raw points every day of the batch accounts for
  (aggregated that day, or left to delete after an interrupted delete); an entity kept raw
  on one of the days (`retention.tiers.density`) is never in it;
- just before the delete the batch's raw points are counted again: if a point arrived
  meanwhile in one of its days, nothing is deleted and each day is taken again on its own
  (a late point is aggregated, never deleted unseen). A single day that changes again stays
  "verified" for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from enrich.redis.lock import RunLock
from retention import faults
from retention.models import Entity, TierChunk
from retention.tiers import reads as tier_reads
from retention.tiers.chunks import set_chunk, still_held
from retention.tiers.raw_delete import delete_raw
from retention.timeutil import DAY, utc_midnight

logger = logging.getLogger(__name__)

DELETE_BATCH_DAYS = 7


class _Dated(Protocol):
    day: date


D = TypeVar("D", bound=_Dated)


@dataclass
class _Day:
    day: date
    present: dict[str, int]  # raw points to delete per entity (verified counts)
    deletable: set[str]  # entities whose raw points of the day the hourly rows account for
    alone: dict[frozenset[str], bool]  # tier_reads.alone_groups of the day


class HeldDays(Generic[D]):
    """Verified days waiting to be deleted together: consecutive days, at most `limit`, each
    accepted by `joins(held, item)` next to the days held before it; `flush` hands them to
    `delete(held, lock)`. Both tiers hold their days this way."""

    def __init__(self, joins: Callable[[list[D], D], bool],
                 delete: Callable[[list[D], RunLock], None]) -> None:  # fmt: skip
        self.joins, self.delete = joins, delete
        self.limit = DELETE_BATCH_DAYS
        self.days: list[D] = []

    def add(self, item: D, lock: RunLock) -> None:
        """Hold `item`; the days held before it are deleted first when it cannot join them."""
        last = self.days[-1] if self.days else None
        if last is not None and not (item.day == last.day + DAY and self.joins(self.days, item)):
            self.flush(lock)
        self.days.append(item)
        if len(self.days) >= self.limit:
            self.flush(lock)

    def flush(self, lock: RunLock) -> None:
        """Delete the held days (none: nothing to do)."""
        if self.days:
            held, self.days = self.days, []
            self.delete(held, lock)


class PendingDeletes(HeldDays[_Day]):
    """Verified days of the hourly `tier` waiting for their delete (see the module doc)."""

    def __init__(self, tier) -> None:  # HourlyTier (database, raw_rp, side, outcome, process_day)
        super().__init__(_joins, self._delete)
        self.tier = tier
        self.entities: dict[str, Entity] = {}

    def hold(self, day: date, targets: list[tuple[Entity, int]],
             alone: dict[frozenset[str], bool], lock: RunLock) -> None:  # fmt: skip
        """Hold the verified `day` (`targets`: every entity its hourly rows account for, with
        its raw points to delete, 0 for none)."""
        present = {entity.entity_id: n for entity, n in targets if n}
        deletable = {entity.entity_id for entity, _ in targets}
        self.entities.update((entity.entity_id, entity) for entity, _ in targets)
        self.add(_Day(day, present, deletable, alone), lock)

    def _delete(self, held: list[_Day], lock: RunLock) -> None:
        """Delete the held days' raw points (see the module doc) and mark them "deleted"."""
        start, end = utc_midnight(held[0].day), utc_midnight(held[-1].day) + DAY
        present: dict[str, int] = {}
        for item in held:
            for entity_id, n in item.present.items():
                present[entity_id] = present.get(entity_id, 0) + n
        targets = [(self.entities[entity_id], n) for entity_id, n in sorted(present.items())]
        tier = self.tier
        still_held(lock)
        now = tier_reads.count_samples([e for e, _ in targets], start, end, tier.database)
        changed = sorted(e for e, n in present.items() if now[e] != n)
        if changed:
            self._again(held, changed, lock)
            return
        tier.outcome.deleted += tier_reads.delete_day(
            targets, start, end, tier.database, tier.raw_rp, self._delete_one(start, end),
            lambda: faults.point("hourly:mid_delete"), tier.side, _together(held),
            meanwhile=lambda: _mark_deleted(tier.tier, held),
            done=lambda entities: _record_deleted(tier.tier, held, entities))  # fmt: skip

    def _delete_one(self, start: datetime, end: datetime) -> Callable[[Entity, int], int]:
        tier = self.tier
        return lambda entity, n: delete_raw(entity, start, end, tier.database, tier.raw_rp, n)

    def _again(self, held: list[_Day], changed: list[str], lock: RunLock) -> None:
        """Raw points changed in the held days since they were verified: take each day again
        on its own (late points are aggregated), or, for a single day, leave it verified."""
        days = ", ".join(item.day.isoformat() for item in held)
        if len(held) == 1:
            note = (f"raw points of {days} changed after it was verified ({', '.join(changed)}); "
                    "it stays verified and the next run takes it again")  # fmt: skip
            logger.warning("%s", note)
            self.tier.outcome.waiting.append(note)
            return
        logger.warning("raw points of %s changed after they were verified (%s): taking each "
                       "day again", days, ", ".join(changed))  # fmt: skip
        limit, self.limit = self.limit, 1
        try:
            for item in held:
                self.tier.process_day(item.day, lock)
        finally:
            self.limit = limit


def _joins(held: list[_Day], item: _Day) -> bool:
    """Whether every held day and `item` account for the raw points of every entity one of
    them deletes (one statement deletes them all)."""
    touched = set(item.present).union(*(day.present for day in held))
    return all(touched <= day.deletable for day in held) and touched <= item.deletable


def _together(held: list[_Day]) -> dict[frozenset[str], bool]:
    """The groups every held day found alone in its window (`tier_reads.alone_groups`)."""
    keys = set(held[0].alone).intersection(*(item.alone for item in held[1:]))
    return {key: all(item.alone[key] for item in held) for key in keys}


def _record_deleted(tier: str, held: list[_Day], entities: list[Entity]) -> None:
    """Name the entities a delete statement of the held days just ran for in their chunks
    (`TierChunk.raw_deleted`): their raw points found there by a rerun are late points."""
    ids = {entity.entity_id for entity in entities}
    chunks = list(TierChunk.objects.filter(tier=tier, day__in=[item.day for item in held]))
    for chunk in chunks:
        chunk.raw_deleted = sorted(ids.union(chunk.raw_deleted))
    TierChunk.objects.bulk_update(chunks, ["raw_deleted"])


def _mark_deleted(tier: str, held: list[_Day]) -> None:
    for item in held:
        set_chunk(tier, item.day, TierChunk.State.DELETED)
