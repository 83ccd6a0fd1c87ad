"""Raw -> hourly (hot -> warm): the days ending RETENTION_RAW_DAYS (+ RETENTION_LATE_MARGIN_HOURS)
ago, every tiered entity of the registry; one UTC day is one resumable chunk (`TierChunk`).

1. read the day's raw samples (batched: `retention.tiers.reads`, the next day read ahead) and
   the sample in force when the day opens (from raw data, or, once that is deleted, from the
   previous hourly row's `carry_*` fields), in W and kWh whatever unit each point was
   written under (`retention.entities.units`; every measurement of the entity:
   `retention.entities.sources`); aggregate 24 UTC hours; write the rows. -> state "written"
2. read the rows back and check each entity: every field as written, `count_samples` of the
   raw day == sum of (sample_count + gap_count), energy totals equal (1e-9 relative).
                                                                           -> state "verified"
3. delete the entities' raw points of the day (measurement- and tag-scoped), with the verified
   days before it: up to a week of days a statement (`retention.tiers.pending`). -> "deleted"
A rerun skips "deleted" days and redoes a "written" day from raw (which is complete: deletes
start only after "verified"). In a "verified" day an entity whose delete statement already ran
(`TierChunk.raw_deleted`) or without raw points left is done: raw points of it there now
arrived later and are folded in as late points once the day is deleted. Of the others, one
whose raw count equals (or, the statement interrupted, is below) its rows' count is deleted,
and one with more raw points (late ones arrived) is aggregated again. Same times and tags
overwrite: no duplicates. Raw points arriving in a day already deleted are late points
(`retention.tiers.late`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings

from enrich.readings import field_problem, tag_problem
from enrich.redis.lock import RunLock
from retention import faults
from retention.entities import ha_source, recorded_gaps
from retention.entities.samples import Sample
from retention.models import Entity, TierChunk
from retention.tiers import ahead as tier_ahead
from retention.tiers import density, unrecorded
from retention.tiers import reader as tier_reader
from retention.tiers import reads as tier_reads
from retention.tiers.chunks import DayTier, Outcome, find_chunk, set_chunk, still_held
from retention.tiers.forgotten import Forgotten
from retention.tiers.pending import PendingDeletes
from retention.tiers.row_units import in_units_of_now, units_of_now
from retention.tiers.rows import (
    HOURLY_RP,
    TierRow,
    carry_fields,
    carry_sample,
    differences,
    newest,
    read_rows,
    recent,
    write_rows,
)
from retention.tiers.safety import VerificationFailed, hourly_horizon, raw_retention_policy
from retention.tiers.side import Side
from retention.tiers.stepwise import aggregate_windows
from retention.tiers.timeline import hour_windows
from retention.timeutil import DAY, utc_date, utc_midnight

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)


@dataclass
class _EntityDay:
    """One entity's hourly rows of one day, as computed from raw data; none, and why, when
    InfluxDB cannot hold one of their fields (`unwritable`: the day's states stay raw)."""

    entity: Entity
    rows: list[TierRow]
    raw_points: int
    unwritable: str = ""


class HourlyTier(DayTier):
    """Raw -> hourly for the days in [start, end) before the horizon."""

    tier = TierChunk.Tier.HOURLY

    def __init__(self, start: date | None, end: date | None, now: datetime) -> None:
        super().__init__(start, end, hourly_horizon(now))
        self.database = settings.HA_INFLUXDB_DATABASE
        tiered = Entity.objects.filter(tiered=True).order_by("entity_id")
        self.entities = [entity for entity in tiered if _readable(entity, self.outcome)]
        self._raw_rp: str | None = None
        self.reader = tier_reader.Reader(self.entities, self.database)
        self.ahead = tier_ahead.Lookahead()
        self.side = Side("tier-side")  # reads the main thread need not wait for in turn
        self.work_set: set[date] = set()
        self.pending = PendingDeletes(self)  # verified days, deleted a few at a time
        # Entity id -> the last days with its rows before days without any (it was not tiered
        # then): `late_days.fold_late_points` gives those days the rows of its value holding on.
        self.holes: dict[str, set[date]] = {}
        self.late_unread = False  # raw points of done days left to a later run (`late`)
        self.forgotten = Forgotten(self.database, self.outcome)  # done by a forgotten run
        self.gaps = recorded_gaps.RecordedGaps()  # HA's unavailable spans, read once (work_days)

    @property
    def raw_rp(self) -> str:
        if self._raw_rp is None:
            self._raw_rp = raw_retention_policy()
        return self._raw_rp

    # -- what there is to do --
    def work_days(self) -> list[date]:
        """Days not deleted yet, from where raw data, the chain of hourly rows or a day not
        finished starts (entities with points discovery has not found, or two instances write,
        left out: `unrecorded`)."""
        self.entities = unrecorded.leave_out(self.entities, self.outcome, self.database)
        if not self.entities:
            return []
        start = self.start
        if start is None:
            before = utc_midnight(self.end)
            found = tier_reads.first_times(self.entities, before, self.database).values()
            firsts = [utc_date(first) for first in found if first is not None]
            chunks = TierChunk.objects.filter(tier=self.tier, day__lt=self.end)
            last = chunks.order_by("-day").values_list("day", flat=True).first()
            if last is not None:
                # Entities whose value holds without new points still get their hours.
                firsts.append(last + timedelta(days=1))
            # A day a run stopped in, which may hold no raw point (every entity's rows kept as
            # InfluxDB holds them: retention.tiers.forgotten), is finished.
            unfinished = chunks.exclude(state=TierChunk.State.DELETED).order_by("day")
            if (first_unfinished := unfinished.values_list("day", flat=True).first()) is not None:
                firsts.append(first_unfinished)
            if not firsts:
                return []
            start = min(firsts)
        self.reader.days = self.days_left(start)
        self.work_set = set(self.reader.days)
        self.gaps.load_days(self.entities, self.reader.days)
        return self.reader.days

    def close(self) -> None:
        """End the run's helper threads (the day computed ahead first: it reads)."""
        self.ahead.close()
        self.reader.close()
        self.side.close()

    # -- one entity, one day --
    def compute(
        self, entity: Entity, day: date, reads: tier_reader.GroupReads | None = None
    ) -> _EntityDay:
        """The entity's hourly rows of `day`, from the day's batched reads (tier_reads), or,
        without them (a kept day the daily tier composes: density.add_kept_days), its own."""
        start, end = utc_midnight(day), utc_midnight(day) + DAY
        if reads is None:
            samples = list(ha_source.read_samples(entity, start, end, database=self.database))
            raw_carry = samples[0] if samples and samples[0].time < start else None
            day_samples = samples[1:] if raw_carry is not None else samples
            previous, previous_end = density.previous_row(entity.entity_id, start)
        else:
            day_samples = reads.samples[entity.entity_id]
            raw_carry = reads.carried[entity.entity_id]
            previous, previous_end = _previous(entity.entity_id, start, reads)
        head: list[Sample] = [raw_carry] if raw_carry is not None else []
        previous_value = previous_state = previous_reset = None
        now = units_of_now(entity)
        if previous is not None:
            # A row computed before a unit switch: its readings in the units of now.
            previous = TierRow(previous.entity_id, previous.kind, previous.start,
                               in_units_of_now(previous.fields, entity, now))  # fmt: skip
            last_value = previous.fields.get("last_value")
            last_state = previous.fields.get("last_state")
            previous_value = None if last_value is None else float(last_value)
            previous_state = None if last_state is None else str(last_state)
            if (last_reset := previous.fields.get("last_reset")) is not None:
                previous_reset = str(last_reset)  # an energy meter's cycle
            if raw_carry is None or raw_carry.time < previous_end:
                # The raw point before the day is gone (or older than the hourly chain).
                synthetic = carry_sample(previous.fields, min(previous_end, start) - MICROSECOND)
                head = [synthetic] if synthetic is not None else []
        timeline = self.gaps.merged(entity, head + day_samples, start, end)
        windows = hour_windows(start, end)
        aggregates = aggregate_windows(
            entity.kind,
            timeline,
            windows,
            previous_last_value=previous_value,
            previous_last_state=previous_state,
            previous_last_reset=previous_reset,
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
            fields = {**aggregate.to_fields(), **carry_fields(in_force), **now}
            rows.append(TierRow(entity.entity_id, entity.kind, aggregate.window_start, fields))
        if why := _unwritable(rows):
            return _EntityDay(entity, [], 0, why)
        if previous_end is not None and previous_end < start:
            self.holes.setdefault(entity.entity_id, set()).add(utc_date(previous_end - MICROSECOND))
        raw_points = sum(row.points for row in rows)
        return _EntityDay(entity, rows, raw_points)

    def verify(self, day: date, computed: list[_EntityDay]) -> dict[str, int]:
        """Read the day's rows back; every entity's rows as written and accounting for every
        raw point and all energy. Returns the raw points counted per entity; raises
        VerificationFailed naming entity, hour and field."""
        start = utc_midnight(day)
        entities = [c.entity for c in computed]
        counting = self.side.submit(
            tier_reads.count_samples, entities, start, start + DAY, self.database
        )  # while the rows are read back
        stored = read_rows(HOURLY_RP, start, start + DAY)
        counts = counting.result()
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

    # -- one day --
    def process_day(self, day: date, lock: RunLock) -> None:
        chunk = find_chunk(self.tier, day)
        if chunk is not None and chunk.state == TierChunk.State.DELETED:
            return
        start = utc_midnight(day)
        verified = chunk is not None and chunk.state == TierChunk.State.VERIFIED
        to_aggregate: list[Entity] = []
        to_delete: list[tuple[Entity, int]] = []
        before: dict[str, tuple[int, int]] = {}  # (points, rows) an entity's rows held already
        if not verified:
            to_aggregate = self.forgotten.leave(day, self.entities, self.reader.days)
        else:
            # Deletes may have run for some entities: decide per entity from what is left.
            stored = read_rows(HOURLY_RP, start, start + DAY)
            counts = tier_reads.count_samples(self.entities, start, start + DAY, self.database)
            done = set(chunk.raw_deleted)
            for entity in self.entities:
                raw = counts[entity.entity_id]
                accounted = sum(row.points for row in stored.get(entity.entity_id, []))
                if raw == 0 or entity.entity_id in done:  # its delete ran (Forgotten.gone)
                    self.forgotten.gone(chunk, entity.entity_id, accounted)
                    continue  # points written after its delete ran: late (fold_late_points)
                if raw > accounted:
                    to_aggregate.append(entity)  # late points arrived before its delete
                    before[entity.entity_id] = (accounted, len(stored.get(entity.entity_id, [])))
                else:
                    if raw < accounted:
                        logger.warning(
                            "%s: %d of %d raw points of %s left after an interrupted delete; "
                            "deleting the rest (the hourly rows hold them all)",
                            entity.entity_id, raw, accounted, day,
                        )  # fmt: skip
                    to_delete.append((entity, raw))
        computed = self.ahead.take(day) if not verified and chunk is None else None
        if computed is not None and len(to_aggregate) < len(self.entities):
            computed = [item for item in computed if item.entity in to_aggregate]
        if computed is None:
            computed = [
                self.compute(entity, day, reads)
                for group, reads in self.reader.groups(start, to_aggregate)
                if still_held(lock)
                for entity in group
            ]
        computed, kept = density.split(
            [item for item in self._writable(day, computed) if item.rows]
        )
        if (following := tier_ahead.plan(self, day, computed, kept)) is not None:
            self.ahead.start(day + DAY, following)
        written = write_rows(HOURLY_RP, (row for item in computed for row in item.rows))
        raw_points = sum(item.raw_points for item in computed)
        if not verified:
            self.written(day, len(computed), raw_points, written)
        density.record_kept(day, kept)
        faults.point("hourly:after_write")
        # The delete's series check (`tier_reads.delete_official`), asked beside the verification.
        alone = self.side.submit(tier_reads.alone_groups, [item.entity for item in computed],
                                 start, start + DAY, self.database)  # fmt: skip
        counts = self.verify(day, computed)
        if not verified:
            set_chunk(self.tier, day, TierChunk.State.VERIFIED)
            self.forgotten.verified(day)
        # Counted once verified: a run stopped before the delete still says what it wrote.
        if day.isoformat() not in self.outcome.days:  # a day taken again (PendingDeletes)
            self.outcome.days.append(day.isoformat())
        self.outcome.entities.update(item.entity.entity_id for item in computed)
        # An entity taken again is aggregated whole: the run counts its points and rows once.
        again = [before.get(item.entity.entity_id, (0, 0)) for item in computed]
        self.outcome.processed += raw_points - sum(points for points, _ in again)
        self.outcome.rows_written += written - sum(rows for _, rows in again)
        faults.point("hourly:after_verify")
        still_held(lock)
        targets = [(item.entity, counts[item.entity.entity_id]) for item in computed] + to_delete
        self.pending.hold(day, targets, alone.result(), lock)  # deleted with its week

    def finish(self, lock: RunLock) -> None:
        """Delete what the last verified days hold (`PendingDeletes.flush`)."""
        self.pending.flush(lock)
        self.outcome.waiting.extend(self.forgotten.notes())

    def _writable(self, day: date, computed: list[_EntityDay]) -> list[_EntityDay]:
        """The entity-days whose rows InfluxDB can hold. An entity with a field it cannot (an
        attribute's name) is left out of the run from `day` on, named in its notes: its raw
        points stay, none deleted unverified; the days before stay done."""
        left = {item.entity.entity_id: item.unwritable for item in computed if item.unwritable}
        if left:
            self.entities = [entity for entity in self.entities if entity.entity_id not in left]
        for entity_id, why in sorted(left.items()):
            self.holes.pop(entity_id, None)  # no value holds on: its states are there, raw
            note = f"{entity_id!r} is left out from {day} on: {why}; {LEFT_RAW}"
            self.outcome.leave_out(entity_id, note)
            logger.warning("downsample_hourly: %s", note)
        return [item for item in computed if not item.unwritable]


def _readable(entity: Entity, outcome: Outcome) -> bool:
    """Whether the entity's points can be found and tiered: an official-layout id without a
    domain or an object id (e.g. typed so in the admin before it refused such ids), or an id
    InfluxDB holds but the tier rows' tag cannot (another writer's "c:\\ drive"), is left out
    of the run, named in its notes (and its alert: `Outcome.leave_out`)."""
    domain, _, object_id = entity.entity_id.partition(".")
    if entity.layout == Entity.Layout.OFFICIAL and not (domain and object_id):
        outcome.leave_out(
            entity.entity_id,
            f"{entity.entity_id!r} is not of the form domain.object_id: left out; delete it in "
            "the admin (discovery registers the entity under its full id)",
        )
        return False
    if why := tag_problem(entity.entity_id):
        outcome.leave_out(
            entity.entity_id,
            f"{entity.entity_id!r} cannot be the entity_id tag of the tier rows, which cannot "
            f"hold {why}: left out, its points stay raw (give the entity another id where its "
            "points are written)",
        )
        return False
    return True


# What becomes of an entity left out for a field InfluxDB cannot hold, and what to do.
LEFT_RAW = (
    "its raw points stay as they are (the other entities are tiered). Leave the attribute out "
    "where Home Assistant writes it (the InfluxDB integration's ignore_attributes), or untick "
    "the entity's tiered in the admin"
)


def _unwritable(rows: list[TierRow]) -> str:
    """Why InfluxDB cannot hold the rows: the first field whose name line protocol cannot
    carry (an attribute's, as `<name>_mean` or `carry_attr_<name>`); "" when it can."""
    for name in sorted({name for row in rows for name in row.fields}):
        if why := field_problem(name):
            return (
                f"its hourly rows would hold the field {name!r}, and a field name cannot hold {why}"
            )
    return ""


def _previous(
    entity_id: str, start: datetime, reads: tier_reader.GroupReads
) -> tuple[TierRow | None, datetime | None]:
    """density.previous_row from the batched newest hourly and daily rows (a daily row is
    newer after days kept raw), or, with no daily rows read (`Reader.ahead`), its own."""
    hour = reads.previous.get(entity_id)
    if reads.daily is None and not recent(hour, start):
        return density.previous_row(entity_id, start)
    return newest(hour, (reads.daily or {}).get(entity_id), start)
