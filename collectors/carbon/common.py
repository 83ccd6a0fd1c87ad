"""What the carbon adapters share: the reading builders (answers: collectors/answers.py).

Every carbon adapter writes the same two measurements: `carbon_intensity` (the headline
value at the data's own time, with `forecast_1h`/`forecast_24h` when a forecast is known) and
`carbon_intensity_forecast` (one point per forecast slot at the slot start, with
`slot_minutes`). Values are gCO2/kWh; a provider that gives only an index stores the index in
its own field (`moer_percentile`, `intensity_index`), never in `carbon_intensity_gco2_kwh`.

Values outside what a grid can emit are malformed answers, never stored: gCO2/kWh below 0 or
above `MAX_GCO2_KWH`, shares (renewable, fossil-free) outside 0-100 %.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from collectors.answers import Answer
from collectors.base import Adapter
from collectors.base import read_history as read_history  # the adapters' backfill guard
from enrich.http import PermanentError
from enrich.readings import FieldValue, Reading

MEASUREMENT = "carbon_intensity"
FORECAST_MEASUREMENT = "carbon_intensity_forecast"
GCO2_KWH = "carbon_intensity_gco2_kwh"
# On a `carbon_intensity` point with gCO2/kWh: true for a forecast value (a stored forecast
# slot written at its start between fetches, a UK slot NESO has no actual for yet), false for
# the value a fetch gave for its running slot or a measured past one.
IS_FORECAST = "is_forecast"
# 1 lb = 453.592 g and 1 MWh = 1000 kWh, so lbs/MWh x 0.453592 = g/kWh.
LBS_PER_MWH_TO_G_PER_KWH = 0.453592
# No grid emits less than nothing; the dirtiest generation (lignite, ~1,100-1,300 gCO2/kWh
# over its life cycle; a marginal coal plant ~1,000) stays far below 5,000.
MAX_GCO2_KWH = 5000.0
HORIZONS = {"forecast_1h": timedelta(hours=1), "forecast_24h": timedelta(hours=24)}
# The fields of the point written for the forecast slot served now (collectors.carbon.now).
SERVED_FIELDS = frozenset({GCO2_KWH, IS_FORECAST, *HORIZONS})


class CarbonAdapter(Adapter):
    """The base of the carbon adapters: the value now is computed when asked, from the stored
    forecast slot covering the moment of the request once the fetched slot is over, and
    written as a point each minute (collectors.carbon.now)."""

    served_measurement = MEASUREMENT

    def current_at_read(self, config: Any, target: Any, answer: Any) -> dict | None:
        from collectors.carbon.now import current_value

        return current_value(self.provider, answer)

    def current_readings(self, config: Any, target: Any, answer: Any) -> list[Reading]:
        from collectors.carbon.now import current_readings

        return current_readings(self.provider, answer)

    def maybe_served(self, fields: Mapping[str, Any]) -> bool:
        """A served point has only SERVED_FIELDS, with `is_forecast` true; a fetched one has
        `is_forecast` false, or a field the served one never has (`moer_percentile`,
        `intensity_index`, the shares, `is_estimated`, `emission_factor_type`)."""
        return fields.get(IS_FORECAST) is True and fields.keys() <= SERVED_FIELDS


@dataclass(frozen=True)
class Slot:
    """One forecast slot: start, length and the values (gCO2/kWh and/or an index)."""

    start: datetime
    minutes: float
    values: Mapping[str, float] = field(default_factory=dict)

    def covers(self, when: datetime) -> bool:
        return self.start <= when < self.start + timedelta(minutes=self.minutes)


def intensity(answer: Answer, grams: float, what: str, context: Any, shown: str = "") -> float:
    """`grams` (gCO2/kWh) when it lies in 0..MAX_GCO2_KWH; malformed, naming `what`, if not
    (`shown`: the value as the answer gave it, when in another unit)."""
    if not 0 <= grams <= MAX_GCO2_KWH:
        shown = shown or f"{grams:g} gCO2/kWh"
        raise answer.bad(f"{what} {shown} is outside 0-{MAX_GCO2_KWH:g} gCO2/kWh", context)
    return grams


Refusal = TypeVar("Refusal", bound=PermanentError)


def refused(error: Refusal, message: str) -> Refusal:
    """`error` (the provider's refusal: a 403, or a 400 for a setting it does not know) told as
    `message` (what was refused, what to change), with what the provider said."""
    said = f" The provider said: {error.body_excerpt}" if error.body_excerpt else ""
    return type(error)(
        f"{error.provider}: {error.endpoint} {message}{said}",
        provider=error.provider,
        endpoint=error.endpoint,
        status=error.status,
        body_excerpt=error.body_excerpt,
        attempts=error.attempts,
    )


def percentage(answer: Answer, share: float, what: str, context: Any) -> float:
    """`share` (%) when it lies in 0..100; malformed, naming `what`, if not."""
    if not 0 <= share <= 100:
        raise answer.bad(f"{what} {share:g} % is outside 0-100", context)
    return share


def no_overlap(answer: Answer, spans: Iterable[tuple[datetime, datetime]], what: str) -> None:
    """Refuse slots ([start, end)) of one answer that repeat a start or overlap: which value
    holds for that time is then unknown."""
    ordered = sorted(spans)
    for (start, end), (later, _) in zip(ordered, ordered[1:], strict=False):
        if later < end or later == start:
            raise answer.bad(
                f"{what}: the slots starting {start.isoformat()} and {later.isoformat()} overlap"
            )


def fetched(values: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """A fetched point's fields, with `is_forecast` false when it has gCO2/kWh: so it replaces
    the forecast point written at the same time between fetches (collectors.carbon.now)."""
    return {**values, IS_FORECAST: False} if GCO2_KWH in values else dict(values)


def forecast_readings(slots: Iterable[Slot], tags: Mapping[str, str]) -> list[Reading]:
    """The whole forecast series: one point per slot at the slot start."""
    return [
        Reading(FORECAST_MEASUREMENT, {**s.values, "slot_minutes": float(s.minutes)}, s.start, tags)
        for s in slots
    ]


def spacing(known: list[tuple[datetime, Any]], i: int, alone: float = 60.0) -> float:
    """Minutes of slot `i` of a series ((start, value) in time order) from the spacing of its
    starts (Electricity Maps: hourly in v3, 15/5 minutes possible in v4); `alone` for one."""
    if len(known) < 2:
        return alone
    a, b = (i, i + 1) if i + 1 < len(known) else (i - 1, i)
    return (known[b][0] - known[a][0]).total_seconds() / 60


def horizon_fields(slots: Iterable[Slot], now: datetime) -> dict[str, float]:
    """`forecast_1h`/`forecast_24h`: the gCO2/kWh of the slots covering now+1h and now+24h.

    Left out when no slot covers that time or the slot has no gCO2/kWh value (an index is not
    a forecast of gCO2/kWh, and 0 would be a lie).
    """
    slots = list(slots)
    found: dict[str, float] = {}
    for name, ahead in HORIZONS.items():
        slot = next((s for s in slots if s.covers(now + ahead)), None)
        if slot is not None and GCO2_KWH in slot.values:
            found[name] = slot.values[GCO2_KWH]
    return found


def current(time: datetime, fields: Mapping[str, FieldValue], **extra: Any) -> dict[str, Any]:
    """The JSON-serialisable headline for /api/enrichment/current."""
    return {**fields, **extra, "time": time.isoformat()}
