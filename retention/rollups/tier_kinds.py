"""Tier rows made under another kind or unit than the entity's now, for daily_energy_by_device.

Every tier row carries the kind it was aggregated under (its `kind` tag). A kind corrected in
the admin after the hourly tier took an entity's raw states leaves its tiered days with rows
of the old kind, and those hold what that kind keeps ("What an aggregate row holds",
docs/storage.md):
- a numeric row holds the time-weighted mean of the readings as Home Assistant wrote them
  (no unit of power is converted for a numeric sensor) and its coverage, so for a sensor now
  power the energy is mean x factor x coverage, exactly what a power row of the same readings
  holds: `rescaled` makes it one, by the registry unit's factor to W (`registry_convert`);
- any other change (power -> energy: a power row integrates the readings as watts and keeps
  no meter growth; energy -> power; a numeric row for a meter; binary, text, weather rows)
  cannot give the new kind's figures: `why_not` says why, and the day gets no row, nor does
  the raw day after it, which starts from the value the row carries in (`RawPart.doubt`).

A power or energy entity's unit corrected in the admin (kW readings labelled W) leaves rows
converted by the old unit (power rows hold W, energy rows kWh). A row records that unit
(`unit`), and `rescaled` reads it in the unit of now as every reader of rows does
(`retention.tiers.row_units`: 2 "W" become 2000 W), whoever reads it (the follow-up, a
rebuild). A row written before rows recorded their unit is converted only by the follow-up,
which knows the old unit from the edit (`ViewFollowUp.unit_before`), by the ratio of the two
units' factors alike. A tier run after the edit (the follow-up waited for the broker) may have
written such rows by the new unit (new days, a sparse day's states composed, points of an
entity ticked again): then no row tells which unit it holds, and `why_not` names the tiered
days instead.

The follow-up's conversions are exact while the entity's points lie in one unit
(`Entity.series`): a row of a sensor whose points are in W and in kW mixes readings the
registry unit converted with readings converted by their own, which no factor undoes;
`why_not` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from enrich.wording import counted
from retention.entities.units import (
    SAME,
    UNIT_FACTORS,
    Convert,
    Units,
    converter,
    registry_convert,
    unit_of,
)
from retention.models import Entity
from retention.tiers.aggregate import WATT_SECONDS_PER_KWH, Aggregate
from retention.tiers.row_units import in_units_of_now, records_unit, scaled
from retention.timeutil import stretches

GROWTH = "their {source} rows cannot give a meter's growth"
ENERGY = "their {source} rows cannot give a power sensor's energy"
UNITS = "their {source} rows mix readings written in {units}"
NO_ROW = "no row is computed for them"


@dataclass(frozen=True)
class TieredUnit:
    """The unit a power or energy entity's tier rows were converted by until an edit changed
    it; `run`: a tier run since the edit (its rows may hold either unit)."""

    unit: str
    run: int | None = None


def _units(entity: Entity) -> list[str]:
    """The units the entity's points are recorded in (none: the registry's throughout)."""
    return sorted({unit for unit in Units(entity).by_measurement.values() if unit})


def rescaled(
    entity: Entity, kind: str, fields: dict, tiered: TieredUnit | None, now: dict | None = None
) -> tuple[str, dict]:
    """The kind and fields of a tier row made under `kind` (and, for a row of the entity's
    kind that records no unit, converted by `tiered`, None: by its unit now) as the entity
    reads them now (`now`: its `units_of_now`, if known); as they are when they cannot be
    converted exactly (`why_not` says why)."""
    if kind == entity.kind and kind in UNIT_FACTORS and records_unit(fields):
        return kind, in_units_of_now(fields, entity, now)
    if len(_units(entity)) > 1:
        return kind, fields
    if kind == Entity.Kind.NUMERIC and entity.kind == Entity.Kind.POWER:
        out = scaled(fields, registry_convert(entity))
        if isinstance(out.get("avg_value"), float) and "coverage_seconds" in out:
            out["total_energy"] = out["avg_value"] * out["coverage_seconds"] / WATT_SECONDS_PER_KWH
        return Entity.Kind.POWER, out
    if kind == entity.kind and tiered is not None and tiered.run is None:
        old = converter(kind, tiered.unit, unit_of(entity)) or SAME
        return kind, scaled(fields, Convert(scale=registry_convert(entity).scale / old.scale))
    return kind, fields


def unrecorded(tiered: TieredUnit | None, *rows: dict) -> TieredUnit | None:
    """`tiered` for rows (their fields) of which one records no unit; None when each records
    it (its unit says what the follow-up's old unit would)."""
    return None if all(records_unit(fields) for fields in rows) else tiered


def why_not(entity: Entity, row: Aggregate, source: str, tiered: TieredUnit | None) -> str | None:
    """Why the tier row (`rescaled` already) cannot give the entity's figures; None: it can
    (`source`: "hourly" or "daily", the tier it comes from)."""
    units = ", ".join(_units(entity))
    if row.kind == entity.kind:
        if tiered is None or (tiered.run is None and len(_units(entity)) < 2):
            return None
        why = f"tiered while its unit was {tiered.unit!r}, unit now {entity.unit!r}: "
        if tiered.run is not None:
            return why + (
                f"tier run {tiered.run} since the edit may have written {source} rows by "
                "either, and no row tells which"
            )
        return why + UNITS.format(source=source, units=units)
    why = f"tiered as {row.kind}, kind now {entity.kind}: "
    if entity.kind != Entity.Kind.POWER:
        return why + GROWTH.format(source=source)
    if row.kind != Entity.Kind.NUMERIC:
        return why + ENERGY.format(source=source)
    return why + UNITS.format(source=source, units=units)


def named(entity_id: str, days: dict[date, str]) -> list[str]:
    """The run's lines for the days the entity gets no row: a line per stretch of days that
    share a reason ("sensor.x 2024-03-04 to 2024-03-06 (3 days): tiered as power, ...")."""
    lines = []
    for why in set(days.values()):
        found = sorted(day for day, reason in days.items() if reason == why)
        for first, last in stretches(found, timedelta(days=1)):
            span = str(first) if first == last else f"{first} to {last}"
            count = counted((last - first).days + 1, "day")
            lines.append((first, f"{entity_id} {span} ({count}): {why}; {NO_ROW}"))
    return [line for _, line in sorted(lines)]
