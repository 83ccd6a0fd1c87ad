"""Tier execution: raw -> hourly (hot -> warm) and hourly -> daily (warm -> cold).

`downsample_hourly()` and `downsample_daily()` each record one `RetentionRun`. The aggregation
math is `retention.tiers.aggregate`; raw samples come from `retention.entities.ha_source`; rows are written
and read through `retention.tiers.rows`. Tiers: retention policies `enrich_hourly` and
`enrich_daily` (duration INF: our verified process deletes, never a retention policy) of
TIER_DATABASE, measurement `entity_aggregates`, tags `entity_id` and `kind`.

How a day is processed (one UTC day is one resumable chunk, state in `TierChunk`):

hot -> warm, for days ending RETENTION_RAW_DAYS (+ RETENTION_LATE_MARGIN_HOURS) ago, every
tiered entity of the registry:
1. read the day's raw samples (batched: `retention.tiers.reads`, the next day read ahead) and
   the sample in force when the day opens (from raw data, or, once that is deleted, from the
   previous hourly row's `carry_*` fields); convert kW -> W and Wh -> kWh (Entity.unit);
   aggregate 24 UTC hours; write the rows.                               -> state "written"
2. read the rows back and check each entity: every field as written, `count_samples` of the
   raw day == sum of (sample_count + gap_count), energy totals equal (1e-9 relative).
                                                                           -> state "verified"
3. delete the entities' raw points of the day (measurement- and tag-scoped). -> "deleted"
A rerun skips "deleted" days and redoes a "written" day from raw (which is complete: deletes
start only after "verified"). In a "verified" day an entity without raw points left is done,
one whose raw count equals its rows' count is deleted, and one with more raw points (late
ones arrived) is aggregated again. Same times and tags overwrite: no duplicates.

warm -> cold, for days ending RETENTION_HOURLY_DAYS (+ margin) ago: compose the day's hourly
rows per entity (`compose`: coverage-weighted means, min of mins, max of maxes, sums), write
the daily rows ("written"), read back and check (fields, sum of hourly counts and energy ==
daily) and keep the rows in `TierChunk.pending_rows` ("verified"), then delete the hourly rows
and write the daily rows again ("deleted"). InfluxDB 1.x deletes from every retention policy
at once, so deleting the hourly row at midnight also removes the daily row at midnight: it is
rewritten from `pending_rows` and checked again, also by a rerun after a crash in between.

Late points (raw points of a tiered entity in a day whose raw data was already deleted): the
points around them are gone, so where they sit in the step function cannot be reconstructed.
They are folded into the row of their hour (or, once the hourly rows were composed into a
daily row, into that): sample_count/gap_count grow by them, so every raw point stays
accounted for, min_value/max_value widen to include their readings; everything time-based
(avg_value, coverage, energy, on_seconds, state changes, last_*) keeps the value computed
from the complete sequence Home Assistant had written. Their times are added to the row's
`late_times`, so a rerun after a crash does not fold them twice; then they are deleted.
A day whose daily composition is in progress waits for the next run.

Safety: `check_retention_policies()` refuses to run when a retention policy (bucket) would
drop raw data before it is downsampled, or tier rows before their horizon. A Redis lock per
tier keeps two runs of a tier apart (the second records status "skipped" and who holds it).
InfluxDB becoming unreachable raises `InfluxUnavailable` after the run is recorded as failed;
nothing of the day in progress was deleted (deletes come last) and the Celery task retries.

Crash points for the tests (`hourly:after_write`, `daily:before_rewrite`, ...): `retention.faults`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from enrich.influx import (
    InfluxUnavailable,
    TimeseriesError,
    get_timeseries,
    quote_ident,
)
from enrich.redis.lock import RunLock
from retention import faults
from retention.entities import ha_source
from retention.entities.samples import Sample
from retention.models import Entity, RetentionRun, TierChunk
from retention.stats import settle
from retention.tiers import density
from retention.tiers import reads as tier_reads
from retention.tiers.aggregate import (
    VALUE_KINDS,
    Aggregate,
    aggregate_window,
    aggregate_windows,
    compose,
    hour_windows,
)
from retention.tiers.dryrun import dry_run_daily, dry_run_hourly
from retention.tiers.rows import (
    DAILY_RP,
    HOURLY_RP,
    LATE_TIMES,
    MEASUREMENT,
    TierRow,
    carry_fields,
    carry_sample,
    differences,
    micros,
    read_rows,
    write_rows,
)
from retention.tiers.safety import (  # noqa: F401  (re-exported: the tiers' public interface)
    RangeError,
    TierError,
    _at,
    _floor_day,
    _policies,
    check_range,
    check_retention_policies,
    daily_horizon,
    ensure_tiers,
    hourly_horizon,
    raw_retention_policy,
)

logger = logging.getLogger("retention.tiers.runner")

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
LOCK_TTL_SECONDS = 600
SIZE_SETTLE_SECONDS = 5.0
# Units the tiers store: power in W, energy in kWh (Entity.unit says what HA wrote).
UNIT_FACTORS = {
    Entity.Kind.POWER: {"W": 1.0, "kW": 1e3, "MW": 1e6},
    Entity.Kind.ENERGY: {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3},
}
Progress = Callable[[int, int, str], None]  # (days done, days in all, what is being done)


class VerificationFailed(TierError):
    """Rows read back differ from what was written or do not account for the source data."""


class LockLost(TierError):
    """The run's Redis lock expired and could not be renewed."""


def delete(*args: object, **kwargs: object) -> None:
    """`TimeSeries.delete` (which tries again when InfluxDB 1.x answers "engine is closed")."""
    get_timeseries().delete(*args, **kwargs)  # type: ignore[arg-type]


# --- Units -----------------------------------------------------------------------------------
def unit_factor(entity: Entity) -> float:
    """Multiplier to W (power) or kWh (energy) for the entity's unit; 1 for other kinds."""
    factors = UNIT_FACTORS.get(entity.kind)
    if not factors:
        return 1.0
    return factors.get(entity.unit.strip(), 1.0)


def converted(samples: Iterable[Sample], factor: float) -> list[Sample]:
    """The samples with values multiplied by `factor` (see unit_factor)."""
    if factor == 1.0:
        return list(samples)
    return [
        Sample(s.time, None if s.value is None else s.value * factor, s.state, s.attributes)
        for s in samples
    ]


# --- Storage -----------------------------------------------------------------------------------
def storage_bytes(settle: bool = False) -> int:
    """Bytes of Home Assistant's and the tier database, by InfluxDB's own accounting; with
    `settle`, polled until two reads agree (1.x updates shard sizes lazily) or 5 s pass."""
    databases = {settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE}

    def total() -> int:
        sizes = get_timeseries().sizes()
        return sum(size for (db, _), size in sizes.items() if db in databases)

    value = total()
    if not settle:
        return value
    deadline = time.monotonic() + SIZE_SETTLE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        again = total()
        if again == value:
            break
        value = again
    return value


# --- Bookkeeping shared by both tiers --------------------------------------------------------
@dataclass
class Outcome:
    days: list[str] = field(default_factory=list)
    entities: set[str] = field(default_factory=set)
    processed: int = 0  # source points (raw points / hourly rows) aggregated
    rows_written: int = 0
    deleted: int = 0  # source points removed
    late_points: int = 0
    waiting: list[str] = field(default_factory=list)  # notes about work left for a later run


def _chunk(tier: str, day: date) -> TierChunk | None:
    return TierChunk.objects.filter(tier=tier, day=day).first()


def _set_chunk(tier: str, day: date, state: str, **values: object) -> TierChunk:
    with transaction.atomic():
        chunk, _ = TierChunk.objects.update_or_create(
            tier=tier, day=day, defaults={"state": state, **values}
        )
    return chunk


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _deleted_days(tier: str, start: date | None, end: date) -> list[date]:
    chunks = TierChunk.objects.filter(tier=tier, state=TierChunk.State.DELETED, day__lt=end)
    if start is not None:
        chunks = chunks.filter(day__gte=start)
    return list(chunks.order_by("day").values_list("day", flat=True))


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, last + 1) ranges."""
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return ranges


def _raw_tags(entity: Entity) -> list[dict[str, str]]:
    """Tag sets selecting the entity's raw points for a delete (see ha_source's layouts)."""
    if entity.layout == Entity.Layout.OFFICIAL:
        return [{"entity_id": entity.object_id, "domain": entity.domain}]
    # Ingestor: only state events are samples; a missing event_type tag compares equal to ''.
    return [
        {"entity_id": entity.entity_id, "event_type": "state_changed"},
        {"entity_id": entity.entity_id, "event_type": ""},
    ]


def _measurement(entity: Entity) -> str:
    if entity.layout == Entity.Layout.INGESTOR:
        return entity.measurement or ha_source.INGESTOR_MEASUREMENT
    return entity.measurement


# --- Hot -> warm -------------------------------------------------------------------------------
@dataclass
class _EntityDay:
    """One entity's hourly rows of one day, as computed from raw data."""

    entity: Entity
    rows: list[TierRow]
    raw_points: int


class HourlyTier:
    """Raw -> hourly for the days in [start, end) before the horizon."""

    tier = TierChunk.Tier.HOURLY

    def __init__(self, start: date | None, end: date | None, now: datetime) -> None:
        self.horizon = hourly_horizon(now)
        self.start = start
        self.end = min(end, self.horizon) if end else self.horizon
        self.database = settings.HA_INFLUXDB_DATABASE
        self.entities = list(Entity.objects.filter(tiered=True).order_by("entity_id"))
        self.outcome = Outcome()
        self._raw_rp: str | None = None
        self.reader = tier_reads.Reader(self.entities, self.database)

    @property
    def raw_rp(self) -> str:
        if self._raw_rp is None:
            self._raw_rp = raw_retention_policy()
        return self._raw_rp

    # -- what there is to do --
    def work_days(self) -> list[date]:
        """Days not deleted yet, from where raw data (or the chain of hourly rows) starts."""
        if not self.entities:
            return []
        start = self.start
        if start is None:
            firsts = []
            for entity in self.entities:
                first = ha_source.first_sample_time(entity, _at(self.end), database=self.database)
                if first is not None:
                    firsts.append(_floor_day(first))
            last = (
                TierChunk.objects.filter(tier=self.tier, day__lt=self.end)
                .order_by("-day")
                .values_list("day", flat=True)
                .first()
            )
            if last is not None:
                # Entities whose value holds without new points still get their hours.
                firsts.append(last + timedelta(days=1))
            if not firsts:
                return []
            start = min(firsts)
        done = set(_deleted_days(self.tier, start, self.end))
        self.reader.days = [day for day in _days(start, self.end) if day not in done]
        return self.reader.days

    # -- one entity, one day --
    def compute(
        self, entity: Entity, day: date, reads: tier_reads.GroupReads | None = None
    ) -> _EntityDay:
        """The entity's hourly rows of `day`, from the day's batched reads (tier_reads), or,
        without them (a kept day the daily tier composes: density.add_kept_days), its own."""
        start, end = _at(day), _at(day) + DAY
        factor = unit_factor(entity)
        if reads is None:
            samples = converted(
                ha_source.read_samples(entity, start, end, database=self.database), factor
            )
            raw_carry = samples[0] if samples and samples[0].time < start else None
            day_samples = samples[1:] if raw_carry is not None else samples
            previous, previous_end = density.previous_row(entity.entity_id, start)
        else:
            day_samples = converted(reads.samples[entity.entity_id], factor)
            carried = reads.carried[entity.entity_id]
            raw_carry = converted([carried], factor)[0] if carried is not None else None
            previous, previous_end = _previous(entity.entity_id, start, reads)
        head: list[Sample] = [raw_carry] if raw_carry is not None else []
        previous_value = previous_state = None
        if previous is not None:
            last_value = previous.fields.get("last_value")
            last_state = previous.fields.get("last_state")
            previous_value = None if last_value is None else float(last_value)
            previous_state = None if last_state is None else str(last_state)
            if raw_carry is None or raw_carry.time < previous_end:
                # The raw point before the day is gone (or older than the hourly chain).
                synthetic = carry_sample(previous.fields, min(previous_end, start) - MICROSECOND)
                head = [synthetic] if synthetic is not None else []
        timeline = head + day_samples
        windows = hour_windows(start, end)
        aggregates = aggregate_windows(
            entity.kind,
            timeline,
            windows,
            previous_last_value=previous_value,
            previous_last_state=previous_state,
            entity_id=entity.entity_id,
        )
        rows: list[TierRow] = []
        position = 0
        in_force: Sample | None = None
        for (_, window_end), aggregate in zip(windows, aggregates, strict=True):
            while position < len(timeline) and timeline[position].time < window_end:
                in_force = timeline[position]
                position += 1
            if aggregate is None:
                continue
            fields = {**aggregate.to_fields(), **carry_fields(in_force)}
            rows.append(TierRow(entity.entity_id, entity.kind, aggregate.window_start, fields))
        raw_points = sum(row.points for row in rows)
        return _EntityDay(entity, rows, raw_points)

    def verify(self, day: date, computed: list[_EntityDay]) -> dict[str, int]:
        """Read the day's rows back; every entity's rows as written and accounting for every
        raw point and all energy. Returns the raw points counted per entity; raises
        VerificationFailed naming entity, hour and field."""
        start = _at(day)
        stored = read_rows(HOURLY_RP, start, start + DAY)
        counts = tier_reads.count_samples([c.entity for c in computed], start, start + DAY, self.database)  # fmt: skip
        for item in computed:
            entity_id = item.entity.entity_id
            got = {row.start: row for row in stored.get(entity_id, [])}
            for row in item.rows:
                have = got.get(row.start)
                if have is None:
                    raise VerificationFailed(
                        f"{entity_id}: the hourly row of {row.start.isoformat()} was written "
                        "but cannot be read back; nothing of the day was deleted. Rerun later."
                    )
                problems = differences(row.fields, have.fields)
                if problems:
                    raise VerificationFailed(
                        f"{entity_id}: the hourly row of {row.start.isoformat()} reads back "
                        f"differently ({'; '.join(problems)}); nothing of the day was deleted."
                    )
            rows = list(got.values())
            counted = counts[entity_id]
            accounted = sum(row.points for row in rows)
            if counted != accounted:
                raise VerificationFailed(
                    f"{entity_id}: {counted} raw points on {day} but the hourly rows account "
                    f"for {accounted} (sample_count + gap_count); nothing of the day was "
                    "deleted. A point may have been written meanwhile: rerun."
                )
            energy_written = sum(row.energy for row in item.rows)
            energy_read = sum(row.energy for row in rows)
            if not math.isclose(energy_read, energy_written, rel_tol=1e-9, abs_tol=1e-12):
                raise VerificationFailed(
                    f"{entity_id}: the hourly rows of {day} hold {energy_read} kWh, "
                    f"{energy_written} kWh were written; nothing of the day was deleted."
                )
        return counts

    def delete_raw(
        self, entity: Entity, start: datetime, end: datetime, present: int | None = None
    ) -> int:
        """Delete the entity's raw points in [start, end) (`present`: how many there are, if
        just counted); returns how many were deleted."""
        if present is None:
            present = ha_source.count_samples(entity, start, end, database=self.database)
        if present == 0:
            return 0
        left = present
        for tags in _raw_tags(entity):
            delete(
                self.database,
                start,
                end,
                measurement=_measurement(entity),
                tags=tags,
                retention_policy=self.raw_rp,
            )
            left = ha_source.count_samples(entity, start, end, database=self.database)
            if not left:
                break
        if left:
            logger.warning(
                "%s: %d raw points in %s – %s are still there after the delete (written "
                "meanwhile?); the next run takes them in as late points",
                entity.entity_id,
                left,
                start.isoformat(),
                end.isoformat(),
            )
        return max(present - left, 0)

    # -- one day --
    def process_day(self, day: date, lock: RunLock) -> None:
        chunk = _chunk(self.tier, day)
        if chunk is not None and chunk.state == TierChunk.State.DELETED:
            return
        start = _at(day)
        verified = chunk is not None and chunk.state == TierChunk.State.VERIFIED
        to_aggregate: list[Entity] = []
        to_delete: list[tuple[Entity, int]] = []
        if not verified:
            to_aggregate = list(self.entities)
        else:
            # Deletes may have run for some entities: decide per entity from what is left.
            stored = read_rows(HOURLY_RP, start, start + DAY)
            counts = tier_reads.count_samples(self.entities, start, start + DAY, self.database)
            for entity in self.entities:
                raw = counts[entity.entity_id]
                accounted = sum(row.points for row in stored.get(entity.entity_id, []))
                if raw == 0:
                    continue
                if raw > accounted:
                    to_aggregate.append(entity)  # late points arrived before its delete
                else:
                    if raw < accounted:
                        logger.warning(
                            "%s: %d of %d raw points of %s left after an interrupted delete; "
                            "deleting the rest (the hourly rows hold them all)",
                            entity.entity_id,
                            raw,
                            accounted,
                            day,
                        )
                    to_delete.append((entity, raw))
        computed = [
            self.compute(entity, day, reads)
            for group, reads in self.reader.groups(start, to_aggregate)
            if _still_held(lock)
            for entity in group
        ]
        computed, kept = density.split([item for item in computed if item.rows])
        written = write_rows(HOURLY_RP, (row for item in computed for row in item.rows))
        raw_points = sum(item.raw_points for item in computed)
        if not verified:
            _set_chunk(
                self.tier,
                day,
                TierChunk.State.WRITTEN,
                entities=len(computed),
                source_points=raw_points,
                aggregate_points=written,
            )
        density.record_kept(day, kept)
        faults.point("hourly:after_write")
        counts = self.verify(day, computed)
        if not verified:
            _set_chunk(self.tier, day, TierChunk.State.VERIFIED)
        faults.point("hourly:after_verify")
        _still_held(lock)
        targets = [(item.entity, counts[item.entity.entity_id]) for item in computed] + to_delete
        deleted = tier_reads.delete_day(
            [(entity, n) for entity, n in targets if n], start, start + DAY, self.database,
            self.raw_rp, lambda entity, n: self.delete_raw(entity, start, start + DAY, n),
            lambda: faults.point("hourly:mid_delete"))  # fmt: skip
        _set_chunk(self.tier, day, TierChunk.State.DELETED)
        self.outcome.days.append(day.isoformat())
        self.outcome.entities.update(item.entity.entity_id for item in computed)
        self.outcome.processed += raw_points
        self.outcome.rows_written += written
        self.outcome.deleted += deleted

    # -- late points --
    def fold_late_points(self, lock: RunLock) -> None:
        """Fold raw points found in days already downsampled into their rows (see the
        module docstring), then delete them."""
        ranges = _runs(_deleted_days(self.tier, self.start, self.end))
        if not ranges:
            return
        daily_lock: RunLock | None = None
        try:
            for entity in self.entities:
                for first, stop in density.without_kept(entity.entity_id, ranges):
                    start, end = _at(first), _at(stop)
                    if not ha_source.count_samples(entity, start, end, database=self.database):
                        continue
                    if daily_lock is None:
                        # Hourly rows must not change while the daily tier composes them.
                        daily_lock = RunLock(
                            RetentionRun.Operation.DOWNSAMPLE_DAILY,
                            owner="late points of a downsample_hourly run",
                            ttl_seconds=LOCK_TTL_SECONDS,
                        )
                        if not daily_lock.acquire():
                            self.outcome.waiting.append(
                                "late points not folded in: the daily tier is running "
                                f"({daily_lock.holder()}); the next run does it"
                            )
                            daily_lock = None
                            return
                    self._fold(entity, start, end)
                    _still_held(lock, daily_lock)
        finally:
            if daily_lock is not None:
                daily_lock.release()

    def _fold(self, entity: Entity, start: datetime, end: datetime) -> None:
        samples = converted(
            ha_source.read_samples(entity, start, end, carry_in=False, database=self.database),
            unit_factor(entity),
        )
        by_day: dict[date, list[Sample]] = {}
        for sample in samples:
            by_day.setdefault(_floor_day(sample.time), []).append(sample)
        for day, day_samples in sorted(by_day.items()):
            daily_chunk = _chunk(TierChunk.Tier.DAILY, day)
            if daily_chunk is None:
                rp, width = HOURLY_RP, HOUR
                groups: dict[datetime, list[Sample]] = {}
                for sample in day_samples:
                    hour = sample.time.replace(minute=0, second=0, microsecond=0)
                    groups.setdefault(hour, []).append(sample)
            elif daily_chunk.state == TierChunk.State.DELETED:
                rp, width, groups = DAILY_RP, DAY, {_at(day): day_samples}
            else:
                self.outcome.waiting.append(
                    f"{entity.entity_id}: {len(day_samples)} late point(s) of {day} wait for "
                    "the daily tier to finish that day"
                )
                continue
            folded = 0
            for window_start, group in sorted(groups.items()):
                folded += fold_late(entity, rp, window_start, width, group)
            faults.point("hourly:late_after_write")
            deleted = self.delete_raw(entity, _at(day), _at(day) + DAY)
            logger.warning(
                "%s: %d late point(s) of %s folded into the %s rows (counts, min/max; see "
                "the README), %d raw point(s) deleted",
                entity.entity_id,
                folded,
                day,
                rp,
                deleted,
            )
            self.outcome.late_points += folded
            self.outcome.processed += folded
            self.outcome.deleted += deleted
            self.outcome.entities.add(entity.entity_id)


def fold_late(
    entity: Entity, rp: str, window_start: datetime, width: timedelta, samples: list[Sample]
) -> int:
    """Fold late samples into the entity's row of [window_start, + width); returns how many
    were new (already folded ones, named in `late_times`, are skipped). Verified by reading
    the row back; raises VerificationFailed otherwise."""
    existing = read_rows(rp, window_start, window_start + width, entity.entity_id)
    row = (existing.get(entity.entity_id) or [None])[0]
    seen = row.late_times() if row is not None else set()
    fresh = [s for s in samples if micros(s.time) not in seen]
    if not fresh:
        return 0
    window_end = window_start + width
    late = aggregate_window(entity.kind, fresh, window_start, window_end)
    base = (
        row.aggregate(width)
        if row is not None
        else Aggregate(window_start, window_end, entity.kind)
    )
    if late is not None:
        base.sample_count += late.sample_count
        base.gap_count += late.gap_count
        if entity.kind in VALUE_KINDS:
            lows = [v for v in (base.min_value, late.min_value) if v is not None]
            highs = [v for v in (base.max_value, late.max_value) if v is not None]
            base.min_value = min(lows) if lows else None
            base.max_value = max(highs) if highs else None
    kept = {k: v for k, v in (row.fields if row else {}).items() if k.startswith("carry_")}
    times = sorted(seen | {micros(s.time) for s in fresh})
    fields = {**base.to_fields(), **kept, LATE_TIMES: ",".join(map(str, times))}
    merged = TierRow(entity.entity_id, entity.kind, window_start, fields)
    write_rows(rp, [merged])
    got = read_rows(rp, window_start, window_end, entity.entity_id).get(entity.entity_id, [])
    problems = differences(fields, got[0].fields) if got else ["row missing"]
    if problems:
        raise VerificationFailed(
            f"{entity.entity_id}: the {rp} row of {window_start.isoformat()} with late points "
            f"reads back differently ({'; '.join(problems)}); the late points were kept."
        )
    return len(fresh)


# --- Warm -> cold ------------------------------------------------------------------------------
class DailyTier:
    """Hourly -> daily for the days in [start, end) before the horizon."""

    tier = TierChunk.Tier.DAILY

    def __init__(self, start: date | None, end: date | None, now: datetime) -> None:
        self.horizon = daily_horizon(now)
        self.start = start
        self.end = min(end, self.horizon) if end else self.horizon
        self.outcome = Outcome()

    def work_days(self) -> list[date]:
        start = self.start
        if start is None:
            query = (
                f"SELECT * FROM {quote_ident(settings.TIER_DATABASE)}.{quote_ident(HOURLY_RP)}."
                f"{quote_ident(MEASUREMENT)} WHERE time < $end ORDER BY time ASC LIMIT 1"
            )
            with get_timeseries().query(
                settings.TIER_DATABASE, query, params={"end": _at(self.end)}
            ) as rows:
                first = next(rows, None)
            pending = (
                TierChunk.objects.filter(tier=self.tier, day__lt=self.end)
                .exclude(state=TierChunk.State.DELETED)
                .order_by("day")
                .values_list("day", flat=True)
                .first()
            )
            kept = density.first_kept_day(self.end)
            candidates = [d for d in (pending, first and _floor_day(first.time), kept) if d]
            if not candidates:
                return []
            start = min(candidates)
        done = set(_deleted_days(self.tier, start, self.end))
        return [day for day in _days(start, self.end) if day not in done]

    def process_day(self, day: date, lock: RunLock) -> None:
        chunk = _chunk(self.tier, day)
        if chunk is not None and chunk.state == TierChunk.State.DELETED:
            return
        start = _at(day)
        if chunk is None or chunk.state == TierChunk.State.WRITTEN:
            hourly = read_rows(HOURLY_RP, start, start + DAY)
            kept = density.add_kept_days(day, hourly, HourlyTier(None, None, _at(day)))
            pending: dict[str, dict] = {}
            sources = 0
            for entity_id, rows in sorted(hourly.items()):
                kind = rows[0].kind
                daily = compose(kind, [row.aggregate(HOUR) for row in rows], start, start + DAY)
                if daily is None:
                    continue
                pending[entity_id] = {"kind": kind, "fields": daily.to_fields()}
                sources += len(rows)
            density.carry_on_daily(pending, hourly, kept)
            written = write_rows(DAILY_RP, _pending_rows(pending, start))
            _set_chunk(
                self.tier,
                day,
                TierChunk.State.WRITTEN,
                entities=len(pending),
                source_points=sources,
                aggregate_points=written,
                pending_rows=pending,
            )
            faults.point("daily:after_write")
            self.verify(day, pending, hourly)
            chunk = _set_chunk(self.tier, day, TierChunk.State.VERIFIED)
            self.outcome.processed += sources
            self.outcome.rows_written += written
        faults.point("daily:after_verify")
        _still_held(lock)
        pending = chunk.pending_rows
        database = settings.TIER_DATABASE
        stored = read_rows(HOURLY_RP, start, start + DAY)
        deleted = sum(len(stored.get(entity_id, [])) for entity_id in pending)
        # Only the entities whose rows were composed: a row InfluxDB did not show when the day
        # was composed (see docs/storage.md, 1.6's series index) is never deleted unseen.
        tag_sets = [{"entity_id": entity_id} for entity_id in sorted(pending)]
        # Hours 01-23: no daily row lies there, so the tier-scoped delete is safe (the door
        # checks). All the day's entities in one statement (tier_reads.delete_tagged).
        tier_reads.delete_tagged(database, start + HOUR, start + DAY, MEASUREMENT, tag_sets,
                                 HOURLY_RP, after_first=lambda: faults.point("daily:mid_delete"))  # fmt: skip
        # Hour 00 shares its time with the daily row: InfluxDB 1.x deletes both (rewritten
        # from pending_rows below), 2.x every bucket's points of that hour.
        tier_reads.delete_tagged(database, start, start + HOUR, MEASUREMENT, tag_sets, None)
        deleted += density.delete_kept_raw(day, pending)
        faults.point("daily:before_rewrite")
        write_rows(DAILY_RP, _pending_rows(pending, start))
        stored = read_rows(DAILY_RP, start, start + DAY)
        for entity_id, entry in pending.items():
            got = stored.get(entity_id, [])
            problems = differences(entry["fields"], got[0].fields) if got else ["row missing"]
            if problems:
                raise VerificationFailed(
                    f"{entity_id}: the daily row of {day} reads back differently after the "
                    f"hourly rows were deleted ({'; '.join(problems)}); it is kept in the "
                    "day's TierChunk and rewritten by the next run."
                )
        _set_chunk(self.tier, day, TierChunk.State.DELETED, pending_rows={})
        self.outcome.days.append(day.isoformat())
        self.outcome.entities.update(pending)
        self.outcome.deleted += deleted

    def verify(self, day: date, pending: dict[str, dict], hourly: dict[str, list[TierRow]]) -> None:
        start = _at(day)
        stored = read_rows(DAILY_RP, start, start + DAY)
        for entity_id, entry in pending.items():
            got = stored.get(entity_id, [])
            if not got:
                raise VerificationFailed(
                    f"{entity_id}: the daily row of {day} was written but cannot be read back; "
                    "no hourly row was deleted. Rerun later."
                )
            row = got[0]
            problems = differences(entry["fields"], row.fields)
            if problems:
                raise VerificationFailed(
                    f"{entity_id}: the daily row of {day} reads back differently "
                    f"({'; '.join(problems)}); no hourly row was deleted."
                )
            hours = hourly.get(entity_id, [])
            if sum(r.points for r in hours) != row.points:
                raise VerificationFailed(
                    f"{entity_id}: the hourly rows of {day} account for "
                    f"{sum(r.points for r in hours)} raw points, the daily row for {row.points}; "
                    "no hourly row was deleted."
                )
            energy = sum(r.energy for r in hours)
            if not math.isclose(energy, row.energy, rel_tol=1e-9, abs_tol=1e-12):
                raise VerificationFailed(
                    f"{entity_id}: the hourly rows of {day} hold {energy} kWh, the daily row "
                    f"{row.energy} kWh; no hourly row was deleted."
                )


def _pending_rows(pending: dict[str, dict], start: datetime) -> list[TierRow]:
    return [
        TierRow(entity_id, entry["kind"], start, dict(entry["fields"]))
        for entity_id, entry in sorted(pending.items())
    ]


def _previous(
    entity_id: str, start: datetime, reads: tier_reads.GroupReads
) -> tuple[TierRow | None, datetime | None]:
    """The batched newest hourly row when it is from the last day (no row can be newer), else
    what density.previous_row finds (a daily row is newer after days kept raw)."""
    hour = reads.previous.get(entity_id)
    if hour is not None and hour.start >= start - DAY:
        return hour, hour.start + HOUR
    return density.previous_row(entity_id, start)


def _still_held(*locks: RunLock) -> bool:
    """Renew the run's locks (between phases, days, entities): True, or LockLost if one was lost."""
    for lost in (lock for lock in locks if not lock.renew()):
        raise LockLost(
            f"lock {lost.key!r} lost to {lost.holder() or 'nobody'}; stopped before deleting more"
        )
    return True


# --- Runs ----------------------------------------------------------------------------------------
def downsample_hourly(
    start: date | None = None,
    end: date | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    run: RetentionRun | None = None,
    progress: Progress | None = None,
) -> RetentionRun:
    """Raw -> hourly for the UTC days in [start, end) (default: everything before the
    horizon); see the module docstring. Returns the recorded run; raises InfluxUnavailable
    (after recording it) when InfluxDB cannot be reached, so the caller can retry."""
    now = now or datetime.now(UTC)
    return _run(
        RetentionRun.Operation.DOWNSAMPLE_HOURLY,
        lambda: HourlyTier(start, end, now),
        dry_run_hourly,
        start,
        end,
        dry_run,
        run,
        progress,
        late=True,
    )


def downsample_daily(
    start: date | None = None,
    end: date | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    run: RetentionRun | None = None,
    progress: Progress | None = None,
) -> RetentionRun:
    """Hourly -> daily for the UTC days in [start, end); like `downsample_hourly`."""
    now = now or datetime.now(UTC)
    return _run(
        RetentionRun.Operation.DOWNSAMPLE_DAILY,
        lambda: DailyTier(start, end, now),
        dry_run_daily,
        start,
        end,
        dry_run,
        run,
        progress,
        late=False,
    )


def _run(
    operation: str,
    make_tier: Callable[[], HourlyTier | DailyTier],
    dry: Callable,
    start: date | None,
    end: date | None,
    dry_run: bool,
    run: RetentionRun | None,
    progress: Progress | None,
    late: bool,
) -> RetentionRun:
    began = time.monotonic()
    if run is None:
        run = RetentionRun(operation=operation, started=datetime.now(UTC))
    run.status = RetentionRun.Status.RUNNING
    run.range_start = _at(start) if start else None
    run.range_end = _at(end) if end else None
    run.save()
    lock: RunLock | None = None
    tier: HourlyTier | DailyTier | None = None
    try:
        problems = check_retention_policies()
        if problems:
            run.status = RetentionRun.Status.FAILED
            run.errors = "Refused to run: " + "\n".join(problems)
            return run
        tier = make_tier()
        if dry_run:
            run.details = {**run.details, **dry(tier, progress)}  # keeps who queued it
            run.records_processed = run.details.get("raw_points", run.details.get("hourly_rows", 0))
            run.status = RetentionRun.Status.DRY_RUN
            return run
        lock = RunLock(operation, owner=f"run {run.pk}", ttl_seconds=LOCK_TTL_SECONDS)
        if not lock.acquire():
            holder = lock.holder() or "a run that just finished"
            lock = None
            run.status = RetentionRun.Status.SKIPPED
            run.details = {"reason": f"another {operation} run holds the lock: {holder}"}
            return run
        ensure_tiers()
        run.storage_before_bytes, shards = storage_bytes(), settle.shard_sizes()
        if isinstance(tier, HourlyTier) and not tier.entities:
            tier.outcome.waiting.append(
                "no tiered entity in the registry: run `manage.py discover_entities` (or tick "
                "'tiered' in the admin); nothing was downsampled"
            )
            logger.warning("downsample_hourly: %s", tier.outcome.waiting[-1])
        days = tier.work_days()
        _still_held(lock)  # finding the days reads each entity's first sample: it can take long
        for n, day in enumerate(days):
            tier.process_day(day, lock)
            if progress:
                progress(n + 1, len(days), day.isoformat())
        if late and isinstance(tier, HourlyTier):
            tier.fold_late_points(lock)
        run.storage_after_bytes = storage_bytes(settle=True)
        settle.record(run, shards, tier.outcome.days)
        run.status = RetentionRun.Status.OK
        return run
    except InfluxUnavailable as exc:
        run.status = RetentionRun.Status.FAILED
        run.errors = (
            f"InfluxDB became unreachable: {exc} Nothing was deleted for a day whose rows were "
            "not verified; the run is retried later and resumes where it stopped."
        )
        raise
    except (TierError, TimeseriesError, ValueError) as exc:
        run.status = RetentionRun.Status.FAILED
        run.errors = f"{type(exc).__name__}: {exc}"
        return run
    except BaseException as exc:  # e.g. Celery's time limit: record it, then let it through
        run.status = RetentionRun.Status.FAILED
        run.errors = (
            f"{type(exc).__name__}: {exc or 'interrupted'}. Days already deleted stay done; "
            "the next run resumes the day in progress."
        )
        raise
    finally:
        if lock is not None:
            lock.release()
        _finish(run, tier, began)


def _finish(run: RetentionRun, tier: HourlyTier | DailyTier | None, began: float) -> None:
    if isinstance(tier, HourlyTier):
        tier.reader.close()
    run.finished = datetime.now(UTC)
    run.duration_seconds = round(time.monotonic() - began, 3)
    if tier is not None and run.status != RetentionRun.Status.DRY_RUN:
        outcome = tier.outcome
        run.records_processed = outcome.processed
        run.records_deleted = outcome.deleted
        run.details = {
            **run.details,
            "days": outcome.days,
            "entities": len(outcome.entities),
            "rows_written": outcome.rows_written,
            "late_points": outcome.late_points,
            "waiting": outcome.waiting,
            "horizon": tier.horizon.isoformat(),
        }
    before, after = run.storage_before_bytes, run.storage_after_bytes
    if before is not None and after is not None:
        run.storage_freed_mb = round((before - after) / 1e6, 3)
        run.details["reduction_percent"] = (
            round(100 * (before - after) / before, 2) if before else 0.0
        )
    run.save()
    logger.log(logging.ERROR if run.status == RetentionRun.Status.FAILED else logging.INFO,
               "%s", summary(run))  # fmt: skip


def summary(run: RetentionRun) -> str:
    """The run's one-line summary (logged at the end of each run)."""
    what = {
        RetentionRun.Operation.DOWNSAMPLE_HOURLY: ("raw points", "hourly rows"),
        RetentionRun.Operation.DOWNSAMPLE_DAILY: ("hourly rows", "daily rows"),
    }.get(run.operation, ("records", "rows"))
    details = run.details or {}
    parts = [f"{run.operation} run {run.pk}: {run.status}"]
    if run.status == RetentionRun.Status.SKIPPED:
        parts.append(details.get("reason", ""))
    elif run.status == RetentionRun.Status.DRY_RUN:
        freed = details.get("expected_freed_bytes")
        parts.append(
            f"would aggregate {run.records_processed:,} {what[0]} of "
            f"{len(details.get('days', []))} day(s) and delete them"
            + (f", about {freed / 1e6:.2f} MB back" if freed else "")
        )
    else:
        parts.append(
            f"{len(details.get('days', []))} day(s), {details.get('entities', 0)} entities, "
            f"{run.records_processed:,} {what[0]} -> {details.get('rows_written', 0):,} "
            f"{what[1]}, {run.records_deleted:,} deleted"
        )
        if details.get("late_points"):
            parts.append(f"{details['late_points']} late point(s) folded in")
        if run.storage_before_bytes is not None and run.storage_after_bytes is not None:
            parts.append(
                f"storage {run.storage_before_bytes / 1e6:.2f} MB -> "
                f"{run.storage_after_bytes / 1e6:.2f} MB (freed {run.storage_freed_mb:.2f} MB, "
                f"{details.get('reduction_percent', 0):.1f} %)"
            )
    if run.errors:
        parts.append(f"errors: {run.errors}")
    parts.append(f"{run.duration_seconds or 0:.1f} s")
    return "; ".join(p for p in parts if p)
