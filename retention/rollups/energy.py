"""daily_energy_by_device: an entity's rows per local day (the rules are in `retention.rollups.rows`'
docstring, the README's "Materialized views" says them for users).

A power sensor whose points are plain numbers is read and summed by `retention.rollups.power`
(CSV, integer times), which gives the same windows as `aggregate_windows` float for float;
every other entity takes `aggregate_windows` over its samples.

Cost prices energy at the slots in which it was used. A power sensor's energy is used in the
piece that integrates it. A meter's growth is counted (total_kwh, by Home Assistant's rules)
at the reading that shows it, but was used since the reading before: each step is priced
spread evenly over that time (`_used`), so a meter reporting its hour at the hour's end, or
its day at 23:59, is priced at the hour's or the day's slots, not at the slot of its report.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from enrich.readings import EPOCH
from retention.entities.ha_source import count_samples
from retention.entities.recorded_gaps import RecordedGaps
from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.inputs import (
    HOUR,
    RawPart,
    TierPart,
    Unavailable,
    entity_parts,
    row_points,
    tier_row_before,
)
from retention.rollups.meter_power import meter_power
from retention.rollups.power import MICROSECOND, plain_power, power_windows
from retention.rollups.prices import PriceBook, price_book
from retention.rollups.rows import Outcome
from retention.rollups.tier_kinds import TieredUnit, named, why_not
from retention.tiers.aggregate import Aggregate
from retention.tiers.stepwise import aggregate_windows, meter_steps
from retention.tiers.timeline import reading_of, window_timeline
from retention.timeutil import floor_hour, local_date, local_day_length, local_day_start, local_days

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Piece:
    start: datetime
    end: datetime
    aggregate: Aggregate
    counted: bool = False  # a meter's raw growth counted at its readings (priced by `_used`)
    known_from: datetime | None = None  # a meter first read inside the piece: from then on


def _edges(part: RawPart, prices: PriceBook) -> list[datetime]:
    edges = {part.start, part.end} | prices.edges(part.start, part.end)
    hour = floor_hour(part.start) + HOUR
    while hour < part.end:
        edges.add(hour)
        hour += HOUR
    for day in local_days(local_date(part.start), local_date(part.end)):
        if part.start < (midnight := local_day_start(day)) < part.end:
            edges.add(midnight)
    return sorted(edges)


DAILY_ROW = (
    "only a daily tier row (a UTC day) is left for part of this local day and it cannot be "
    "split (TIME_ZONE is not at UTC+0 then)"
)
HOURLY_ROW = (
    "only an hourly tier row is left for an hour across this local day's midnight and it "
    "cannot be split (TIME_ZONE is not a whole number of hours from UTC then)"
)

CARRIED = "the value it starts from is carried in from the tier row before it"
ARCHIVED_PART = (
    "part of this local day lies in a UTC day the archive took out of InfluxDB (its daily "
    "rows left for the archive, which a rebuild does not read): read from the rest alone it "
    "would lose that part's energy"
)


def _spanned(start: datetime, end: datetime) -> list[date]:
    """The local days [start, end) touches."""
    return local_days(local_date(start), local_date(end - timedelta(microseconds=1)))


def _local_day(part: TierPart) -> bool:
    """Whether the part's UTC day is exactly a local day (TIME_ZONE at UTC+0 all that day)."""
    day = local_date(part.start)
    return part.start == local_day_start(day) and part.end == local_day_start(
        day + timedelta(days=1)
    )


def energy_rows(
    entity: Entity,
    first: date,
    last: date,
    now: datetime,
    prices: PriceBook,
    partly: dict[date, list[tuple[datetime, datetime]]] | None = None,
    tiered_unit: TieredUnit | None = None,
    own: bool = False,
    gaps: RecordedGaps | None = None,
) -> Outcome:
    """The entity's rows for the local days first..last (the open day up to `now`); `partly`:
    the local days partly archived, with their archived pieces (`rollups.archived`);
    `tiered_unit`: the unit its tier rows were converted by, when an edit changed it; `own`:
    nothing carried in before `first`, read from its own first point on (`rollups.fewer`);
    `gaps`: Home Assistant's unavailable spans, read before (`inputs.entity_parts`)."""
    outcome = Outcome()
    start, end = local_day_start(first), min(local_day_start(last + timedelta(days=1)), now)
    if end <= start:
        return outcome
    pieces: dict[date, list[Piece]] = defaultdict(list)
    used: dict[date, list[Piece]] = defaultdict(list)  # a meter's raw steps, as used (`_used`)
    unavailable: dict[date, str] = {}  # day -> which tier row cannot be split
    points: Counter[date] = Counter()  # day -> the raw points its row is built from
    in_force: dict[date, datetime] = {}  # day -> the time of the raw point in force at its start
    other_kind: dict[date, str] = {}  # day -> why its tier rows of another kind give no row
    fast = plain_power(entity)
    parts = entity_parts(entity, start, end, plain_power=fast, tiered_unit=tiered_unit, gaps=gaps)
    for part in parts:
        outcome.sources[part.source] += 1
        if isinstance(part, Unavailable) or (
            isinstance(part, TierPart) and part.source == "daily" and not _local_day(part)
        ):
            # A daily row is a UTC day: it cannot be split between the local days it spans.
            unavailable.update(dict.fromkeys(_spanned(part.start, part.end), DAILY_ROW))
        elif isinstance(part, TierPart):
            known = _known_before(entity, part, tiered_unit)
            for row in part.rows:
                if why := why_not(entity, row, part.source, part.tiered):
                    other_kind.update(dict.fromkeys(_spanned(part.start, part.end), why))
                    break  # made under another kind or unit, which cannot give the figures
                if len(days := _spanned(row.window_start, row.window_end)) > 1:
                    # An hour across a local midnight (TIME_ZONE not a whole number of hours
                    # from UTC, e.g. +05:30): its energy cannot be split between the days.
                    unavailable.update(dict.fromkeys(days, HOURLY_ROW))
                    continue
                piece = Piece(row.window_start, min(row.window_end, end), row)
                if not known and entity.kind == Entity.Kind.ENERGY:
                    piece = Piece(piece.start, piece.end, row, known_from=_first_read(row))
                known = known or row.last_value is not None
                pieces[local_date(row.window_start)].append(piece)
                points[local_date(row.window_start)] += row_points(row)
        else:
            if own and part.start == start:
                part.samples, part.doubt = [s for s in part.samples if s.time >= start], None
            if part.doubt:  # its first day starts from the value a tier row carries in
                other_kind[local_date(part.start)] = f"{CARRIED}, {part.doubt}"
            points.update(_raw_points(part))
            in_force.update(_in_force(part))
            edges = _edges(part, prices)
            windows = list(zip(edges, edges[1:], strict=False))
            if part.points is not None:
                results = power_windows(part.samples, part.points, windows)
            else:
                results = aggregate_windows(
                    entity.kind, part.samples, windows, entity_id=entity.entity_id
                )
            meter = entity.kind == Entity.Kind.ENERGY
            # A meter's first reading: nothing is known of it before.
            read = (s.time for s in part.samples if meter and reading_of("energy", s) is not None)
            first = next(read, None)
            for (w_start, w_end), aggregate in zip(windows, results, strict=True):
                if aggregate is not None:
                    piece = Piece(w_start, w_end, aggregate, meter, known_from=first)
                    pieces[local_date(w_start)].append(piece)
            if entity.kind == Entity.Kind.ENERGY:
                for day, step in _used(entity, part, windows):
                    used[day].append(step)
    for day, archived in (partly or {}).items():
        # A row from the rest of the day alone: its archived part read as nothing (no raw
        # point of the entity's there either, as there would be were it not tiered then).
        if day in pieces and not any(count_samples(entity, *piece) for piece in archived):
            unavailable.setdefault(day, ARCHIVED_PART)
    earliest = min((step.start for steps in used.values() for step in steps), default=end)
    if prices.start is not None and earliest < prices.start:
        prices = price_book(earliest, prices.end)  # a meter's last reading before the book's
    outcome.skipped.extend(named(entity.entity_id, other_kind))
    for day in sorted((pieces.keys() | unavailable.keys()) - other_kind.keys()):
        if day in unavailable:
            outcome.skipped.append(f"{entity.entity_id} {day}: {unavailable[day]}; the row is kept")
            outcome.kept.add(day)
            continue
        row = _energy_day(
            entity,
            day,
            pieces[day],
            prices,
            used=used.get(day, []),
            partial=local_day_start(day) + local_day_length(day) > now,
            until=min(local_day_start(day + timedelta(days=1)), end),
        )
        if row is not None:
            row.source_points = points[day]
            outcome.rows.append(row)
            if day in in_force:
                outcome.in_force[entity.entity_id, day] = in_force[day]
    return outcome


def _known_before(entity: Entity, part: TierPart, tiered_unit: TieredUnit | None) -> bool:
    """Whether a meter's reading is known before the tier part: its first row counts from
    its start then (a gap in force there is time, as in raw), else from its first reading."""
    first = part.rows[0] if part.rows else None
    if entity.kind != Entity.Kind.ENERGY or first is None:
        return True
    if first.coverage_seconds >= (first.window_end - first.window_start).total_seconds():
        return True  # known all along its window: no need to look further back
    before = tier_row_before(entity, part.start, tiered_unit)
    return before is not None and before[0].last_value is not None


def _first_read(row: Aggregate) -> datetime:
    """When a meter first read in the tier row was first read: its `first_reading_time`; on a
    row written without it, as if no gap followed that reading (its coverage before the end)."""
    if row.first_reading_time is not None:
        return datetime.fromtimestamp(row.first_reading_time, UTC)
    return row.window_end - timedelta(seconds=row.coverage_seconds)


def _raw_points(part: RawPart) -> Counter[date]:
    """local day -> the part's raw points in it (not the carried-in ones before the part),
    read as samples or as a plain power sensor's points."""
    if part.points is not None:
        times, key = part.points.times, lambda moment: (moment - EPOCH) // MICROSECOND
    else:
        times, key = [s.time for s in part.samples if not s.recorded], lambda moment: moment
    found: Counter[date] = Counter()
    for day in _spanned(part.start, part.end):
        first = max(local_day_start(day), part.start)
        last = min(local_day_start(day + timedelta(days=1)), part.end)
        found[day] = bisect_left(times, key(last)) - bisect_left(times, key(first))
    return found


def _in_force(part: RawPart) -> dict[date, datetime]:
    """local day -> the time of the raw point in force at the day's start (the newest before
    it: the reading a meter's first growth of the day is counted from), for the days that
    start inside the part and have such a point."""
    samples = [sample for sample in part.samples if not sample.recorded]  # raw points
    carried = next((s.time for s in reversed(samples) if s.time < part.start), None)
    found: dict[date, datetime] = {}
    for day in _spanned(part.start, part.end):
        if (start := local_day_start(day)) < part.start:
            continue  # begun before the part: its start is not read here
        if part.points is None:  # the samples, the carried-in ones first
            before = bisect_left(samples, start, key=lambda sample: sample.time)
            newest = samples[before - 1].time if before else None
        else:  # a plain power sensor's points, the carried-in sample apart
            before = bisect_left(part.points.times, (start - EPOCH) // MICROSECOND)
            newest = EPOCH + part.points.times[before - 1] * MICROSECOND if before else carried
        if newest is not None:
            found[day] = newest
    return found


def _used(
    entity: Entity, part: RawPart, windows: list[tuple[datetime, datetime]]
) -> list[tuple[date, Piece]]:
    """The meter's growth counted in the raw part (by the day of the reading that counts it)
    as used: each step spread evenly from the reading before it to the reading that counts
    it, summed per window (`windows`: the part cut at slot edges, hours and midnights, so
    each is priced by one slot); the time before the part (the reading before it was carried
    in) a piece of its own."""
    timeline, inside, _, _ = window_timeline(part.samples, part.start, part.end)
    spread: dict[tuple[date, int], float] = defaultdict(float)
    found: list[tuple[date, Piece]] = []
    days = [local_date(w_start) for w_start, _ in windows]
    first = 0  # the first window not ended before the step starts (steps ascend)
    counting = 0  # the window of the reading that counts the step
    steps = meter_steps(timeline, inside, (None, None), None)  # aggregate_windows logged them
    for before, sample, growth, _ in steps:
        if growth is None or before is None:
            continue
        start, end = before.time, sample.time
        while windows[counting][1] <= end:
            counting += 1
        day = days[counting]
        if start >= windows[counting][0]:  # the step within one window (a frequent meter)
            spread[day, counting] += growth
            continue
        seconds = (end - start).total_seconds()
        if start < part.start:
            share = growth * (part.start - start).total_seconds() / seconds
            found.append((day, _piece(start, part.start, share)))
            start = part.start
        while windows[first][1] <= start:
            first += 1
        for index in range(first, counting + 1):
            w_start, w_end = windows[index]
            overlap = (min(w_end, end) - max(w_start, start)).total_seconds()
            spread[day, index] += growth * overlap / seconds
    found.extend((day, _piece(*windows[index], kwh)) for (day, index), kwh in spread.items())
    return found


def _piece(start: datetime, end: datetime, kwh: float) -> Piece:
    return Piece(start, end, Aggregate(start, end, "energy", total_energy=kwh))


def _energy_day(
    entity: Entity,
    day: date,
    pieces: list[Piece],
    prices: PriceBook,
    *,
    used: list[Piece],
    partial: bool,
    until: datetime,
) -> DailyEnergyByDevice | None:
    """The day's row; `until`: where the day's time ends (its end, `now` for the open day)."""
    measured = [p for p in pieces if p.aggregate.total_energy is not None]
    if not measured:
        return None
    total = sum(p.aggregate.total_energy for p in measured)
    if entity.kind == Entity.Kind.POWER:
        weighted = [(p.aggregate.avg_value, p.aggregate.coverage_seconds) for p in measured]
        known = sum(s for v, s in weighted if v is not None)
        avg = sum(v * s for v, s in weighted if v is not None) / known if known else None
        peaks = [p.aggregate.max_value for p in measured if p.aggregate.max_value is not None]
        peak = max(peaks) if peaks else None
    else:
        avg, peak = meter_power(local_day_start(day), measured, total, until)
    # A meter's raw steps are priced as used; a day without any energy by its pieces' time.
    if any(step.aggregate.total_energy for step in used):
        measured = [p for p in measured if not p.counted] + used
    cost, currency, source = _cost(measured, prices)
    return DailyEnergyByDevice(
        entity_id=entity.entity_id,
        date=day,
        total_kwh=_rounded(total, 9),
        avg_power=_rounded(avg, 6),
        peak_power=_rounded(peak, 6),
        cost=cost,
        currency=currency,
        cost_source=source,
        partial=partial,
    )


def _rounded(value: float | None, decimals: int) -> float | None:
    """kWh to the µWh (as the cost), W to the µW: a meter's growth is the difference of two
    far larger readings (1234.64 - 1234.6 kWh), whose binary noise (40.000000000190994 W)
    sits above the 15th significant digit of the growth, not at a fixed decimal."""
    return None if value is None else round(value, decimals)


def _cost(pieces: list[Piece], prices: PriceBook) -> tuple[float | None, str, str]:
    """(cost, currency, cost_source) of the pieces' energy; see the module docstring."""
    flat = settings.ENERGY_FLAT_TARIFF
    flat_currency = settings.ENERGY_FLAT_TARIFF_CURRENCY
    used_energy = sum(abs(p.aggregate.total_energy) for p in pieces)
    cost = 0.0
    weight = {"price_slots": 0.0, "flat_tariff": 0.0, "unknown": 0.0}
    currencies: set[str] = set()
    for piece in pieces:
        energy = piece.aggregate.total_energy
        seconds = (piece.end - piece.start).total_seconds()
        # Which price applied is weighed by energy; on a day without any, by time.
        base = abs(energy) if used_energy > 0 else seconds
        priced = 0.0
        for slot, overlap in prices.overlaps(piece.start, piece.end):
            share = overlap / seconds
            cost += energy * share * slot.price
            weight["price_slots"] += base * share
            currencies.add(slot.currency)
            priced += overlap
        rest = (seconds - priced) / seconds
        if rest > 1e-9:
            if flat is None:
                weight["unknown"] += base * rest
            else:
                cost += energy * rest * flat
                weight["flat_tariff"] += base * rest
                currencies.add(flat_currency)
    if weight["unknown"] > 0:
        return None, "", "none"
    if len(currencies) > 1:
        logger.warning(
            "energy priced in several currencies (%s): cost left empty; set "
            "ENERGY_FLAT_TARIFF_CURRENCY to the price provider's currency",
            ", ".join(sorted(currencies)),
        )
        return None, "", "none"
    used = [name for name in ("price_slots", "flat_tariff") if weight[name] > 0]
    source = "mixed" if len(used) == 2 else (used[0] if used else "none")
    return round(cost, 9), (currencies.pop() if currencies else ""), source
