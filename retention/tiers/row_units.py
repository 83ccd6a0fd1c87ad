"""The units of a tier row: recorded with it, and read in the units of now.

A temperature sensor's readings and a weather entity's attributes are held in the entity's
units at the time a row is computed (`retention.entities.units`: `unit_of`, the newest point's
attribute units); power (W) and energy (kWh) are the same in every row. A row records them in
string fields of ours (`is_own_field`): `unit` (a temperature sensor's °C, °F or K; a power or
energy entity's registry unit, below) and a weather entity's `temperature_unit`,
`pressure_unit`, `wind_speed_unit`, `visibility_unit`.

Home Assistant may switch the unit after rows were computed (a home set to imperial, a
sensor's display unit changed): every reader of rows (the series API, the hourly tier carrying
the last hour into the next day, the daily tier composing hours, a late point folded into a
row) takes them through `in_units_of_now`, which converts the readings of a row recorded in
another unit (means, minima, maxima, last and carried-in values, attribute means), so 20 °C
hours read as 68 °F after a switch to °F. History is not rewritten: a row stays as written,
in its unit. A row without unit fields (e.g. of an entity discovery recorded no units for) is
read as it is, in the units of now.

A temperature sensor's unit in the registry may also be a person's correction made in the
admin (Home Assistant labels °F readings °C): raw points in the unit Home Assistant writes now
are read in the registry's unit, unconverted (`retention.entities.units`). Its rows follow
the raw points: they are converted only when the unit Home Assistant writes changed since
they were computed, and otherwise read in the registry's unit as they are (relabelled). So a
row records, besides `unit`, the unit Home Assistant wrote then (`unit_written`) when a
correction made them differ.

A power or energy row holds W or kWh, converted from the registry's unit (`registry_convert`:
kW readings labelled W are read as 2 W for 2 kW), so its `unit` records that unit (and
`unit_written` Home Assistant's, when a correction made them differ). A person's correction
after the rows were computed (W to kW, Home Assistant still writing W) changes the factor the
raw points are read by: `in_units_of_now` scales the row's readings and energy by the ratio of
the two factors (2 "W" become 2000 W, 0.048 "kWh" a day 48 kWh). After Home Assistant's own
switch (it writes kW now, in another measurement), the points of before are read by their own
unit, as the rows were: those rows are read as they are. Neither is exact for a row holding
points of both units (the day of the switch): it is scaled as a whole. A unit with no known
factor (`VA`) leaves the rows as they are.
"""

from __future__ import annotations

from retention.entities.units import (
    CELSIUS,
    FAHRENHEIT,
    KELVIN,
    UNIT_FACTORS,
    WEATHER_UNITS,
    Convert,
    Units,
    converter,
)
from retention.models import Entity
from retention.tiers.aggregate import MEAN_SUFFIX

UNIT_FIELD, WRITTEN_FIELD = "unit", "unit_written"
UNIT_FIELDS = frozenset({UNIT_FIELD, WRITTEN_FIELD, *WEATHER_UNITS})
# A numeric sensor's units that a reading is converted between (others are recorded nowhere).
CONVERTIBLE = frozenset({CELSIUS, FAHRENHEIT, KELVIN})
VALUE_FIELDS = ("avg_value", "min_value", "max_value", "last_value", "carry_value")
SCALED = (*VALUE_FIELDS, "total_energy")  # a power or energy row's, scaled by a factor
CARRY_ATTR = "carry_attr_"


def units_of_now(entity: Entity) -> dict[str, str]:
    """The unit fields a row of the entity computed now records ({} when none applies)."""
    units = Units(entity)
    if entity.kind in UNIT_FACTORS:
        registry = entity.unit.strip() or units.target  # "" is read as W / kWh
        if units.now is None or units.now == registry:
            return {UNIT_FIELD: registry}
        return {UNIT_FIELD: registry, WRITTEN_FIELD: units.now}
    if entity.kind == Entity.Kind.NUMERIC and units.now is not None:
        if units.target not in CONVERTIBLE:
            return {}
        if units.now == units.target:
            return {UNIT_FIELD: units.target}
        return {UNIT_FIELD: units.target, WRITTEN_FIELD: units.now}
    if entity.kind == Entity.Kind.WEATHER:
        return dict(units.attributes_now)
    return {}


def in_units_of_now(fields: dict, entity: Entity, now: dict[str, str] | None = None) -> dict:
    """The row's fields with its readings in the units of now (`units_of_now`, or `now`); the
    fields themselves when nothing is to be converted. Its unit fields are left as they are: a
    row written from these records the units of now."""
    now = units_of_now(entity) if now is None else now
    recorded = {name: fields[name] for name in UNIT_FIELDS if isinstance(fields.get(name), str)}
    if entity.kind in UNIT_FACTORS:
        convert = _corrected(entity, recorded, now)
        return fields if convert is None else scaled(fields, convert)
    changed = {name: unit for name, unit in recorded.items() if now.get(name, unit) != unit}
    changed.pop(WRITTEN_FIELD, None)
    if UNIT_FIELD in changed and _written(recorded) == _written(now):
        del changed[UNIT_FIELD]  # a person's correction, not Home Assistant's switch: relabel
    if not changed:
        return fields
    out = dict(fields)
    for name, written in changed.items():
        if name == UNIT_FIELD:
            convert = converter(entity.kind, written, now[name])
            names = VALUE_FIELDS
        else:
            quantity, attributes = WEATHER_UNITS[name]
            convert = converter(quantity, written, now[name])
            names = tuple(n for a in attributes for n in (a + MEAN_SUFFIX, CARRY_ATTR + a))
        if convert is None:  # no conversion known: read as it is, as raw points are
            continue
        for key in names:
            if isinstance(out.get(key), int | float):
                out[key] = convert(float(out[key]))
    return out


def records_unit(fields: dict) -> bool:
    """Whether a tier row records the unit its readings were converted by."""
    return isinstance(fields.get(UNIT_FIELD), str)


def scaled(fields: dict, convert: Convert) -> dict:
    """The fields with a power or energy row's readings and energy converted."""
    out = dict(fields)
    for name in SCALED:
        if isinstance(out.get(name), int | float) and not isinstance(out[name], bool):
            out[name] = convert(float(out[name]))
    return out


def _corrected(entity: Entity, recorded: dict[str, str], now: dict[str, str]) -> Convert | None:
    """The conversion of a power or energy row's readings, converted from the registry unit
    `recorded`, to those of the registry unit of `now`; None when none is due: the same unit,
    Home Assistant's switch since (the row's points are read by their own unit), a unit with
    no known factor, or no unit recorded."""
    then, unit = recorded.get(UNIT_FIELD), now.get(UNIT_FIELD)
    if then is None or unit is None or then == unit:
        return None
    written = now.get(WRITTEN_FIELD) or Units(entity).now or None  # None: not known
    if written is not None and recorded.get(WRITTEN_FIELD, then) != written:
        return None
    target = UNIT_FACTORS[entity.kind][0]
    old, new = converter(entity.kind, then, target), converter(entity.kind, unit, target)
    if old is None or new is None:
        return None
    return Convert(scale=new.scale / old.scale)


def _written(units: dict[str, str]) -> str | None:
    """The unit Home Assistant wrote, of recorded unit fields."""
    return units.get(WRITTEN_FIELD, units.get(UNIT_FIELD))
