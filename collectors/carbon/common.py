"""What the carbon adapters share: the reading builders (answers: collectors/answers.py).

Every carbon adapter writes the same two measurements: `carbon_intensity` (the headline
value at the data's own time, with `forecast_1h`/`forecast_24h` when a forecast is known) and
`carbon_intensity_forecast` (one point per forecast slot at the slot start, with
`slot_minutes`). Values are gCO2/kWh; a provider that gives only an index stores the index in
its own field (`moer_percentile`, `intensity_index`), never in `carbon_intensity_gco2_kwh`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collectors.base import read_history as read_history  # the adapters' backfill guard
from enrich.readings import FieldValue, Reading

MEASUREMENT = "carbon_intensity"
FORECAST_MEASUREMENT = "carbon_intensity_forecast"
GCO2_KWH = "carbon_intensity_gco2_kwh"
# 1 lb = 453.592 g and 1 MWh = 1000 kWh, so lbs/MWh x 0.453592 = g/kWh.
LBS_PER_MWH_TO_G_PER_KWH = 0.453592


@dataclass(frozen=True)
class Slot:
    """One forecast slot: start, length and the values (gCO2/kWh and/or an index)."""

    start: datetime
    minutes: float
    values: Mapping[str, float] = field(default_factory=dict)

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.start + timedelta(minutes=self.minutes)


def forecast_readings(slots: Iterable[Slot], tags: Mapping[str, str]) -> list[Reading]:
    """The whole forecast series: one point per slot at the slot start."""
    return [
        Reading(FORECAST_MEASUREMENT, {**s.values, "slot_minutes": float(s.minutes)}, s.start, tags)
        for s in slots
    ]


def horizon_fields(slots: Iterable[Slot], now: datetime) -> dict[str, float]:
    """`forecast_1h`/`forecast_24h`: the gCO2/kWh of the slots covering now+1h and now+24h.

    Left out when no slot covers that time or the slot has no gCO2/kWh value (an index is not
    a forecast of gCO2/kWh, and 0 would be a lie).
    """
    slots = list(slots)
    found: dict[str, float] = {}
    for name, ahead in (("forecast_1h", timedelta(hours=1)), ("forecast_24h", timedelta(hours=24))):
        slot = next((s for s in slots if s.covers(now + ahead)), None)
        if slot is not None and GCO2_KWH in slot.values:
            found[name] = slot.values[GCO2_KWH]
    return found


def current(time: datetime, fields: Mapping[str, FieldValue], **extra: Any) -> dict[str, Any]:
    """The JSON-serialisable headline for /api/enrichment/current."""
    return {**fields, **extra, "time": time.isoformat()}
