"""What the materialized views read: an entity's data over a time range, carbon (the price
slots: `retention.rollups.prices`).

An entity's data comes from Home Assistant's raw points where they still exist and from the
retention tiers where retention replaced them (`entity_aggregates` in the retention policies
`enrich_hourly` / `enrich_daily` of TIER_DATABASE, one row per entity and UTC hour/day). The
choice is made per UTC day, the tiers' unit of work (raw is deleted a day at a time):

- the day has hourly tier rows and no raw point, or fewer than they count (late points the
  tiers have not folded in yet) -> the hourly rows (`TierPart`);
- the day has neither raw points nor hourly rows but a daily row, and the range covers the
  whole UTC day -> the daily row; when it covers only part of that day (local days in a zone
  other than UTC) the daily row cannot be split: the part is `Unavailable` (and the energy
  view uses a whole daily row only for a local day that is exactly that UTC day);
- otherwise -> raw samples (`RawPart`), read with the sample in force at the part's start. When
  the day before was tiered (read from a tier here, or just before the range), the raw
  carry-in is stale (its raw points are gone), so the value in force is taken from the tier's
  last row instead (`last_value`/`last_state` are
  "the value in force at the window end"). When that is a gap (unknown/unavailable), the last
  known reading/state before it goes first (from raw, or the tier row's), as it would in a
  range starting earlier: gaps are transparent for a meter's growth and for state changes.
  The unknown/unavailable spans Home Assistant's recorder holds of an official-layout entity
  are gaps in its raw samples (`retention.entities.recorded_gaps`; a plain power sensor with
  one in the part is read as samples then).
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings

from enrich.influx import InfluxQueryError, get_timeseries, quote_ident, stored_rows
from retention.entities.ha_source import carried_in_sample, count_samples, read_samples
from retention.entities.points import binary_on
from retention.entities.recorded_gaps import RecordedGaps, merged
from retention.entities.samples import Sample
from retention.models import Entity
from retention.rollups.power import PowerPoints, read_power
from retention.rollups.tier_kinds import TieredUnit, rescaled, unrecorded, why_not
from retention.schema import DAILY_RP, HOURLY_RP, TIER_MEASUREMENT
from retention.tiers.aggregate import Aggregate
from retention.tiers.layout import expand
from retention.tiers.row_units import units_of_now
from retention.tiers.timeline import TOTAL, is_gap
from retention.timeutil import DAY, floor_day, utc_day_pieces

logger = logging.getLogger(__name__)

HOURLY_POLICY, DAILY_POLICY = HOURLY_RP, DAILY_RP
CARBON_MEASUREMENT = "carbon_intensity"
CARBON_FIELD = "carbon_intensity_gco2_kwh"
RENEWABLE_FIELD = "renewable_percentage"
HOUR = timedelta(hours=1)


# --- An entity's data over a range ------------------------------------------------------------
@dataclass
class RawPart:
    start: datetime
    end: datetime
    samples: list[Sample] = field(default_factory=list)  # the carried-in one first, if any
    source: str = "raw"
    # With plain_power: `samples` holds only the carried-in sample, the points are here.
    points: PowerPoints | None = None
    doubt: str | None = None  # why the value carried in from a tier row cannot be read now


@dataclass
class TierPart:
    start: datetime
    end: datetime
    rows: list[Aggregate]  # ascending, window_start inside [start, end)
    source: str  # "hourly" | "daily"
    last_fields: dict = field(default_factory=dict)  # the last row's stored fields
    # The follow-up's unit the rows were converted by, while a row read records none.
    tiered: TieredUnit | None = None


@dataclass
class Unavailable:
    """Only a daily tier row is left and the range covers part of its UTC day."""

    start: datetime
    end: datetime
    source: str = "unavailable"


Part = RawPart | TierPart | Unavailable


def _tier_rows(
    entity: Entity,
    start: datetime | None,
    end: datetime,
    policy: str,
    *,
    newest: int = 0,
    tiered_unit: TieredUnit | None = None,
) -> list[tuple[Aggregate, dict]]:
    """The entity's tier rows with window start in [start, end) (start None: any before end;
    `newest`: only that many of the newest), ascending, with the stored fields (the tiers
    also keep `carry_*`: the raw sample in force at the window end), as the entity reads them
    now (`tier_kinds.rescaled`: made under another kind, or converted by `tiered_unit`)."""
    step = HOUR if policy == HOURLY_POLICY else DAY
    since = "" if start is None else "time >= $start AND "
    query = (
        f"SELECT * FROM {quote_ident(TIER_MEASUREMENT)} WHERE "
        f'"entity_id" = $entity_id AND {since}time < $end'
    ) + (f" ORDER BY time DESC LIMIT {int(newest)}" if newest else "")
    bound = {"entity_id": entity.entity_id, "end": end}
    if start is not None:
        bound["start"] = start
    rows: list[tuple[Aggregate, dict]] = []
    now = units_of_now(entity)
    try:
        with get_timeseries().query(
            settings.TIER_DATABASE, query, params=bound, retention_policy=policy
        ) as stream:
            for row in stream:
                kind = str(row.values.get("kind") or entity.kind)
                present = {k: v for k, v in row.values.items() if v is not None}
                values = expand(policy, present, kind)
                kind, values = rescaled(entity, kind, values, tiered_unit, now)
                aggregate = Aggregate.from_fields(kind, row.time, row.time + step, values)
                rows.append((aggregate, values))
    except InfluxQueryError as exc:
        # No tiers yet (database or retention policy not created): nothing was tiered.
        if "not found" not in exc.server_message:
            raise
    return rows[::-1] if newest else rows


def tier_row_before(
    entity: Entity, moment: datetime, tiered_unit: TieredUnit | None
) -> tuple[Aggregate, dict] | None:
    """The entity's newest tier row whose window ends at or before `moment` (hourly before
    daily when both end there), None when nothing before `moment` was tiered."""
    found = [
        row
        for policy in (HOURLY_POLICY, DAILY_POLICY)
        for row in _tier_rows(entity, None, moment, policy, newest=2, tiered_unit=tiered_unit)
        if row[0].window_end <= moment
    ]
    return max(found, key=lambda row: row[0].window_end, default=None)


def entity_parts(
    entity: Entity,
    start: datetime,
    end: datetime,
    *,
    plain_power: bool = False,
    tiered_unit: TieredUnit | None = None,
    gaps: RecordedGaps | None = None,
) -> list[Part]:
    """The entity's data over [start, end) as consecutive parts (see the module docstring).
    With `plain_power` (`retention.rollups.power.plain_power` said yes), raw parts are read as
    `PowerPoints`; `tiered_unit`: the unit the tier rows were converted by, when an edit
    changed it; `gaps`: Home Assistant's unavailable spans read before (else read here)."""
    tier_rows = partial(_tier_rows, entity, tiered_unit=tiered_unit)
    hourly = tier_rows(floor_day(start), end, HOURLY_POLICY)
    daily: list[tuple[Aggregate, dict]] | None = None  # read only when needed
    plan: list[Part] = []
    for part_start, part_end in utc_day_pieces(start, end):
        rows = [r for r in hourly if part_start <= r[0].window_start < part_end]
        if rows:
            if _raw_gone(entity, part_start, part_end, [aggregate for aggregate, _ in rows]):
                aggregates = [aggregate for aggregate, _ in rows]
                plan.append(TierPart(part_start, part_end, aggregates, "hourly", rows[-1][1]))
                continue
        else:  # whatever the entity's `tiered` flag says now: it may have been tiered before
            if daily is None:
                daily = tier_rows(floor_day(start), end, DAILY_POLICY)
            found = next((r for r in daily if r[0].window_start == floor_day(part_start)), None)
            if found is not None and _raw_gone(entity, part_start, part_end, [found[0]]):
                day_row, fields = found
                whole = part_start == day_row.window_start and part_end == day_row.window_end
                plan.append(
                    TierPart(part_start, part_end, [day_row], "daily", fields)
                    if whole
                    else Unavailable(part_start, part_end)
                )
                continue
        if plan and isinstance(plan[-1], RawPart):
            plan[-1].end = part_end  # one read for consecutive raw days
        else:
            plan.append(RawPart(part_start, part_end))
    # The follow-up's old unit matters while a row read records no unit: a row written since
    # the edit may have carried a value in from one (`tier_kinds`).
    read = [fields for _, fields in hourly + (daily or [])]
    tiered_read = unrecorded(tiered_unit, *read)
    for index, part in enumerate(plan):  # raw readings in W / kWh, as the tiers store them
        if isinstance(part, TierPart):
            part.tiered = tiered_read
        if isinstance(part, RawPart):
            spans = (gaps or RecordedGaps()).of(entity, part.start, part.end)  # HA's unavailable
            if plain_power and not spans:
                carried = carried_in_sample(entity, part.start)
                part.samples = [carried] if carried is not None else []
                part.points = read_power(entity, part.start, part.end)
            else:
                part.samples = list(read_samples(entity, part.start, part.end))
            previous = plan[index - 1] if index else None
            before = None
            if isinstance(previous, TierPart):
                before = (previous.rows[-1], previous.last_fields)
            elif index == 0:
                # The range starts after tiered days (a refresh's recent range, a rebuild
                # of the days after them): their raw carry-in is as stale as it is above.
                before = tier_row_before(entity, part.start, tiered_unit)
            if before is not None and _carry_from_tier(part, *before):
                source = (
                    "hourly" if before[0].window_end - before[0].window_start == HOUR else "daily"
                )
                tiered = unrecorded(tiered_unit, *read, before[1])
                part.doubt = why_not(entity, before[0], source, tiered)
            else:
                _known_before_gap(entity, part)
            part.samples = merged(part.samples, spans, part.start, part.end)
    return plan


def _raw_gone(entity: Entity, start: datetime, end: datetime, rows: list[Aggregate]) -> bool:
    """Whether the entity's raw points in [start, end) are gone but for late ones: not the
    points the tier rows there count (the tiers count every raw point they aggregate, and
    delete them once written). A late point for a deleted day waits for the next tier run to
    fold it into its row, which keeps the energy and times the complete day gave; read from
    raw alone the day would lose them."""
    raw = count_samples(entity, start, end)
    if raw == 0 or raw != sum(row_points(row) for row in rows):
        return True
    # As many as the rows count: the raw points not deleted yet, unless late points stand in
    # for as many deleted ones (a sparse day); then an hour's count differs.
    return len(rows) > 1 and any(
        count_samples(entity, max(row.window_start, start), min(row.window_end, end))
        != row_points(row)
        for row in rows
    )


def row_points(row: Aggregate) -> int:
    """The raw points a tier row was built from (gaps included), as `count_samples` counts them."""
    return (row.sample_count or 0) + (row.gap_count or 0)


def _known_before_gap(entity: Entity, part: RawPart, lookback: int = 20) -> None:
    """When the raw sample in force at the part's start is a gap (unknown/unavailable), put
    the last known raw sample before it first: gaps are transparent for the meter's growth
    and for state changes (off -> unavailable -> on is one), whatever time the range starts."""
    if not part.samples or part.samples[0].time >= part.start or not is_gap(part.samples[0]):
        return
    moment = part.samples[0].time
    for _ in range(lookback):  # a few gap states in a row at most, in practice one
        sample = carried_in_sample(entity, moment)
        if sample is None:
            return
        if not is_gap(sample):
            part.samples[:0] = [sample]
            return
        moment = sample.time


def _carry_from_tier(part: RawPart, row: Aggregate, fields: dict) -> bool:
    """Replace a stale raw carry-in by the sample in force at the end of the tier row: the
    row's `carry_*` fields when the tiers stored them, else its last_value/last_state.
    False when the raw carry-in is good (left as it is)."""
    carried = part.samples[0] if part.samples and part.samples[0].time < part.start else None
    if carried is not None and carried.time >= row.window_start:
        return False  # raw is there right up to the tier row's window: the raw carry-in is good
    if carried is not None:
        part.samples.pop(0)
    tick = timedelta(microseconds=1)
    moment = part.start - tick
    cycle = (TOTAL if row.last_reset else None, row.last_reset)  # a `total` meter's cycle
    known = _sample(row, moment - tick, row.last_value, row.last_state, cycle)
    if fields.get("carry_gap"):
        # Nothing was known at the window end: the gap, after the last known reading/state
        # (the meter's reference, the state a change is counted from; gaps are transparent).
        part.samples[:0] = [known, Sample(moment)] if known else [Sample(moment)]
        return True
    value, state = row.last_value, row.last_state
    if fields.get("carry_value") is not None or fields.get("carry_state") is not None:
        raw_value, state = fields.get("carry_value"), fields.get("carry_state")
        value = None if raw_value is None else float(raw_value)
        state = None if state is None else str(state)
    meter = (fields.get("carry_state_class") or cycle[0], row.last_reset)
    if (carry := _sample(row, moment, value, state, meter)) is not None:
        part.samples.insert(0, carry)
    return True


def _sample(row: Aggregate, moment: datetime, value: float | None, state: str | None,
            meter: tuple[str | None, str | None]) -> Sample | None:  # fmt: skip
    """A sample of the row's kind (binary: the value from the state), None when neither; an
    energy meter's with its (state class, cycle's last_reset) `meter`."""
    if value is None and state is not None and row.kind == "binary":
        value = 1.0 if binary_on(state) else 0.0
    if value is None and state is None:
        return None
    return Sample(moment, value, state, state_class=meter[0], last_reset=meter[1])


# --- Carbon intensity -------------------------------------------------------------------------
def carbon_samples(start: datetime, end: datetime) -> dict[str, tuple[list[Sample], list[Sample]]]:
    """region -> (carbon gCO2/kWh samples, renewable % samples) with start <= time < end,
    ascending; points of several providers of one region are one series (later wins on a tie)."""
    query = (
        f"SELECT {quote_ident(CARBON_FIELD)}, {quote_ident(RENEWABLE_FIELD)} FROM "
        f'{quote_ident(CARBON_MEASUREMENT)} WHERE time >= $start AND time < $end GROUP BY "region"'
    )
    found: dict[str, tuple[list[Sample], list[Sample]]] = {}
    for row in stored_rows(query, {"start": start, "end": end}):
        region = row.tags.get("region", "")
        if not region or row.time is None:
            continue
        carbon, renewable = found.setdefault(region, ([], []))
        if (value := row.values.get(CARBON_FIELD)) is not None:
            carbon.append(Sample(row.time, float(value)))
        if (value := row.values.get(RENEWABLE_FIELD)) is not None:
            renewable.append(Sample(row.time, float(value)))
    for carbon, renewable in found.values():
        carbon.sort(key=lambda s: s.time)
        renewable.sort(key=lambda s: s.time)
    return found


def first_carbon_time() -> datetime | None:
    """The time of the oldest carbon_intensity point, None when there is none."""
    query = f"SELECT FIRST({quote_ident(CARBON_FIELD)}) FROM {quote_ident(CARBON_MEASUREMENT)}"
    rows = stored_rows(query)
    with closing(rows):  # one row is read: the stream closes here
        row = next(rows, None)
    if row is None or row.time is None:
        return None
    return row.time.astimezone(UTC)


def is_on(sample: Sample) -> bool | None:
    """A binary sample's state: True on, False off, None unknown (a gap)."""
    if is_gap(sample):
        return None
    if sample.value is not None:
        return sample.value > 0
    if sample.state is not None:
        return binary_on(sample.state)
    return None
