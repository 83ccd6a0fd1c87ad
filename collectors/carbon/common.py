"""What the carbon adapters share: answer validation helpers and the reading builders.

Every carbon adapter writes the same two measurements: `carbon_intensity` (the headline
value at the data's own time, with `forecast_1h`/`forecast_24h` when a forecast is known) and
`carbon_intensity_forecast` (one point per forecast slot at the slot start, with
`slot_minutes`). Values are gCO2/kWh; a provider that gives only an index stores the index in
its own field (`moer_percentile`, `intensity_index`), never in `carbon_intensity_gco2_kwh`.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import Credentials
from collectors.base import read_history as read_history  # the adapters' backfill guard
from enrich.http import MalformedResponse, malformed
from enrich.readings import FieldValue, Reading

MEASUREMENT = "carbon_intensity"
FORECAST_MEASUREMENT = "carbon_intensity_forecast"
GCO2_KWH = "carbon_intensity_gco2_kwh"
# 1 lb = 453.592 g and 1 MWh = 1000 kWh, so lbs/MWh x 0.453592 = g/kWh.
LBS_PER_MWH_TO_G_PER_KWH = 0.453592


def base_url(credentials: Credentials, default: str) -> str:
    """The API root: `options["base_url"]` (tests, proxies, other API versions) or `default`."""
    return str(credentials.options.get("base_url") or default).rstrip("/")


class Answer:
    """Reads one parsed answer: each missing or wrongly typed value raises `malformed(...)`
    naming the provider, the URL and what was wrong, so nothing is stored on a guess."""

    def __init__(self, provider: str, url: str) -> None:
        self.provider, self.url = provider, url

    def bad(self, problem: str, value: Any = None) -> MalformedResponse:
        body = None if value is None else json.dumps(value, default=str)[:1000]
        return malformed(self.provider, self.url, problem, body=body)

    def get(self, obj: Any, key: str, what: str = "the answer") -> Any:
        if not isinstance(obj, Mapping):
            raise self.bad(f"{what} should be a JSON object", obj)
        if key not in obj:
            raise self.bad(f"{what} has no {key!r}", obj)
        return obj[key]

    def number(self, obj: Any, key: str, what: str = "the answer") -> float:
        value = self.maybe_number(obj, key, what)
        if value is None:
            raise self.bad(f"{what}: {key} is null", obj)
        return value

    def maybe_number(self, obj: Any, key: str, what: str = "the answer") -> float | None:
        """A number as float (ints too, so field types stay stable); None for null."""
        value = self.get(obj, key, what)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.bad(f"{what}: {key} should be a number, got {value!r}", obj)
        return None if value is None else float(value)

    def flag(self, obj: Any, key: str, what: str = "the answer") -> bool | None:
        """A JSON boolean; None when the key is absent or null (older answers lack it)."""
        value = obj.get(key) if isinstance(obj, Mapping) else self.get(obj, key, what)
        if value is not None and not isinstance(value, bool):
            raise self.bad(f"{what}: {key} should be true or false, got {value!r}", obj)
        return value

    def text(self, obj: Any, key: str, what: str = "the answer") -> str:
        value = self.get(obj, key, what)
        if not isinstance(value, str) or not value:
            raise self.bad(f"{what}: {key} should be a non-empty string, got {value!r}", obj)
        return value

    def items(self, obj: Any, key: str, what: str = "the answer") -> list[Any]:
        value = self.get(obj, key, what)
        if not isinstance(value, list):
            raise self.bad(f"{what}: {key} should be a list", obj)
        return value

    def when(self, obj: Any, key: str, what: str = "the answer") -> datetime:
        """An ISO 8601 time with a zone (`...Z`, `...+00:00`), as an aware UTC datetime."""
        value = self.text(obj, key, what)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.bad(f"{what}: {key} {value!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise self.bad(f"{what}: {key} {value!r} has no time zone")
        return parsed.astimezone(UTC)


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
