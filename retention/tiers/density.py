"""Sparse entities keep their states: the hourly tier keeps what is smaller.

An hourly row is written for every hour in which the entity had a value, whether or not it
changed: a door sensor that opens four times a day still gets 24 rows a day, each with more
fields than a raw state. So for a day of an entity whose density is measured
(`Entity.states_per_day`, by `measure` when discovery runs), the hourly tier compares the
day's raw states with the rows that would replace them: with no more states than rows, the
states stay where Home Assistant wrote them and no row is written (`keeps_states`). The
day's `TierChunk.kept_raw` names the entity, so the raw points there are never taken for late
points (`kept_days`). Every point stays accounted for (it is still raw), and every read stays
exact: readers of the tiers fall back to raw data for a day an entity has no rows for
(`retention.tiers.series`, `retention.rollups.inputs`), and the next day's carry-in is read from the
kept raw states. A day with more states than rows gets its hourly rows; an entity
that was never measured always gets rows.

At the daily horizon one row a day is smaller than the states of any day with more than one,
so the daily tier composes a kept entity-day from its raw states (aggregated into hours in
memory exactly as the hourly tier would, `add_kept_days`), verifies the daily row like any
other (fields, counts, energy) and then deletes the raw states (`delete_kept_raw`, after
checking that the raw count still equals the row's). Such a daily row also carries the
`carry_*` fields of its last hour, so the chain of carried-in values stays exact when the
raw states before a later day are gone (`previous_row`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from django.conf import settings

from retention.entities import ha_source
from retention.models import Entity, TierChunk
from retention.tiers import reads as tier_reads
from retention.tiers.raw_delete import delete_raw
from retention.tiers.rows import DAILY_RP, HOURLY_RP, TierRow, last_row_before, newest, recent
from retention.tiers.safety import VerificationFailed, raw_retention_policy
from retention.timeutil import DAY, floor_day, utc_midnight


class _Computed(Protocol):
    entity: Entity
    rows: Sequence[object]
    raw_points: int


def measure(entities: Iterable[Entity], now: datetime | None = None, days: int | None = None,
            database: str | None = None) -> dict[str, float]:  # fmt: skip
    """Measure and save each entity's raw states per day over the `days` (default
    RETENTION_RAW_DAYS) whole UTC days before `now`; returns entity id -> states per day."""
    now = now or datetime.now(UTC)
    days = days or settings.RETENTION_RAW_DAYS
    end = floor_day(now)
    start = end - days * DAY
    measured: dict[str, float] = {}
    for entity in entities:
        count = ha_source.count_samples(entity, start, end, database=database)
        entity.states_per_day = round(count / days, 3)
        Entity.objects.filter(pk=entity.pk).update(states_per_day=entity.states_per_day)
        measured[entity.entity_id] = entity.states_per_day
    return measured


def keeps_states(item: _Computed) -> bool:
    """Whether the entity's raw states of the day stay instead of its hourly rows."""
    if item.entity.states_per_day is None:
        return False
    return item.raw_points <= len(item.rows)


def split(computed: list) -> tuple[list, list[str]]:
    """(the entity-days that get hourly rows, the ids of those that keep their states)."""
    rows, kept = [], []
    for item in computed:
        if keeps_states(item):
            kept.append(item.entity.entity_id)
        else:
            rows.append(item)
    return rows, kept


def kept_days(entity_id: str, first: date, stop: date) -> set[date]:
    """Days in [first, stop) whose raw states of the entity were kept."""
    chunks = TierChunk.objects.filter(
        tier=TierChunk.Tier.HOURLY, day__gte=first, day__lt=stop
    ).values_list("day", "kept_raw")
    return {day for day, kept in chunks if entity_id in (kept or [])}


def without_kept(entity_id: str, ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The [first, stop) day ranges with the entity's kept days cut out."""
    pieces: list[tuple[date, date]] = []
    for first, stop in ranges:
        kept = kept_days(entity_id, first, stop)
        day = first
        while day < stop:
            if day in kept:
                day += DAY
                continue
            end = day
            while end < stop and end not in kept:
                end += DAY
            pieces.append((day, end))
            day = end
    return pieces


def with_raw(entities: Sequence[Entity], ranges: list[tuple[date, date]], database: str
             ) -> Iterator[tuple[Entity, datetime, datetime]]:  # fmt: skip
    """(entity, start, end) of each run of days of the `ranges` without the entity's kept days
    (`without_kept`) that holds raw states of it (late points: `retention.tiers.late`). The
    states are counted for all entities at once (`_outside_kept`); only an entity with states
    outside its kept days, in more than one run of days, is counted again run by run."""
    outside = [_outside_kept(entities, first, stop, database) for first, stop in ranges]
    for entity in entities:
        for whole, counts in zip(ranges, outside, strict=True):
            if not counts[entity.entity_id]:
                continue
            pieces = without_kept(entity.entity_id, [whole])
            for first, stop in pieces:
                start, end = utc_midnight(first), utc_midnight(stop)
                if len(pieces) == 1 or ha_source.count_samples(
                    entity, start, end, database=database
                ):
                    yield entity, start, end


def _outside_kept(entities: Sequence[Entity], first: date, stop: date, database: str
                  ) -> dict[str, int]:  # fmt: skip
    """Each entity's raw states in the days [first, stop) outside its kept days: counted in
    the days, less those counted in each kept day (of the entities kept that day)."""
    counts = tier_reads.count_samples(entities, utc_midnight(first), utc_midnight(stop), database)
    chunks = TierChunk.objects.filter(tier=TierChunk.Tier.HOURLY, day__gte=first, day__lt=stop)
    for day, kept in chunks.values_list("day", "kept_raw"):
        ids = set(kept or ())
        held = [e for e in entities if counts[e.entity_id] and e.entity_id in ids]
        if held:
            start = utc_midnight(day)
            for entity_id, count in tier_reads.count_samples(held, start, start + DAY,
                                                             database).items():  # fmt: skip
                counts[entity_id] -= count
    return counts


def record_kept(day: date, kept: list[str]) -> None:
    """Name the entities that kept their states of the day in its hourly TierChunk."""
    if not kept:
        return
    chunk = TierChunk.objects.get(tier=TierChunk.Tier.HOURLY, day=day)
    chunk.kept_raw = sorted(set(chunk.kept_raw or []) | set(kept))
    chunk.save(update_fields=["kept_raw", "updated"])


def measure_registry(now: datetime | None = None) -> dict[str, float]:
    """`measure` every tiered entity of the registry (run after discovery)."""
    return measure(Entity.objects.filter(tiered=True).order_by("entity_id"), now)


# --- Kept entity-days at the daily horizon ----------------------------------------------------
def previous_row(entity_id: str, before: datetime) -> tuple[TierRow | None, datetime | None]:
    """The entity's newest tier row before `before` (hourly, else a daily row newer than the
    hourly ones) and the end of its window."""
    hour = last_row_before(HOURLY_RP, entity_id, before)
    if recent(hour, before):
        return newest(hour, None, before)  # no daily row can be newer
    return newest(hour, last_row_before(DAILY_RP, entity_id, before), before)


def _kept_ids(day: date) -> list[str]:
    chunk = TierChunk.objects.filter(tier=TierChunk.Tier.HOURLY, day=day).first()
    return list(chunk.kept_raw or []) if chunk is not None else []


def add_kept_days(day: date, hourly: dict[str, list[TierRow]], tier) -> list[str]:
    """Put the hours of the day's kept entities, aggregated from their raw states, into
    `hourly` (entity id -> rows, as read from the hourly tier); returns their ids. An entity
    whose raw count differs from what the hours account for waits (late points). The
    entities' states and counts are read together (`tier.reader`, `tier_reads`)."""
    entities = [
        entity
        for entity in Entity.objects.filter(entity_id__in=_kept_ids(day), tiered=True)
        if not hourly.get(entity.entity_id)
    ]
    if not entities:
        return []
    start = utc_midnight(day)
    counted = tier_reads.count_samples(entities, start, start + DAY, tier.database)
    added = []
    for group, reads in tier.reader.groups(start, entities):
        for entity in group:
            item = tier.compute(entity, day, reads)
            if not item.rows or counted[entity.entity_id] != item.raw_points:
                continue
            hourly[entity.entity_id] = item.rows
            added.append(entity.entity_id)
    return added


def carry_on_daily(pending: dict[str, dict], hourly: dict[str, list[TierRow]]) -> None:
    """Give each daily row the carry-in fields of its last hour: once the day's hourly rows
    and raw states are deleted, the daily row alone knows the state in force at the day's end,
    which the next day's hours of a kept entity (composed from raw by the daily tier) start
    from."""
    for entity_id in pending:
        if hourly.get(entity_id):
            last = hourly[entity_id][-1].fields
            carry = {k: v for k, v in last.items() if k.startswith("carry_")}
            pending[entity_id]["fields"] = {**pending[entity_id]["fields"], **carry}


def delete_kept_raw(day: date, pending: dict[str, dict]) -> int:
    """Delete the raw states of the day's kept entities now held by verified daily rows, all
    of them in one statement where they allow it (`tier_reads.delete_day`); returns how many
    were deleted. Raises VerificationFailed when a raw count changed."""
    kept = [entity_id for entity_id in _kept_ids(day) if entity_id in pending]
    if not kept:
        return 0
    start, end = utc_midnight(day), utc_midnight(day) + DAY
    database, raw_rp = settings.HA_INFLUXDB_DATABASE, raw_retention_policy()
    entities = list(Entity.objects.filter(entity_id__in=kept))
    present = tier_reads.count_samples(entities, start, end, database)
    for entity in entities:
        fields = pending[entity.entity_id]["fields"]
        expected = int(fields.get("sample_count", 0)) + int(fields.get("gap_count", 0))
        if present[entity.entity_id] and present[entity.entity_id] != expected:
            raise VerificationFailed(
                f"{entity.entity_id}: {present[entity.entity_id]} raw states on {day}, the daily "
                f"row accounts for {expected}; the raw states were kept. Points were written "
                "meanwhile: delete the day's daily row and rerun downsample_daily for it."
            )
    targets = [
        (entity, present[entity.entity_id]) for entity in entities if present[entity.entity_id]
    ]
    deleted = tier_reads.delete_day(
        targets, start, end, database, raw_rp,
        lambda entity, n: delete_raw(entity, start, end, database, raw_rp, n),
        after_first=lambda: None,
    )  # fmt: skip
    chunk = TierChunk.objects.get(tier=TierChunk.Tier.HOURLY, day=day)
    chunk.kept_raw = [entity_id for entity_id in chunk.kept_raw if entity_id not in kept]
    chunk.save(update_fields=["kept_raw", "updated"])
    return deleted


def first_kept_day(end: date) -> date | None:
    """The first day before `end` with kept raw states the daily tier has not composed."""
    composed = set(
        TierChunk.objects.filter(
            tier=TierChunk.Tier.DAILY, state=TierChunk.State.DELETED, day__lt=end
        ).values_list("day", flat=True)
    )
    chunks = TierChunk.objects.filter(tier=TierChunk.Tier.HOURLY, day__lt=end).order_by("day")
    for day, kept in chunks.values_list("day", "kept_raw"):
        if kept and day not in composed:
            return day
    return None
