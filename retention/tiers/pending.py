"""The hourly tier's deletes, a few verified days at a time (`PendingDeletes`).

InfluxDB 1.6 applies each DELETE statement to every shard of the database, whatever its time
range: on a settled dense year, deleting seven days took about as long as deleting one
(0.13-0.20 s each; bench/README.md). So the hourly tier does not delete a day as soon as it is
verified: it holds up to DELETE_BATCH_DAYS consecutive verified days and deletes their raw
points in one statement per group of entities.

What stays as strict as a day at a time:
- a day is deleted only once verified, and its chunk stays "verified" until the delete ran:
  a crash leaves verified days, which a rerun resumes entity by entity (`HourlyTier`);
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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from enrich.redis.lock import RunLock
from retention import faults
from retention.models import Entity, TierChunk
from retention.tiers import reads as tier_reads
from retention.tiers.chunks import set_chunk, still_held
from retention.tiers.raw_delete import delete_raw
from retention.timeutil import utc_midnight

logger = logging.getLogger(__name__)

DELETE_BATCH_DAYS = 7
DAY = timedelta(days=1)


@dataclass
class _Day:
    day: date
    present: dict[str, int]  # raw points to delete per entity (verified counts)
    deletable: set[str]  # entities whose raw points of the day the hourly rows account for
    alone: dict[frozenset[str], bool]  # tier_reads.alone_groups of the day


@dataclass
class PendingDeletes:
    """Verified days of the hourly `tier` waiting for their delete (see the module doc)."""

    tier: object  # HourlyTier (its database, raw_rp, side, outcome, process_day)
    days: list[_Day] = field(default_factory=list)
    limit: int = DELETE_BATCH_DAYS
    entities: dict[str, Entity] = field(default_factory=dict)

    def add(self, day: date, targets: list[tuple[Entity, int]],
            alone: dict[frozenset[str], bool], lock: RunLock) -> None:  # fmt: skip
        """Hold the verified `day` (`targets`: every entity its hourly rows account for, with
        its raw points to delete, 0 for none); deleted with the days held before it, or first
        on its own when it cannot join them."""
        present = {entity.entity_id: n for entity, n in targets if n}
        deletable = {entity.entity_id for entity, _ in targets}
        self.entities.update((entity.entity_id, entity) for entity, _ in targets)
        if self.days and not self._joins(day, present, deletable):
            self.flush(lock)
        self.days.append(_Day(day, present, deletable, alone))
        if len(self.days) >= self.limit:
            self.flush(lock)

    def _joins(self, day: date, present: dict[str, int], deletable: set[str]) -> bool:
        if day != self.days[-1].day + DAY:
            return False
        touched = set(present).union(*(held.present for held in self.days))
        return all(touched <= held.deletable for held in self.days) and touched <= deletable

    def flush(self, lock: RunLock) -> None:
        """Delete the held days' raw points (see the module doc) and mark them "deleted"."""
        if not self.days:
            return
        held, self.days = self.days, []
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
            meanwhile=lambda: _mark_deleted(tier.tier, held))  # fmt: skip

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


def _together(held: list[_Day]) -> dict[frozenset[str], bool]:
    """The groups every held day found alone in its window (`tier_reads.alone_groups`)."""
    keys = set(held[0].alone).intersection(*(item.alone for item in held[1:]))
    return {key: all(item.alone[key] for item in held) for key in keys}


def _mark_deleted(tier: str, held: list[_Day]) -> None:
    for item in held:
        set_chunk(tier, item.day, TierChunk.State.DELETED)
