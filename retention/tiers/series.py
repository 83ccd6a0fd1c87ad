"""Transparent reads (PRD 2.3 AC7): an entity's series over any range, from whichever tier
holds each part of it.

`read_series(entity_id, start, end)` returns segments in time order, each with its
resolution: "raw" (Home Assistant's own points), "hourly" or "daily" (rows of the tiers), or
"archived" (days whose daily rows left InfluxDB for the archive, `ArchiveObject`: no points;
`manage.py restore_from_archive` brings them back into another database).
Which tier holds a UTC day follows the tiers' progress (`TierChunk`): once a day's hourly rows
are verified, its raw data may be (partly) gone, so the hourly rows are read; once its daily
row is verified, the daily row. An aggregate segment for which the entity has no rows (it was
not tiered when the day was processed) falls back to raw points.

Points: raw -> {"time", "value", "state", "attributes"} (an unknown/unavailable span Home
Assistant's recorder holds of an official-layout entity is a gap point at its start, value and
state null, as the HA Ingestor layout records one: `retention.entities.recorded_gaps`); hourly/daily -> {"time" (window
start), "end", and the aggregate fields: sample_count, coverage_seconds, avg_value, min_value,
max_value, last_value, total_energy, last_reset (a `total` energy meter's cycle),
first_reading_time (a meter's first reading, on its window), state_changes,
on_seconds, last_state, <attr>_mean ...}.
An aggregate window overlapping the range is included whole. Power is in W, energy in kWh,
a temperature in the entity's unit (`retention.entities.units.unit_of`) and a weather entity's
attributes in the units of its newest point at every resolution (raw kW/Wh points, a
temperature sensor's °F points after a switch to °C, and a weather entity's °F, inHg and mph
attributes after a switch to metric, are converted like the tiers do; hourly and daily rows
computed before a switch, or before a power sensor's unit was corrected in the admin, from the
units they record: `retention.tiers.row_units`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from retention.entities import ha_source
from retention.entities.recorded_gaps import with_recorded_gaps
from retention.models import ArchiveObject, Entity, TierChunk
from retention.tiers.row_units import in_units_of_now, units_of_now
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from retention.tiers.timeline import utc_window
from retention.timeutil import floor_day, floor_hour, utc_midnight

DONE = (TierChunk.State.VERIFIED, TierChunk.State.DELETED)
# Days whose daily rows left InfluxDB for the archive: no points (restore them to read them).
ARCHIVED = "archived"


@dataclass
class Segment:
    resolution: str  # "raw", "hourly" or "daily"
    start: datetime
    end: datetime
    points: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "points": self.points,
        }


def read_series(entity_id: str, start: datetime, end: datetime) -> list[Segment]:
    """The entity's series in [start, end); raises Entity.DoesNotExist for an unknown entity
    and ValueError for a bad range."""
    utc_window(start, end)  # a bad range is told before an unknown entity
    return entity_series(Entity.objects.get(entity_id=entity_id), start, end)


def entity_series(entity: Entity, start: datetime, end: datetime) -> list[Segment]:
    """`read_series` of an Entity already read (GET /api/series reads it for its 404)."""
    start, end = utc_window(start, end)
    segments: list[Segment] = []
    for resolution, part_start, part_end in _parts(start, end):
        segment = _read(entity, resolution, part_start, part_end)
        if segment.resolution != "raw" and not segment.points:
            raw = _read(entity, "raw", part_start, part_end)
            if resolution != ARCHIVED or raw.points:
                segment = raw
        if segments and segments[-1].resolution == segment.resolution:
            segments[-1].end = segment.end
            segments[-1].points.extend(segment.points)
        else:
            segments.append(segment)
    return segments


def _parts(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Consecutive pieces of [start, end) with the resolution each UTC day is held in."""
    first: date = start.date()
    last: date = (end - timedelta(microseconds=1)).date()
    states: dict[tuple[str, date], str] = {
        (tier, day): state
        for tier, day, state in TierChunk.objects.filter(day__gte=first, day__lte=last).values_list(
            "tier", "day", "state"
        )
    }
    parts: list[tuple[str, datetime, datetime]] = []
    archived = ArchiveObject.deleted_days(first, last, expired=False)
    day = first
    while day <= last:
        if states.get((TierChunk.Tier.DAILY, day)) in DONE:
            resolution = ARCHIVED if day in archived else "daily"
        elif states.get((TierChunk.Tier.HOURLY, day)) in DONE:
            resolution = "hourly"
        else:
            resolution = "raw"
        day_start = utc_midnight(day)
        piece = (max(start, day_start), min(end, day_start + timedelta(days=1)))
        if parts and parts[-1][0] == resolution:
            parts[-1] = (resolution, parts[-1][1], piece[1])
        else:
            parts.append((resolution, *piece))
        day += timedelta(days=1)
    return parts


def _read(entity: Entity, resolution: str, start: datetime, end: datetime) -> Segment:
    if resolution == ARCHIVED:  # a late point's row written back waits in the daily tier
        segment = _read(entity, "daily", start, end)
        segment.resolution = "daily" if segment.points else ARCHIVED
        return segment
    segment = Segment(resolution, start, end)
    if resolution == "raw":
        samples = ha_source.read_samples(entity, start, end, carry_in=False)
        for sample in with_recorded_gaps(entity, list(samples), start, end):
            if sample.time < start:
                continue  # a span begun before the range
            segment.points.append(
                {
                    "time": sample.time.isoformat(),
                    "value": sample.value,
                    "state": sample.state,
                    "attributes": sample.attributes,
                }
            )
        return segment
    rp, width, floor = (
        (HOURLY_RP, timedelta(hours=1), floor_hour)
        if resolution == "hourly"
        else (DAILY_RP, timedelta(days=1), floor_day)
    )
    rows = read_rows(rp, floor(start), end, entity.entity_id).get(entity.entity_id, [])
    now = units_of_now(entity)
    for row in rows:
        in_now = in_units_of_now(row.fields, entity, now)
        fields = {k: v for k, v in in_now.items() if not is_own_field(k)}
        segment.points.append(
            {"time": row.start.isoformat(), "end": (row.start + width).isoformat(), **fields}
        )
    return segment
