"""Units: the tiers and the views hold power in W and energy in kWh, whatever unit Home
Assistant wrote (kW and MW, Wh and MWh are converted as the raw points are read).

Home Assistant records the unit with its data: in the official layout's default the
measurement is the unit (`W`, `kW`: a sensor switched from W to kW goes on in another
measurement), else a `unit_of_measurement_str` field of each point; in the HA Ingestor layout
the `unit_of_measurement` attribute of each point. An entity's unit can change (a person sets
another display unit, an integration update), so each point is converted by its own unit
(`Units.factor`):

- discovery records, per measurement the entity has points in, the unit Home Assistant wrote
  there last (`Entity.series`); the one of the entity's current measurement is the unit
  Home Assistant writes now;
- a point's unit is the one recorded with it (field or attribute), else its measurement's;
- a point in the unit Home Assistant writes now (or without any unit) is read in the
  registry's `Entity.unit`, which a person may have corrected in the admin (an integration
  that labels kW readings as W); a point in another unit of the kind (W/kW/MW,
  Wh/kWh/MWh) by that unit; an unknown unit by the registry's;
- an entity discovery recorded nothing for (added by hand, not rediscovered since) is read in
  its registry unit throughout.
"""

from __future__ import annotations

from retention.entities.samples import Sample
from retention.models import Entity

UNIT_FACTORS = {
    Entity.Kind.POWER: {"W": 1.0, "kW": 1e3, "MW": 1e6},
    Entity.Kind.ENERGY: {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3},
}
# Where a point records its unit: the official layout's attribute field, the ingestor's
# attribute (in the `attributes` JSON, or the older writer's `attr_<name>` field).
OFFICIAL_UNIT_FIELD = "unit_of_measurement_str"
UNIT_ATTRIBUTE = "unit_of_measurement"


def unit_factor(entity: Entity) -> float:
    """Multiplier to W (power) or kWh (energy) for the entity's registry unit; 1 for other
    kinds."""
    factors = UNIT_FACTORS.get(entity.kind)
    if not factors:
        return 1.0
    return factors.get(entity.unit.strip(), 1.0)


class Units:
    """How one entity's raw readings become W / kWh, point by point (the module docstring)."""

    def __init__(self, entity: Entity) -> None:
        self.registry = unit_factor(entity)
        self.factors = UNIT_FACTORS.get(entity.kind, {})
        recorded = {
            s["measurement"]: str(s.get("unit") or "")
            for s in entity.series or ()
            if isinstance(s, dict) and s.get("measurement")
        }
        self.by_measurement = recorded
        self.now = recorded.get(entity.measurement) if recorded else None

    def factor(self, measurement: str, unit: object = None) -> float:
        """The multiplier of a point of `measurement` written with `unit` (None: none)."""
        if not self.factors or self.now is None:
            return self.registry
        written = (unit if isinstance(unit, str) else "") or self.by_measurement.get(measurement)
        if not written or written == self.now:
            return self.registry
        return self.factors.get(written.strip(), self.registry)


def scaled(sample: Sample | None, factor: float) -> Sample | None:
    """The sample with its value multiplied by `factor`."""
    if sample is None or factor == 1.0 or sample.value is None:
        return sample
    return Sample(sample.time, sample.value * factor, sample.state, sample.attributes)
