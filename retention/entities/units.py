"""Units: the tiers and the views hold power in W and energy in kWh, whatever unit Home
Assistant wrote (kW and MW, Wh and MWh are converted as the raw points are read), and a
temperature in the entity's unit (°C, °F or K: a sensor switched from °F to °C is read in °C
throughout, its °F history converted).

Home Assistant records the unit with its data: in the official layout's default the
measurement is the unit (`W`, `kW`, `°F`, `°C`: a sensor switched from W to kW goes on in
another measurement), else a `unit_of_measurement_str` field of each point (a tag
`unit_of_measurement` where its `tags_attributes` lists it); in the HA Ingestor
layout the `unit_of_measurement` attribute of each point. An entity's unit can change (a
person sets another display unit, an integration update), so each point is converted by its
own unit (`Units.convert`):

- discovery records, per measurement the entity has points in, the unit Home Assistant wrote
  there last (`Entity.series`); the one of the entity's current measurement is the unit
  Home Assistant writes now;
- a point's unit is the one recorded with it (field or attribute), else its measurement's;
- a point in the unit Home Assistant writes now (or without any unit) is read in the
  registry's `Entity.unit`, which a person may have corrected in the admin (an integration
  that labels kW readings as W); a point in another unit of the kind (W/kW/MW, Wh/kWh/MWh;
  a numeric entity's °C/°F/K) by that unit; an unknown unit (no conversion known to the
  unit read: `unit_of`) by the registry's, said once in the log;
- an entity discovery recorded nothing for (added by hand, not rediscovered since) is read in
  its registry unit throughout.

Weather entities: the state is a condition ("sunny"), the tiers average every numeric
attribute (`<attribute>_mean`), and Home Assistant writes each in the unit its weather entity
names in a unit attribute of the same point (`WEATHER_UNITS`: temperature, apparent_temperature
and dew_point in `temperature_unit`, pressure in `pressure_unit`, wind_speed and
wind_gust_speed in `wind_speed_unit`, visibility in `visibility_unit`; the official layout's
`<name>_str` fields, the ingestor's attributes). Those units follow Home Assistant's unit
system (or the entity's own unit options), so a switch from imperial to metric writes 68 (°F)
before and 20 (°C) after into the same measurement. They are read in the units of the
entity's newest point, as discovery recorded them (`Entity.series`, "units"): a point written
in other units is converted attribute by attribute (`Units.attributes`); a point without unit
attributes (older Home Assistant versions, or `ignore_attributes`) is read in its
measurement's recorded units, else as it is; an attribute without a unit (humidity,
cloud_coverage, uv_index, ozone, wind_bearing) is never converted, nor is any attribute of an
entity discovery recorded no units for.

A conversion is a `Convert`: a factor for power, energy, pressure, speed and length, an affine
map for temperatures (68 °F is 20 °C). Points are converted before they are aggregated, so
every aggregate (time-weighted mean, min, max, last, the power integral, a weather
attribute's mean) is of converted readings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, TypeVar

from retention.entities.samples import Sample
from retention.models import Entity

logger = logging.getLogger(__name__)

# Per kind with a fixed unit in the tiers: that unit, and each unit's multiplier to it.
UNIT_FACTORS = {
    Entity.Kind.POWER: ("W", {"W": 1.0, "kW": 1e3, "MW": 1e6}),
    Entity.Kind.ENERGY: ("kWh", {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3}),
}
# The quantities of weather attributes. Those with factors: the units a weather entity can
# give them (homeassistant/components/weather/const.py), each unit's multiplier to Pa, m/s or
# m, as Home Assistant's unit_conversion computes them. Beaufort (wind) is not linear: unknown.
TEMPERATURE, PRESSURE, SPEED, LENGTH = "temperature", "pressure", "speed", "length"
_INHG_PA = 0.0254 * 1000 * 9.80665 * 13.5951  # inch of mercury: depth x g x mercury density
QUANTITY_FACTORS = {
    PRESSURE: {"hPa": 100.0, "mbar": 100.0, "inHg": _INHG_PA, "mmHg": _INHG_PA / 25.4},
    SPEED: {
        "m/s": 1.0,
        "km/h": 1 / 3.6,
        "mph": 1609.344 / 3600,
        "kn": 1852 / 3600,
        "ft/s": 0.3048,
    },  # fmt: skip
    LENGTH: {"km": 1000.0, "mi": 1609.344},
}
# A weather entity's unit attributes: each one's quantity and the attributes written in it.
WEATHER_UNITS = {
    "temperature_unit": (TEMPERATURE, ("temperature", "apparent_temperature", "dew_point")),
    "pressure_unit": (PRESSURE, ("pressure",)),
    "wind_speed_unit": (SPEED, ("wind_speed", "wind_gust_speed")),
    "visibility_unit": (LENGTH, ("visibility",)),
}
# Home Assistant's UnitOfTemperature spellings.
CELSIUS, FAHRENHEIT, KELVIN = "°C", "°F", "K"
# Where a point records its unit: the official layout's attribute field, the ingestor's
# attribute (in the `attributes` JSON, or the older writer's `attr_<name>` field).
OFFICIAL_UNIT_FIELD = "unit_of_measurement_str"
UNIT_ATTRIBUTE = "unit_of_measurement"
# Kinds whose readings (a weather entity's: its attributes) are numbers in a unit (an unknown
# unit there is worth a word).
READING_KINDS = frozenset(
    {Entity.Kind.POWER, Entity.Kind.ENERGY, Entity.Kind.NUMERIC, Entity.Kind.WEATHER}
)

N = TypeVar("N")  # a float, or a numpy array of them


@dataclass(frozen=True)
class Convert:
    """A reading in one unit as the same quantity in another:
    (value + shift) * scale / divisor + offset, the steps that change nothing skipped (a
    factor is exactly `value * scale`; °F -> °C is (value - 32) * 5 / 9: 68 gives 20.0)."""

    shift: float = 0.0
    scale: float = 1.0
    divisor: float = 1.0
    offset: float = 0.0

    @property
    def identity(self) -> bool:
        return self == SAME

    def __call__(self, value: N) -> N:
        if self.shift:
            value = value + self.shift  # type: ignore[operator]
        if self.scale != 1.0:
            value = value * self.scale  # type: ignore[operator]
        if self.divisor != 1.0:
            value = value / self.divisor  # type: ignore[operator]
        if self.offset:
            value = value + self.offset  # type: ignore[operator]
        return value


SAME = Convert()
TEMPERATURES = {
    (FAHRENHEIT, CELSIUS): Convert(shift=-32.0, scale=5.0, divisor=9.0),
    (CELSIUS, FAHRENHEIT): Convert(scale=9.0, divisor=5.0, offset=32.0),
    (CELSIUS, KELVIN): Convert(offset=273.15),
    (KELVIN, CELSIUS): Convert(shift=-273.15),
    (FAHRENHEIT, KELVIN): Convert(shift=-32.0, scale=5.0, divisor=9.0, offset=273.15),
    (KELVIN, FAHRENHEIT): Convert(shift=-273.15, scale=9.0, divisor=5.0, offset=32.0),
}


@cache
def converter(kind: str, written: str, target: str) -> Convert | None:
    """How a reading of an entity of `kind` (or a weather attribute of that quantity:
    TEMPERATURE, PRESSURE, SPEED, LENGTH) written in `written` becomes one in `target`: SAME
    for the same unit, None when no conversion is known."""
    written, target = written.strip(), target.strip()
    if written == target:
        return SAME
    factors = UNIT_FACTORS[kind][1] if kind in UNIT_FACTORS else QUANTITY_FACTORS.get(kind)
    if factors is not None:
        if written in factors and target in factors:
            return Convert(scale=factors[written] / factors[target])
        return None
    if kind in (Entity.Kind.NUMERIC, TEMPERATURE):
        return TEMPERATURES.get((written, target))
    return None


def unit_of(entity: Entity) -> str:
    """The unit the entity's readings are read in: power W, energy kWh, else its registry
    unit (a temperature sensor's °C, °F or K)."""
    fixed = UNIT_FACTORS.get(entity.kind)
    return fixed[0] if fixed else entity.unit


def attribute_units_of(entity: Entity) -> dict[str, str]:
    """attribute -> the unit a weather entity's attribute is read in (a raw point's
    `attributes[name]`, an aggregate row's `<name>_mean`): its newest point's units as
    discovery recorded them. {} for any other entity, or one discovery recorded no units for
    (its attributes are read as they are)."""
    now = Units(entity).attributes_now
    return {
        attribute: now[name]
        for name, (_, attributes) in WEATHER_UNITS.items()
        if name in now
        for attribute in attributes
    }


def registry_convert(entity: Entity) -> Convert:
    """The conversion of a reading in the entity's registry unit (SAME when none is known)."""
    return converter(entity.kind, entity.unit, unit_of(entity)) or SAME


_warned: set[tuple[str, str, str]] = set()
NONE: Mapping[str, Convert] = MappingProxyType({})  # no attribute to convert


class Units:
    """How one entity's raw readings become readings in `unit_of(entity)`, and a weather
    entity's attributes ones in the units of its newest point, point by point (the module
    docstring)."""

    def __init__(self, entity: Entity) -> None:
        self.entity_id, self.kind, self.unit = entity.entity_id, entity.kind, entity.unit
        self.target = unit_of(entity)
        self.registry = registry_convert(entity)
        series = [s for s in entity.series or () if isinstance(s, dict) and s.get("measurement")]
        recorded = {s["measurement"]: str(s.get("unit") or "") for s in series}
        self.by_measurement = recorded
        self.now = recorded.get(entity.measurement) if recorded else None
        # Weather: per measurement the unit attributes discovery recorded ({} when none).
        self.attribute_units = {
            s["measurement"]: {k: v for k, v in (s.get("units") or {}).items() if v}
            for s in series
            if entity.kind == Entity.Kind.WEATHER and isinstance(s.get("units"), dict)
        }
        self.attributes_now = self.attribute_units.get(entity.measurement, {})
        self._attributes: dict[tuple, Mapping[str, Convert]] = {}

    def convert(self, measurement: str, unit: object = None) -> Convert:
        """The conversion of a point of `measurement` written with `unit` (None: none)."""
        if self.now is None:
            return self.registry
        written = (unit if isinstance(unit, str) else "") or self.by_measurement.get(measurement)
        if not written or written == self.now:
            return self.registry
        found = converter(self.kind, written, self.target)
        if found is None:
            self._unknown(written, self.unit, self.target)
            return self.registry
        return found

    def official(self, measurement: str, fields: Mapping[str, Any]
                 ) -> tuple[Convert, Mapping[str, Convert]]:  # fmt: skip
        """The conversions of an official-layout point with `fields`: of its reading (by its
        `unit_of_measurement_str` field, or the tag `unit_of_measurement` that the
        integration's `tags_attributes` makes) and of its attributes (`attributes`)."""
        convert = self.convert(measurement, official_attribute(fields, UNIT_ATTRIBUTE))
        if not self.attributes_now:
            return convert, NONE
        return convert, self.attributes(measurement, official_units(fields))

    def attributes(self, measurement: str, written: Mapping[str, Any]) -> Mapping[str, Convert]:
        """attribute -> its conversion, for the attributes of a weather point of `measurement`
        written in other units than the newest point's; `written`: the point's unit attributes
        by name (`temperature_unit` -> "°F"). NONE when nothing is to be converted."""
        if not self.attributes_now:
            return NONE
        key = (measurement, *(written.get(name) for name in WEATHER_UNITS))
        found = self._attributes.get(key)
        if found is None:
            found = self._attributes[key] = self._attribute_converts(measurement, key[1:])
        return found

    def _attribute_converts(self, measurement: str, units: tuple) -> Mapping[str, Convert]:
        recorded = self.attribute_units.get(measurement, {})
        converts: dict[str, Convert] = {}
        for (name, (quantity, attributes)), unit in zip(WEATHER_UNITS.items(), units, strict=True):
            target = self.attributes_now.get(name)
            written = (unit if isinstance(unit, str) else "") or recorded.get(name)
            if not target or not written or written == target:
                continue
            convert = converter(quantity, written, target)
            if convert is None:
                self._unknown(written, target, target)
            else:
                converts.update(dict.fromkeys(attributes, convert))
        return MappingProxyType(converts) if converts else NONE

    def _unknown(self, written: str, read_as: str, target: str) -> None:
        key = (self.entity_id, written, target)
        if self.kind not in READING_KINDS or key in _warned:
            return
        _warned.add(key)
        logger.warning(
            "%s: points written in %r are read unconverted, as if in %r: no conversion from "
            "%r to %r is known. Later such points are not reported again.",
            self.entity_id, written, read_as, written, target,
        )  # fmt: skip


def official_attribute(values: Mapping[str, Any], name: str) -> str:
    """A string attribute of an official-layout point: its `<name>_str` field, else the tag
    `<name>` (Home Assistant writes the attributes its `tags_attributes` lists as tags, which
    SELECT * returns with the fields when the query does not group by them); "" without."""
    for written in (values.get(f"{name}_str"), values.get(name)):
        if isinstance(written, str):
            return written
    return ""


def official_units(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A weather point's unit attributes in the official layout (`temperature_unit_str`, ...,
    or those tags: `official_attribute`) by attribute name (None for those it has not)."""
    return {name: official_attribute(fields, name) or None for name in WEATHER_UNITS}


def converted(
    sample: Sample | None, convert: Convert, attributes: Mapping[str, Convert] = NONE
) -> Sample | None:
    """The sample with its value (by `convert`) and attributes (by `attributes`, per name)
    converted."""
    if sample is None:
        return None
    value = sample.value
    if value is not None and not convert.identity:
        value = convert(value)
    elif not attributes:
        return sample
    numbers = sample.attributes
    if attributes:
        numbers = {k: attributes[k](v) if k in attributes else v for k, v in numbers.items()}
    return Sample(sample.time, value, sample.state, numbers, sample.nanos,
                  sample.state_class, sample.last_reset)  # fmt: skip
