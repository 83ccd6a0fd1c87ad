"""Tier rows made under another kind than the entity's now, for daily_energy_by_device.

Every tier row carries the kind it was aggregated under (its `kind` tag). A kind corrected in
the admin after the hourly tier took an entity's raw states leaves its tiered days with rows
of the old kind, and those hold what that kind keeps ("What an aggregate row holds",
docs/storage.md):
- a numeric row holds the time-weighted mean of the readings as Home Assistant wrote them
  (never scaled: no unit of power is converted for a numeric sensor) and its coverage, so
  for a sensor now power the energy is mean x factor x coverage, exactly what a power row
  of the same readings holds: `as_kind` converts it, by the registry unit's factor to W
  (`registry_convert`), while the entity's points are recorded in one unit only (a numeric
  row mixes the readings of W and kW measurements unconverted);
- any other change (power -> energy: a power row integrates the readings as watts and keeps
  no meter growth; energy -> power; a numeric row for a meter; binary, text, weather rows)
  cannot give the new kind's figures: `as_kind` says why, and the day gets no row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from enrich.wording import counted
from retention.entities.units import Units, registry_convert
from retention.models import Entity
from retention.tiers.aggregate import WATT_SECONDS_PER_KWH, Aggregate
from retention.timeutil import stretches

GROWTH = "their {source} rows cannot give a meter's growth"
ENERGY = "their {source} rows cannot give a power sensor's energy"
UNITS = "their {source} rows mix readings written in {units}, unconverted"
NO_ROW = "no row is computed for them"


def as_kind(entity: Entity, row: Aggregate, source: str) -> Aggregate | str:
    """The tier row as one of the entity's kind now, or why it cannot be one (`source`:
    "hourly" or "daily", the tier it comes from)."""
    if row.kind == entity.kind:
        return row
    why = f"tiered as {row.kind}, kind now {entity.kind}: "
    if entity.kind != Entity.Kind.POWER:
        return why + GROWTH.format(source=source)
    if row.kind != Entity.Kind.NUMERIC:
        return why + ENERGY.format(source=source)
    units = sorted({unit for unit in Units(entity).by_measurement.values() if unit})
    if len(units) > 1:
        return why + UNITS.format(source=source, units=", ".join(units))
    scale = registry_convert(entity)
    values = {
        name: None if value is None else scale(value)
        for name in ("avg_value", "min_value", "max_value", "last_value")
        for value in (getattr(row, name),)
    }
    energy = None
    if values["avg_value"] is not None:
        energy = values["avg_value"] * row.coverage_seconds / WATT_SECONDS_PER_KWH
    return replace(row, kind=Entity.Kind.POWER, total_energy=energy, **values)


def named(entity_id: str, days: dict[date, str]) -> list[str]:
    """The run's lines for the days the entity gets no row: a line per stretch of days that
    share a reason ("sensor.x 2024-03-04 to 2024-03-06 (3 days): tiered as power, ...")."""
    lines = []
    for why in sorted(set(days.values())):
        found = sorted(day for day, reason in days.items() if reason == why)
        for first, last in stretches(found, timedelta(days=1)):
            span = str(first) if first == last else f"{first} to {last}"
            count = counted((last - first).days + 1, "day")
            lines.append(f"{entity_id} {span} ({count}): {why}; {NO_ROW}")
    return lines
