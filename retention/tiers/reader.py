"""The hourly tier's reads of a day for a group of entities (`GroupReads`), read one group
ahead: `Prefetch` reads the next group (or the first group of the next day) in a thread with
its own connection while the current one is aggregated, verified and deleted. The reads are
batched as `retention.tiers.reads` tells.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from enrich.influx import get_timeseries
from enrich.influx.bulk import supports_csv
from retention.entities.samples import Sample
from retention.models import Entity
from retention.tiers.reads import GROUP_SIZE, carried_in, groups, official
from retention.tiers.rows import DAILY_RP, TierRow, last_rows_before, recent
from retention.tiers.side import Side
from retention.tiers.window import Fetched, fetch, window_samples
from retention.timeutil import DAY, utc_midnight


@dataclass
class GroupReads:
    """What the hourly tier reads for a group of entities and a day."""

    samples: dict[str, list[Sample]]  # the day's samples
    carried: dict[str, Sample | None]  # the sample in force when the day opens
    previous: dict[str, TierRow]  # the newest hourly row before the day
    # The newest daily row before the day of the entities whose newest hourly row is older
    # than the day before (`rows.recent`: days kept raw, composed since); None: not read.
    daily: dict[str, TierRow] | None = None


def read_group(entities: Sequence[Entity], start: datetime, database: str,
               fetched: Fetched | None) -> GroupReads:  # fmt: skip
    previous = last_rows_before([e.entity_id for e in entities], start, GROUP_SIZE)
    older = [e.entity_id for e in entities if not recent(previous.get(e.entity_id), start)]
    return GroupReads(
        window_samples(entities, start, start + DAY, database, fetched),
        carried_in(entities, start, database),
        previous,
        last_rows_before(older, start, GROUP_SIZE, DAILY_RP),
    )


# --- reading ahead ---------------------------------------------------------------------------
class Prefetch:
    """Reads the windows of (day, group) units in order, one unit ahead, in a thread with its
    own connection to InfluxDB (`Side`), and parses it there (`Fetched.parse_ahead`) while the
    main thread writes, verifies and deletes the current day.
    `get(start, entities)` returns that unit's `tier_window.fetch`, None for a unit that was
    not planned (the caller reads it itself)."""

    def __init__(self, units: list[tuple[datetime, datetime, tuple[Entity, ...]]],
                 database: str) -> None:  # fmt: skip
        self.units = units
        self.database = database
        self._thread = Side("tier-prefetch")
        self._futures: dict[int, Future] = {}

    def _fetch(self, index: int) -> Fetched | None:
        start, end, entities = self.units[index]
        batched, ts = official(entities), get_timeseries()
        if not batched or not supports_csv(ts):
            return None
        fetched = fetch(ts, batched, start, end, self.database)
        fetched.parse_ahead(batched)
        return fetched

    def get(self, start: datetime, entities: Sequence[Entity]) -> Fetched | None:
        key = (start, tuple(entities))
        index = next((i for i, u in enumerate(self.units) if (u[0], u[2]) == key), None)
        if index is None:
            return None
        future = self._futures.pop(index, None)
        for stale in [i for i in self._futures if i < index]:
            self._futures.pop(stale).cancel()
        if index + 1 < len(self.units) and index + 1 not in self._futures:
            self._futures[index + 1] = self._thread.submit(self._fetch, index + 1)
        return future.result() if future is not None else self._fetch(index)

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._thread.close()


class Reader:
    """The hourly tier's reads for one run: `groups(start, entities)` gives each group of the
    day with its `GroupReads`; the planned (`days`) units are read one ahead (`Prefetch`)."""

    def __init__(self, entities: Sequence[Entity], database: str) -> None:
        self.entities = list(entities)
        self.database = database
        self.days: list = []
        self._prefetch: Prefetch | None = None

    def groups(self, start: datetime, entities: Sequence[Entity]
               ) -> Iterator[tuple[list[Entity], GroupReads]]:  # fmt: skip
        if self._prefetch is None:
            units = [(at, at + DAY, tuple(g)) for at in map(utc_midnight, self.days)
                     for g in groups(self.entities)]  # fmt: skip
            self._prefetch = Prefetch(units, self.database)
        for group in groups(entities):
            fetched = self._prefetch.get(start, group)
            yield group, read_group(group, start, self.database, fetched)

    def ahead(self, start: datetime, group: Sequence[Entity], previous: dict[str, TierRow]
              ) -> GroupReads | None:  # fmt: skip
        """The group's reads of the day at `start` for computing it ahead (`tier_ahead`): its
        points as the reader thread parsed them, no raw carry-in and `previous` as each
        entity's last hourly row; None when an entity needs `ha_source`."""
        fetched = self._prefetch.get(start, group) if self._prefetch is not None else None
        if fetched is None or fetched.parsed is None:
            return None
        ids, samples, redo = fetched.parsed
        if redo or ids != tuple(e.entity_id for e in group):
            return None
        return GroupReads(samples, dict.fromkeys(ids), {i: previous[i] for i in ids})

    def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.close()
