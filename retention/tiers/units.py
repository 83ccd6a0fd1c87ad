"""Units the tiers store: power in W, energy in kWh, whatever unit Home Assistant wrote
(`Entity.unit`: kW and MW, Wh and MWh are converted when the raw samples are read)."""

from __future__ import annotations

from collections.abc import Iterable

from retention.entities.samples import Sample
from retention.models import Entity

UNIT_FACTORS = {
    Entity.Kind.POWER: {"W": 1.0, "kW": 1e3, "MW": 1e6},
    Entity.Kind.ENERGY: {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3},
}


def unit_factor(entity: Entity) -> float:
    """Multiplier to W (power) or kWh (energy) for the entity's unit; 1 for other kinds."""
    factors = UNIT_FACTORS.get(entity.kind)
    if not factors:
        return 1.0
    return factors.get(entity.unit.strip(), 1.0)


def converted(samples: Iterable[Sample], factor: float) -> list[Sample]:
    """The samples with values multiplied by `factor` (see unit_factor)."""
    if factor == 1.0:
        return list(samples)
    return [
        Sample(s.time, None if s.value is None else s.value * factor, s.state, s.attributes)
        for s in samples
    ]
