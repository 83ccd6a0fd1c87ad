"""The units of a tier row: recorded with it, and read in the units of now.

A temperature sensor's readings and a weather entity's attributes are held in the entity's
units at the time a row is computed (`retention.entities.units`: `unit_of`, the newest point's
attribute units); power (W) and energy (kWh) are the same in every row. A row records them in
string fields of ours (`is_own_field`): `unit` (a temperature sensor's °C, °F or K) and a
weather entity's `temperature_unit`, `pressure_unit`, `wind_speed_unit`, `visibility_unit`.

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
"""

from __future__ import annotations

from retention.entities.units import CELSIUS, FAHRENHEIT, KELVIN, WEATHER_UNITS, Units, converter
from retention.models import Entity
from retention.tiers.aggregate import MEAN_SUFFIX

UNIT_FIELD, WRITTEN_FIELD = "unit", "unit_written"
UNIT_FIELDS = frozenset({UNIT_FIELD, WRITTEN_FIELD, *WEATHER_UNITS})
# A numeric sensor's units that a reading is converted between (others are recorded nowhere).
CONVERTIBLE = frozenset({CELSIUS, FAHRENHEIT, KELVIN})
VALUE_FIELDS = ("avg_value", "min_value", "max_value", "last_value", "carry_value")
CARRY_ATTR = "carry_attr_"


def units_of_now(entity: Entity) -> dict[str, str]:
    """The unit fields a row of the entity computed now records ({} when none applies)."""
    units = Units(entity)
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


def _written(units: dict[str, str]) -> str | None:
    """The unit Home Assistant wrote, of recorded unit fields."""
    return units.get(WRITTEN_FIELD, units.get(UNIT_FIELD))
