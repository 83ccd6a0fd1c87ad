"""The hourly tier computes the next day's rows while the current day is written, verified
and deleted (`Lookahead`): InfluxDB works on one core while Python aggregates on the other.

It changes nothing in what a run writes, or in what order: it only moves a computation that
reads nothing but the next day's raw points earlier in time. A day's rows are computed ahead
only when the result is known to be the one the day would compute after the current day is
done:

- the next day has no chunk yet (a fresh day: every entity is aggregated from raw);
- every tiered entity got hourly rows on the current day (none kept its raw states, none
  had nothing): the next day's carry-in is then the current day's last row of each entity,
  exactly as it reads back once written (`differences` checks that, and floats travel as
  `repr`), so no raw carry-in and no chain query is needed;
- every entity is of the official layout, and the reader thread parsed the next day's
  points without leaving an entity to `ha_source` (which reads through the run's own
  connection).

Otherwise, or if computing ahead raised, the day is computed when its turn comes.
The result is used only if the day is still fresh when its turn comes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from retention.models import Entity
from retention.tiers import reads as tier_reads
from retention.tiers.chunks import find_chunk
from retention.timeutil import utc_midnight


class Lookahead:
    """At most one day computed ahead, in one worker thread."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[date, Future] | None = None

    def start(self, day: date, compute: Callable[[], list | None]) -> None:
        """Compute `day`'s entity-days now, in the worker thread."""
        self.drop()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tier-ahead")
        self._pending = (day, self._pool.submit(compute))

    def take(self, day: date) -> list | None:
        """The entity-days computed ahead for `day`, None when there are none (or computing
        them failed: the day is then computed in turn, and fails there if it must)."""
        if self._pending is None or self._pending[0] != day:
            self.drop()
            return None
        future = self._pending[1]
        self._pending = None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - recomputed in turn, where errors are handled
            return None

    def drop(self) -> None:
        """Cancel what was computed ahead and not taken, waiting for it to stop."""
        if self._pending is None:
            return
        future = self._pending[1]
        self._pending = None
        future.cancel()
        try:
            future.result()
        except BaseException:  # noqa: BLE001 - a dropped look-ahead's outcome does not matter
            pass

    def close(self) -> None:
        """Drop what was not taken and end the worker thread."""
        self.drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def plan(tier: Any, day: date, computed: list, kept: list[str]) -> Callable[[], list | None] | None:
    """What computes `day` + 1 ahead for the hourly `tier`, given the current day's
    entity-days with rows (`computed`) and kept entities; None when it must wait its turn."""
    following = day + timedelta(days=1)
    if following not in tier.work_set or kept:
        return None
    entities: list[Entity] = tier.entities
    previous = {item.entity.entity_id: item.rows[-1] for item in computed if item.rows}
    if len(previous) != len(entities) or len(tier_reads.official(entities)) != len(entities):
        return None
    if find_chunk(tier.tier, following) is not None:
        return None
    start = utc_midnight(following)

    def compute() -> list | None:
        out = []
        for group in tier_reads.groups(entities):
            reads = tier.reader.ahead(start, group, previous)
            if reads is None:
                return None
            out.extend(tier.compute(entity, following, reads) for entity in group)
        return out

    return compute
