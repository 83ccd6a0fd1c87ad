"""Days the raw -> hourly tier has no record of doing although InfluxDB holds their rows: enrich's
database came back from a backup older than InfluxDB's (docs/deployment.md, Backups), so the
chunks of the days a later run downsampled are gone, while InfluxDB keeps that run's hourly (or,
composed since, daily) rows and has no raw points left of them.

Taken for new, such a day would be aggregated again from the raw points left there (none, or
late ones only), and the rows computed from them (the value held on, `sample_count` 0) would
overwrite the rows InfluxDB holds: every point of the day lost. So an entity whose rows of a
day account for more raw points (`sample_count + gap_count`) than InfluxDB holds of it that day
is left out of the day's aggregation (`forgotten`): its rows stay as they are, and raw points of
it found there are late points, folded in once the day is deleted (`retention.tiers.late`).
The raw points its rows account for beyond those left are the run's `raw_points_forgotten`,
which `raw_points_removed` of the storage statistics counts, as the forgotten run's record did:
counted once the day is verified, as the run's other counts are, so a run that stops before
(and the rerun taking the day again) counts them once.
Likewise a day the database records verified, an entity's delete statement not recorded run
(`TierChunk.raw_deleted`) although no raw point of it is left: the run that deleted them stopped
before recording it (or the database came back from a backup taken then), and no run's record
counts those points; they are counted so too (`gone`), once: the entity is recorded then.
A day a run stopped after writing holds rows accounting for as many points as its raw data, so
it is aggregated again as before. The run's `details.waiting` names the entities and days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from django.conf import settings

from enrich.influx import get_timeseries, quote_ident
from retention.models import Entity, TierChunk
from retention.tiers import reads as tier_reads
from retention.tiers.chunks import Outcome
from retention.tiers.rows import DAILY_RP, HOURLY_RP, MEASUREMENT, read_rows
from retention.timeutil import DAY, utc_date, utc_midnight


def days_holding(rp: str, start: datetime, end: datetime) -> set[date]:
    """The UTC days in [start, end) that hold a row of the tier `rp`."""
    query = (
        f'SELECT COUNT("sample_count") FROM {quote_ident(settings.TIER_DATABASE)}.'
        f"{quote_ident(rp)}.{quote_ident(MEASUREMENT)} WHERE time >= $start AND time < $end "
        "GROUP BY time(1d) fill(none)"
    )
    params = {"start": start, "end": end}
    with get_timeseries().query(settings.TIER_DATABASE, query, params=params) as rows:
        return {utc_date(row.time) for row in rows if any(row.values.values())}


def days_with_rows(days: Sequence[date]) -> set[date]:
    """Of `days` (in order), those holding an hourly or daily row: one query per tier."""
    if not days:
        return set()
    start, end = utc_midnight(days[0]), utc_midnight(days[-1]) + DAY
    found = days_holding(HOURLY_RP, start, end) | days_holding(DAILY_RP, start, end)
    return found & set(days)


def forgotten(
    entities: Sequence[Entity], start: datetime, end: datetime, database: str
) -> dict[str, int]:
    """Entity id -> the raw points its hourly and daily rows of [start, end) account for, of
    the entities whose rows account for more than InfluxDB holds of them there (module doc)."""
    held: dict[str, int] = {}
    for rp in (HOURLY_RP, DAILY_RP):
        for entity_id, rows in read_rows(rp, start, end).items():
            held[entity_id] = held.get(entity_id, 0) + sum(row.points for row in rows)
    ids = set(held)
    counts = tier_reads.count_samples([e for e in entities if e.entity_id in ids], start, end,
                                      database)  # fmt: skip
    return {entity_id: points for entity_id, points in held.items()
            if entity_id in counts and points > counts[entity_id]}  # fmt: skip


class Forgotten:
    """A raw -> hourly run's look for such days: `leave` at each day not verified yet (by a dry
    run only where the tiers exist), `verified` once it is, `notes` at the end."""

    def __init__(self, database: str, outcome: Outcome) -> None:
        self.database = database
        self.outcome = outcome  # the run's: counts the points in `forgotten`
        self.days: set[date] | None = None  # the run's days holding rows, once looked at
        self.found: dict[str, list[date]] = {}  # entity id -> its days left as they are
        self.points: dict[str, int] = {}
        self.unverified: dict[date, int] = {}  # day -> its points, counted once it is verified

    def leave(self, day: date, entities: Sequence[Entity], days: Sequence[date]) -> list[Entity]:
        """`entities` but those whose rows of `day` InfluxDB keeps as they are (module doc);
        `days`: the run's, in order, looked at in one query per tier at the first day."""
        if self.days is None:
            self.days = days_with_rows(days)
        if day not in self.days:
            return list(entities)
        start = utc_midnight(day)
        found = forgotten(entities, start, start + DAY, self.database)
        for entity_id, points in found.items():
            self.found.setdefault(entity_id, []).append(day)
            self.points[entity_id] = self.points.get(entity_id, 0) + points
        self.unverified[day] = sum(found.values())
        return [entity for entity in entities if entity.entity_id not in found]

    def verified(self, day: date) -> None:
        """`day` is verified: the run counts the points of its entities left as they are."""
        self.outcome.forgotten += self.unverified.pop(day, 0)

    def gone(self, chunk: TierChunk, entity_id: str, points: int) -> None:
        """The entity's raw points of the verified `chunk`'s day are gone (`points`: those its
        rows account for): counted unless its delete is recorded, which it is from here."""
        if entity_id in chunk.raw_deleted or not points:
            return
        self.outcome.forgotten += points
        chunk.raw_deleted = sorted({*chunk.raw_deleted, entity_id})
        TierChunk.objects.filter(pk=chunk.pk).update(raw_deleted=chunk.raw_deleted)

    def notes(self) -> list[str]:
        return [_note(entity_id, days, self.points[entity_id])
                for entity_id, days in sorted(self.found.items())]  # fmt: skip


def _note(entity_id: str, days: Sequence[date], points: int) -> str:
    """What the run's `details.waiting` says of an entity's days left as InfluxDB holds them."""
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]} ({len(days)} days)"
    return (
        f"{entity_id}: {span} kept as InfluxDB holds them: their hourly (or daily) rows account "
        f"for {points:,} raw points no longer in InfluxDB, yet enrich's database has no record "
        "of a run that did them (it came back from a backup older than InfluxDB's); aggregated "
        "again from the raw points left, they would lose those points"
    )
