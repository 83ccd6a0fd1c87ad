"""Hourly -> daily (warm -> cold): the days ending RETENTION_HOURLY_DAYS (+ margin) ago.

Per day (one resumable `TierChunk`): compose the day's hourly rows per entity (`compose`:
coverage-weighted means, min of mins, max of maxes, sums), write the daily rows and keep them
in `TierChunk.pending_rows` ("written"), read back and check (fields, sum of hourly counts and
energy == daily: "verified"), then delete the hourly rows and write the daily rows
again ("deleted"). Verified days are deleted together, up to DELETE_BATCH_DAYS consecutive
days with the same entities in one statement per group of entities (InfluxDB 1.6 spends
about as long on a DELETE of a week as of a day: `retention.tiers.pending`). InfluxDB 1.x
deletes from every retention policy at once, so the statement also removes the days' daily
rows at midnight: they are rewritten from `pending_rows` and checked again, also by a rerun
after a crash in between (the days stay "verified" until then). Entity-days the
hourly tier kept raw are composed from their raw states (`retention.tiers.density`).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import NamedTuple

from django.conf import settings

from enrich.influx import get_timeseries, quote_ident
from enrich.redis.lock import RunLock
from retention import faults
from retention.models import Entity, TierChunk
from retention.tiers import density
from retention.tiers import reads as tier_reads
from retention.tiers.aggregate import compose
from retention.tiers.chunks import DayTier, deleted_days, find_chunk, set_chunk, still_held
from retention.tiers.forgotten import days_holding
from retention.tiers.hourly import DAY, HOUR, HourlyTier
from retention.tiers.pending import HeldDays
from retention.tiers.row_units import in_units_of_now, units_of_now
from retention.tiers.rows import (
    DAILY_RP,
    HOURLY_RP,
    LATE_TIMES,
    MEASUREMENT,
    TierRow,
    differences,
    read_rows,
    write_rows,
)
from retention.tiers.safety import VerificationFailed, daily_horizon
from retention.timeutil import utc_date, utc_midnight


class _Verified(NamedTuple):
    day: date
    pending: dict[str, dict]  # entity_id -> {"kind", "fields"}: the day's daily rows


class DailyTier(DayTier):
    """Hourly -> daily for the days in [start, end) before the horizon."""

    tier = TierChunk.Tier.DAILY

    def __init__(self, start: date | None, end: date | None, now: datetime) -> None:
        super().__init__(start, end, daily_horizon(now))
        # Verified days, deleted together when the next one has the same entities.
        self.again: set[date] = set()  # days composed again (`_stranded`)
        self.held = HeldDays(lambda held, item: item.pending.keys() == held[0].pending.keys(),
                             self._delete)  # fmt: skip

    def work_days(self, hourly_tier: bool = True) -> list[date]:
        """Days not deleted yet, from the first hourly row, kept raw state or unfinished day;
        `hourly_tier` False: the hourly tier does not exist yet (a dry run before the first
        run creates it), so no hourly row is looked for."""
        start = self.start
        if start is None:
            pending = (
                TierChunk.objects.filter(tier=self.tier, day__lt=self.end)
                .exclude(state=TierChunk.State.DELETED)
                .order_by("day")
                .values_list("day", flat=True)
                .first()
            )
            first = self._first_hourly_day() if hourly_tier else None
            kept = density.first_kept_day(self.end)
            candidates = [d for d in (pending, first, kept) if d]
            if not candidates:
                return []
            start = min(candidates)
        self.again = set(self._stranded(start)) if hourly_tier else set()
        return self._hourly_done(sorted({*self.days_left(start), *self.again}))

    def _stranded(self, start: date) -> list[date]:
        """Days from `start` marked done that hold hourly rows and no daily row: composed again,
        in order with the rest. Their hourly rows came after the day was done (its hourly step
        was behind when an earlier run took it, composing nothing), or came back with InfluxDB
        restored from a backup older than enrich's database (taken between the day's hourly
        and daily runs). Only a day without any daily row, so nothing composed is lost."""
        done = TierChunk.objects.filter(tier=self.tier, state=TierChunk.State.DELETED)
        days = set(done.filter(day__gte=start, day__lt=self.end).values_list("day", flat=True))
        if not days:
            return []
        span = (utc_midnight(min(days)), utc_midnight(max(days)) + DAY)
        held = days_holding(HOURLY_RP, *span) - days_holding(DAILY_RP, *span)
        return sorted(days & held)

    def _hourly_done(self, days: list[date]) -> list[date]:
        """`days` up to the first whose raw -> hourly step is not done (its hourly chunk not
        "deleted"), which the run notes in `waiting`: composed before, such a day would find
        its hourly rows missing or partial and be marked done, and the rows the hourly run
        writes later would stay in enrich_hourly, never composed. Days before the hourly
        tier's first chunk hold no raw data to wait for. The run stops there rather than skip
        the day: the days are composed in order."""
        if not days:
            return days
        hourly = TierChunk.Tier.HOURLY
        first = TierChunk.objects.filter(tier=hourly).order_by("day").values_list("day").first()
        done = set(deleted_days(hourly, days[0], days[-1] + DAY))
        for n, day in enumerate(days):
            if (first is not None and day < first[0]) or day in done:
                continue
            chunk = find_chunk(hourly, day)
            state = f"its chunk: {chunk.get_state_display()}" if chunk else "not started"
            self.outcome.waiting.append(
                f"days from {day} wait for the raw -> hourly run, which has not done {day} yet "
                f"({state}): a later run composes them once it has, so no hourly row is left "
                "behind"
            )
            return days[:n]
        return days

    def _first_hourly_day(self) -> date | None:
        query = (
            f"SELECT * FROM {quote_ident(settings.TIER_DATABASE)}.{quote_ident(HOURLY_RP)}."
            f"{quote_ident(MEASUREMENT)} WHERE time < $end ORDER BY time ASC LIMIT 1"
        )
        params = {"end": utc_midnight(self.end)}
        with get_timeseries().query(settings.TIER_DATABASE, query, params=params) as rows:
            first = next(rows, None)
        return utc_date(first.time) if first else None

    def process_day(self, day: date, lock: RunLock) -> None:
        chunk = find_chunk(self.tier, day)
        again = day in self.again  # marked done with nothing composed, its hourly rows came after
        if chunk is not None and chunk.state == TierChunk.State.DELETED and not again:
            return
        start = utc_midnight(day)
        if chunk is None or chunk.state == TierChunk.State.WRITTEN or again:
            hourly = read_rows(HOURLY_RP, start, start + DAY)
            density.add_kept_days(day, hourly, HourlyTier(None, None, utc_midnight(day)))
            units = _in_units_of_now(hourly)
            pending: dict[str, dict] = {}
            sources = 0
            for entity_id, rows in sorted(hourly.items()):
                kind = rows[0].kind
                daily = compose(kind, [row.aggregate(HOUR) for row in rows], start, start + DAY)
                if daily is None:
                    continue
                fields = {**daily.to_fields(), **units.get(entity_id, {})}
                # Late points folded into the hours stay known, so a crash before they were
                # deleted does not fold them into the daily row again (retention.tiers.late).
                if late := sorted({t for row in rows for t in row.late_times()}):
                    fields[LATE_TIMES] = ",".join(map(str, late))
                pending[entity_id] = {"kind": kind, "fields": fields}
                sources += len(rows)
            density.carry_on_daily(pending, hourly)
            written = write_rows(DAILY_RP, _pending_rows(pending, start))
            self.written(day, len(pending), sources, written, pending_rows=pending)
            faults.point("daily:after_write")
            self.verify(day, pending, hourly)
            set_chunk(self.tier, day, TierChunk.State.VERIFIED)
            self.outcome.processed += sources
            self.outcome.rows_written += written
        else:
            pending = chunk.pending_rows
        # Counted once verified, as the hourly tier counts its days: a run stopped before the
        # delete (its lock lost, InfluxDB gone) still says which days it composed.
        if day.isoformat() not in self.outcome.days:
            self.outcome.days.append(day.isoformat())
        self.outcome.entities.update(pending)
        faults.point("daily:after_verify")
        still_held(lock)
        self.held.add(_Verified(day, pending), lock)  # deleted with its week (module doc)

    def finish(self, lock: RunLock) -> None:
        self.held.flush(lock)

    def _delete(self, held: list[_Verified], lock: RunLock) -> None:
        """Delete the held days' hourly rows in one statement per group of entities, then
        write their daily rows again and check them (see the module doc)."""
        still_held(lock)
        start, end = utc_midnight(held[0].day), utc_midnight(held[-1].day) + DAY
        ids = sorted(held[0].pending)  # the same entities every held day
        stored = read_rows(HOURLY_RP, start, end)
        deleted = sum(len(stored.get(entity_id, [])) for entity_id in ids)
        # Only the entities whose rows were composed: a row InfluxDB did not show when the day
        # was composed (see docs/storage.md, 1.6's series index) is never deleted unseen.
        # InfluxDB 1.x deletes from every retention policy at once (2.x: every bucket), so the
        # statement takes the days' daily rows at midnight too: they are written again below.
        tier_reads.delete_tagged(settings.TIER_DATABASE, start, end, MEASUREMENT,
                                 [{"entity_id": entity_id} for entity_id in ids], None,
                                 after_first=lambda: faults.point("daily:mid_delete"))  # fmt: skip
        raw = sum(density.delete_kept_raw(day, pending) for day, pending in held)
        self.outcome.raw_deleted += raw
        self.outcome.deleted += deleted + raw  # gone now, whatever stops the rewrite below
        faults.point("daily:before_rewrite")
        write_rows(DAILY_RP, [r for day, p in held for r in _pending_rows(p, utc_midnight(day))])
        stored = read_rows(DAILY_RP, start, end)
        for day, pending in held:
            for entity_id, entry in pending.items():
                got = [r for r in stored.get(entity_id, []) if r.start == utc_midnight(day)]
                problems = differences(entry["fields"], got[0].fields) if got else ["row missing"]
                if problems:
                    raise VerificationFailed(
                        f"{entity_id}: the daily row of {day} reads back differently after the "
                        f"hourly rows were deleted ({'; '.join(problems)}); it is kept in the "
                        "day's TierChunk and rewritten by the next run."
                    )
        for day, _ in held:
            set_chunk(self.tier, day, TierChunk.State.DELETED, pending_rows={})

    def verify(self, day: date, pending: dict[str, dict], hourly: dict[str, list[TierRow]]) -> None:
        start = utc_midnight(day)
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


def _in_units_of_now(hourly: dict[str, list[TierRow]]) -> dict[str, dict[str, str]]:
    """Put each entity's hours in the units of now (hours computed before a unit switch are
    converted: `retention.tiers.row_units`); returns the unit fields of each entity's day."""
    units: dict[str, dict[str, str]] = {}
    for entity in Entity.objects.filter(entity_id__in=list(hourly)):
        now = units[entity.entity_id] = units_of_now(entity)
        for row in hourly[entity.entity_id]:
            row.fields = in_units_of_now(row.fields, entity, now)
    return units
