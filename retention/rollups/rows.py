"""The rows of the three materialized views, computed from what `retention.rollups.inputs` reads.

Rules (README "Materialized views" says the same for users):

- Days are local days of settings.TIME_ZONE (a DST day lasts 23 or 25 hours); hours are UTC
  hours. The open bucket (the day or hour containing `now`) is computed up to `now` and
  marked partial: a value in force is never extended into the future.
- Only entities counted in the views (`Entity.in_views`, on unless a person kept one out in
  the admin: a duplicate sensor) are read: `energy_entities`, `activity_sensors`.
- daily_energy_by_device, per power/energy entity and local day:
  total_kwh: energy meters the growth with Home Assistant's reset rules, power sensors the
  time integral (`retention.tiers.stepwise`); avg_power: power sensors the time-weighted mean W
  over the time a value was known, energy meters total_kwh x 1000 / the hours from the first
  reading (the day's start when carried in) to the day's end or `now`, a gap being time too;
  peak_power: power sensors the highest reading, energy meters the highest hourly average
  power (a meter's growth within one UTC hour / the hour, its elapsed part when open: a gap
  is time too, the growth across it being counted at the reading after it; the time before
  the meter's first reading is not, as for avg_power; None for a day
  read from the daily tier alone, which keeps no hours): `retention.rollups.meter_power`.
  cost: energy is priced by the slot in which it was used, where no slot is known by
  ENERGY_FLAT_TARIFF: a power sensor's day is cut at every slot edge and hour, a meter's
  growth step is spread evenly from the reading before to the reading that counts it
  (`retention.rollups.energy`). cost_source says
  which was used: price_slots, flat_tariff, mixed, or none (some energy had neither, or the
  prices' currencies differ; cost is then null rather than a partial sum). From the hourly
  tier (raw deleted) the hour's energy is spread evenly over the hour: exact for slots of
  an hour or longer, for shorter slots exact only when the power was constant in the hour.
  An hourly row across a local midnight (a zone such as +05:30) is not split: the two days
  keep their rows (`retention.rollups.energy`), as days only a daily row covers do.
- hourly_room_activity, per area and UTC hour over the area's binary motion/occupancy sensors
  (domain binary_sensor with device class motion, occupancy or presence; only an entity
  without a device class is picked by "motion", "occupancy", "presence" or "movement" in its
  id or name, or by "pir" as a word of its own, between _ . space or the ends: hall_pir,
  "Hall PIR", not filter_expiry): motion_count = off->on transitions summed over the
  sensors (unknown/unavailable is transparent: off -> unavailable -> on counts once);
  occupancy_rate = the length of the union of the sensors' "on" intervals / the hour
  (elapsed part of the open hour).
  day_of_week is that of the hour in local time (0 = Monday). From the hourly tier the counts
  stay exact (from state_changes and last_state); the union is not in the tier, so the rate
  is then the largest single sensor's on-time (exact for one sensor, else a lower bound).
- daily_carbon_summary, per region and local day: the carbon_intensity points of the day as
  a step function (each point holds until the next one of the region, the last for its slot:
  the shortest distance between the day's points, up to the day's end or `now`; points
  describe the slot that starts at them, so nothing is carried in from the day before, and
  nothing is claimed after the last slot); avg = its time-weighted mean over the time the
  points cover, min/max over the points; avg_renewable likewise.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import QuerySet

from enrich.wording import counted
from retention.entities.points import binary_on
from retention.entities.samples import Sample
from retention.models import DailyCarbonSummary, Entity, HourlyRoomActivity
from retention.rollups.inputs import (
    HOUR,
    RawPart,
    TierPart,
    carbon_samples,
    entity_parts,
    is_on,
    row_points,
)
from retention.tiers.aggregate import Aggregate
from retention.tiers.stepwise import aggregate_window
from retention.timeutil import (
    floor_hour,
    local_day_length,
    local_day_start,
    local_days,
    stretches,
    zone,
)

logger = logging.getLogger(__name__)

ACTIVITY_DEVICE_CLASSES = frozenset({"motion", "occupancy", "presence"})
# Only for entities without a device class (it was not recorded, or HA has none for them).
# "pir" only as a word of its own (hall_pir, "Hall PIR"): inside a word it is no sensor's
# kind (filter_expiry, vampire, spiral).
ACTIVITY_SENSOR = re.compile(
    r"motion|occupan|presence|movement|(?<![^_.\s])pir(?![^_.\s])", re.IGNORECASE
)


# --- Local days ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one computation produced, for the run record."""

    rows: list = field(default_factory=list)
    sources: Counter = field(default_factory=Counter)  # raw / hourly / daily parts read
    skipped: list[str] = field(default_factory=list)
    kept: set = field(default_factory=set)  # buckets whose rows are left as they are
    stale: list[int] = field(default_factory=list)  # ids of rows to delete (edits followed)
    # daily_energy_by_device: row key (entity_id, date) -> the time of the raw point in force
    # at the day's start, which its first growth is counted from (`retention.rollups.fewer`)
    in_force: dict = field(default_factory=dict)
    # daily_energy_by_device: row key -> the source points of a day before the first day
    # computed, read only to check the first day's read on from it (`retention.rollups.fewer`)
    counted: dict = field(default_factory=dict)


# --- Which entities the views count ---------------------------------------------------------
ENERGY_KINDS = (Entity.Kind.POWER, Entity.Kind.ENERGY)


def in_energy_view(entity: Entity) -> bool:
    """Whether daily_energy_by_device counts the entity: power or energy, not kept out."""
    return entity.kind in ENERGY_KINDS and entity.in_views


def energy_entities(**lookups) -> QuerySet[Entity]:
    """The entities daily_energy_by_device counts (`in_energy_view`), narrowed by `lookups`."""
    return Entity.objects.filter(kind__in=ENERGY_KINDS, in_views=True, **lookups)


# --- hourly_room_activity ----------------------------------------------------------------
def activity_sensors(entities: Iterable[Entity]) -> dict[str, list[Entity]]:
    """area -> its binary motion/occupancy sensors counted in the views (entities without an
    area, or kept out of the views, are skipped).

    A binary_sensor counts when its device class is motion, occupancy or presence; the
    device class wins over the name (a door sensor named "motion_door" does not count). Only
    an entity without a device class falls back to the keywords (motion, occupan, presence,
    movement) in its id or friendly name, or "pir" as a word of its own there (delimited by
    _ . space or the ends: hall_pir, "Hall PIR", not filter_expiry)."""
    areas: dict[str, list[Entity]] = defaultdict(list)
    for entity in entities:
        if entity.kind != Entity.Kind.BINARY or not entity.area or not entity.in_views:
            continue
        if entity.domain != "binary_sensor":
            continue
        if is_activity_sensor(entity):
            areas[entity.area].append(entity)
    return dict(areas)


def is_activity_sensor(entity: Entity) -> bool:
    """Whether a binary sensor reports presence: by device class, else by its id or name."""
    device_class = entity.device_class.strip().lower()
    if device_class:
        return device_class in ACTIVITY_DEVICE_CLASSES
    return bool(
        ACTIVITY_SENSOR.search(entity.entity_id) or ACTIVITY_SENSOR.search(entity.friendly_name)
    )


def _union_seconds(intervals: list[tuple[datetime, datetime]]) -> dict[datetime, float]:
    """hour -> seconds of the hour inside the union of the intervals."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    seconds: dict[datetime, float] = defaultdict(float)
    for start, end in merged:
        hour = floor_hour(start)
        while hour < end:
            overlap = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
            if overlap > 0:
                seconds[hour] += overlap
            hour += HOUR
    return seconds


def activity_rows(
    area: str, sensors: list[Entity], start: datetime, end: datetime, now: datetime
) -> Outcome:
    """The area's rows for the UTC hours in [start, end) (start on an hour; the open hour up
    to `now`)."""
    outcome = Outcome()
    end = min(end, now)
    if end <= start:
        return outcome
    intervals: list[tuple[datetime, datetime]] = []
    counts: Counter = Counter()
    points: Counter = Counter()  # hour -> the sensors' raw points the row is built from
    tier_on: dict[datetime, float] = defaultdict(float)
    known_from: datetime | None = None
    blocked: set[datetime] = set()
    for sensor in sensors:
        for part in entity_parts(sensor, start, end):
            outcome.sources[part.source] += 1
            if isinstance(part, RawPart):
                first_known = _raw_activity(part, intervals, counts)
                points.update(floor_hour(s.time) for s in part.samples if s.time >= part.start)
            elif isinstance(part, TierPart) and part.source == "hourly":
                first_known = _tier_activity(part, counts, tier_on)
                points.update({row.window_start: row_points(row) for row in part.rows})
            else:  # a daily row cannot tell hours apart
                hour = floor_hour(part.start)
                while hour < part.end:
                    blocked.add(hour)
                    hour += HOUR
                continue
            if first_known is not None and (known_from is None or first_known < known_from):
                known_from = first_known
    # Named whether or not any hour of the range is known: a rebuild over days only the
    # daily tier holds writes no row, and says which hours it kept.
    outcome.kept.update(blocked)
    for first, last in stretches(sorted(blocked), HOUR):
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        hours = counted(int((last - first) / HOUR) + 1, "hour")
        outcome.skipped.append(
            f"{area} {span} ({hours}): only daily tier rows remain (a daily row cannot tell "
            "hours apart); their rows are kept as they were"
        )
    if known_from is None:
        return outcome
    union = _union_seconds(intervals)
    hour = max(floor_hour(known_from), start)
    while hour < end:
        if hour not in blocked:
            length = (min(hour + HOUR, end) - hour).total_seconds()
            on_seconds = max(union.get(hour, 0.0), tier_on.get(hour, 0.0))
            outcome.rows.append(
                HourlyRoomActivity(
                    area=area,
                    hour=hour,
                    day_of_week=hour.astimezone(zone()).weekday(),
                    motion_count=counts.get(hour, 0),
                    occupancy_rate=min(on_seconds / length, 1.0),
                    partial=hour + HOUR > now,
                    source_points=points[hour],
                )
            )
        hour += HOUR
    return outcome


def _raw_activity(
    part: RawPart, intervals: list[tuple[datetime, datetime]], counts: Counter
) -> datetime | None:
    samples = part.samples
    previous: bool | None = None
    first_known: datetime | None = None
    for index, sample in enumerate(samples):
        state = is_on(sample)
        if state is None:
            continue  # a gap: ends the interval below, transparent for transitions
        held_to = samples[index + 1].time if index + 1 < len(samples) else part.end
        held_from = max(sample.time, part.start)
        if first_known is None and (held_to > held_from or sample.time < part.start):
            first_known = held_from  # known before the part (a gap in force at its start too)
        if state and held_to > held_from:
            intervals.append((held_from, min(held_to, part.end)))
        if state and previous is False and sample.time >= part.start:
            counts[floor_hour(sample.time)] += 1
        previous = state
    return first_known


def _tier_activity(part: TierPart, counts: Counter, tier_on: dict) -> datetime | None:
    for row in part.rows:
        changes = row.state_changes or 0
        ends_on = binary_on(row.last_state or "")
        # States alternate: with an odd number of changes the hour ended in the other state,
        # so it started off exactly when it ended on.
        counts[row.window_start] += changes // 2 + (1 if changes % 2 and ends_on else 0)
        tier_on[row.window_start] = max(tier_on[row.window_start], row.on_seconds or 0.0)
    covered = [r.window_start for r in part.rows if r.coverage_seconds > 0]
    return min(covered) if covered else None


# --- daily_carbon_summary ----------------------------------------------------------------
def carbon_rows(first: date, last: date, now: datetime) -> Outcome:
    outcome = Outcome()
    start, end = local_day_start(first), min(local_day_start(last + timedelta(days=1)), now)
    if end <= start:
        return outcome
    for region, (carbon, renewable) in sorted(carbon_samples(start, end).items()):
        outcome.sources["points"] += len(carbon) + len(renewable)
        for day in local_days(first, last):
            window_start = local_day_start(day)
            window_end = min(local_day_start(day + timedelta(days=1)), now)
            if window_end <= window_start:
                continue
            intensity = _step_summary(carbon, window_start, window_end)
            share = _step_summary(renewable, window_start, window_end)
            if intensity is None and share is None:
                continue
            inside = {s.time for s in (*carbon, *renewable) if window_start <= s.time < window_end}
            outcome.rows.append(
                DailyCarbonSummary(
                    date=day,
                    region=region,
                    avg_carbon=intensity.avg_value if intensity else None,
                    min_carbon=intensity.min_value if intensity else None,
                    max_carbon=intensity.max_value if intensity else None,
                    avg_renewable=share.avg_value if share else None,
                    partial=window_start + local_day_length(day) > now,
                    source_points=len(inside),  # a point with both fields once
                )
            )
    return outcome


def _step_summary(samples: list[Sample], start: datetime, end: datetime) -> Aggregate | None:
    inside = [s for s in samples if start <= s.time < end]
    if not inside:
        return None
    return aggregate_window("numeric", [*inside, *_last_slot_end(inside)], start, end)


def _last_slot_end(points: list[Sample]) -> list[Sample]:
    """A gap where the slot of the last of `points` ends, so it is not held for time no point
    describes (the collector down, the answer ending before midnight). A point describes the
    slot starting at it, and a series' slot is the shortest distance between its points (UK
    Carbon Intensity's half hours, Electricity Maps' hours); a lone point's is not known, and
    one value's mean is that value whatever its length."""
    steps = [b.time - a.time for a, b in zip(points, points[1:], strict=False) if b.time > a.time]
    return [Sample(points[-1].time + min(steps))] if steps else []
