"""Units: the tiers and the views hold power in W and energy in kWh, whatever unit Home
Assistant wrote (kW and MW, Wh and MWh are converted as the raw points are read), and a
temperature in the entity's unit (°C, °F or K: a sensor switched from °F to °C is read in °C
throughout, its °F history converted).

Home Assistant records the unit with its data: in the official layout's default the
measurement is the unit (`W`, `kW`, `°F`, `°C`: a sensor switched from W to kW goes on in
another measurement), else a `unit_of_measurement_str` field of each point; in the HA Ingestor
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

A conversion is a `Convert`: a factor for power and energy, an affine map for temperatures
(68 °F is 20 °C). Points are converted before they are aggregated, so every aggregate
(time-weighted mean, min, max, last, the power integral) is of converted readings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from retention.entities.samples import Sample
from retention.models import Entity

logger = logging.getLogger(__name__)

# Per kind with a fixed unit in the tiers: that unit, and each unit's multiplier to it.
UNIT_FACTORS = {
    Entity.Kind.POWER: ("W", {"W": 1.0, "kW": 1e3, "MW": 1e6}),
    Entity.Kind.ENERGY: ("kWh", {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3}),
}
# Home Assistant's UnitOfTemperature spellings.
CELSIUS, FAHRENHEIT, KELVIN = "°C", "°F", "K"
# Where a point records its unit: the official layout's attribute field, the ingestor's
# attribute (in the `attributes` JSON, or the older writer's `attr_<name>` field).
OFFICIAL_UNIT_FIELD = "unit_of_measurement_str"
UNIT_ATTRIBUTE = "unit_of_measurement"
# Kinds whose readings are numbers in a unit (an unknown unit there is worth a word).
READING_KINDS = frozenset({Entity.Kind.POWER, Entity.Kind.ENERGY, Entity.Kind.NUMERIC})

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
    """How a reading of an entity of `kind` written in `written` becomes one in `target`:
    SAME for the same unit, None when no conversion is known."""
    written, target = written.strip(), target.strip()
    if written == target:
        return SAME
    if kind in UNIT_FACTORS:
        factors = UNIT_FACTORS[kind][1]
        if written in factors and target in factors:
            return Convert(scale=factors[written] / factors[target])
        return None
    if kind == Entity.Kind.NUMERIC:
        return TEMPERATURES.get((written, target))
    return None


def unit_of(entity: Entity) -> str:
    """The unit the entity's readings are read in: power W, energy kWh, else its registry
    unit (a temperature sensor's °C, °F or K)."""
    fixed = UNIT_FACTORS.get(entity.kind)
    return fixed[0] if fixed else entity.unit


def registry_convert(entity: Entity) -> Convert:
    """The conversion of a reading in the entity's registry unit (SAME when none is known)."""
    return converter(entity.kind, entity.unit, unit_of(entity)) or SAME


_warned: set[tuple[str, str, str]] = set()


class Units:
    """How one entity's raw readings become readings in `unit_of(entity)`, point by point
    (the module docstring)."""

    def __init__(self, entity: Entity) -> None:
        self.entity_id, self.kind, self.unit = entity.entity_id, entity.kind, entity.unit
        self.target = unit_of(entity)
        self.registry = registry_convert(entity)
        recorded = {
            s["measurement"]: str(s.get("unit") or "")
            for s in entity.series or ()
            if isinstance(s, dict) and s.get("measurement")
        }
        self.by_measurement = recorded
        self.now = recorded.get(entity.measurement) if recorded else None

    def convert(self, measurement: str, unit: object = None) -> Convert:
        """The conversion of a point of `measurement` written with `unit` (None: none)."""
        if self.now is None:
            return self.registry
        written = (unit if isinstance(unit, str) else "") or self.by_measurement.get(measurement)
        if not written or written == self.now:
            return self.registry
        found = converter(self.kind, written, self.target)
        if found is None:
            self._unknown(written)
            return self.registry
        return found

    def _unknown(self, written: str) -> None:
        key = (self.entity_id, written, self.target)
        if self.kind not in READING_KINDS or key in _warned:
            return
        _warned.add(key)
        logger.warning(
            "%s: points written in %r are read unconverted, as if in %r (its registry unit): "
            "no conversion from %r to %r is known. Later such points are not reported again.",
            self.entity_id, written, self.unit, written, self.target,
        )  # fmt: skip


def converted(sample: Sample | None, convert: Convert) -> Sample | None:
    """The sample with its value converted."""
    if sample is None or sample.value is None or convert.identity:
        return sample
    return Sample(sample.time, convert(sample.value), sample.state, sample.attributes)
