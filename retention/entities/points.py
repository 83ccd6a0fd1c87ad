"""One point Home Assistant wrote, in either layout, as a `Sample` (the rules of HA's
InfluxDB writer, reference/ha_influx_schema.md), the same for both layouts:

- a state that parses as a finite number: `value` = the number, `state` = None;
- a state Home Assistant maps to a number (on/open/home/locked/above_horizon -> 1,
  off/closed/not_home/unlocked/below_horizon -> 0): both `value` and `state`;
- any other state: `state` only. For binary entities we also map true/false, yes/no and
  detected/clear (translated states some writers store) to 1/0;
- binary entities always get both: a value without a state gives "on" (value != 0) or "off";
  text and weather entities always get a state: a numeric state is given back as its
  shortest text ("3", "2.5"), the same from both layouts;
- `attributes`: the numeric attributes (not value/state, not `*_str` strings; a numeric
  `<name>` that HA derived from the digits at the end of a `<name>_str` string is dropped).
  In the ingestor layout an attribute counts when HA's writer would have written it as a
  number: numbers, booleans (1/0) and strings that parse as finite numbers.

Gaps (the convention the aggregator relies on): the states `unknown`, `unavailable` and ""
mean "Home Assistant had no value from here". They are not skipped: they yield a gap Sample,
`Sample(time, value=None, state=None, attributes={})`. The value in force before it stops at
the gap's time; the time from the gap to the next real sample is not covered (it adds nothing
to coverage_seconds, to time-weighted means, on_seconds or energy). The official integration
never writes these states, so there a value simply holds until the next sample; the ingestor
layout records them. A carried-in gap means nothing was known when the window opened.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from retention.entities.samples import Sample
from retention.entities.units import UNIT_ATTRIBUTE, WEATHER_UNITS
from retention.models import Entity

INGESTOR_MEASUREMENT = "home_assistant_events"
UNIT_ATTRIBUTES = (UNIT_ATTRIBUTE, *WEATHER_UNITS)
GAP_STATES = frozenset({"unknown", "unavailable", ""})
# homeassistant.helpers.state.state_as_number ("unknown" is a gap here, not 0).
HA_STATE_NUMBERS = {
    "on": 1.0,
    "open": 1.0,
    "home": 1.0,
    "locked": 1.0,
    "above_horizon": 1.0,
    "off": 0.0,
    "closed": 0.0,
    "not_home": 0.0,
    "unlocked": 0.0,
    "below_horizon": 0.0,
}
BINARY_STATE_NUMBERS = {
    **HA_STATE_NUMBERS,
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "detected": 1.0,
    "clear": 0.0,
}


def as_number(raw: Any) -> float | None:
    """The finite float HA's writer would store for `raw` (float(raw)), else None."""
    if isinstance(raw, str):
        if "_" in raw:  # float() accepts "1_000"; HA states never mean that
            return None
    elif not isinstance(raw, int | float):  # bool is an int: float(True) == 1.0, like HA
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def finish(
    time: datetime, value: float | None, state: str | None, kind: str, attributes: dict
) -> Sample:
    """Apply the per-kind completions (see the module docstring)."""
    if value is None and state is not None:
        table = BINARY_STATE_NUMBERS if kind == Entity.Kind.BINARY else HA_STATE_NUMBERS
        value = table.get(state.lower())
    if state is None and value is not None:
        if kind == Entity.Kind.BINARY:
            state = "on" if value else "off"
        elif kind in (Entity.Kind.TEXT, Entity.Kind.WEATHER):
            state = _text(value)
    return Sample(time, value, state, attributes)


def sample_from_state(
    time: datetime, raw: str, kind: str, attributes: dict[str, float] | None = None
) -> Sample:
    """A Sample from a state string (ingestor layout): HA's writer rules, gaps for
    unknown/unavailable/""."""
    if raw in GAP_STATES:
        return Sample(time)
    number = as_number(raw)
    if number is not None:
        return finish(time, number, None, kind, attributes or {})
    return finish(time, None, raw, kind, attributes or {})


def sample_from_official(time: datetime, fields: Mapping[str, Any], kind: str) -> Sample | None:
    """A Sample from an official-layout point's columns; None when it holds no state."""
    value, state = fields.get("value"), fields.get("state")
    if value is None and state is None:
        return None
    if state is not None:
        state = str(state)
        if state in GAP_STATES:
            return Sample(time)
    number = as_number(value) if value is not None else None
    attributes = {}
    for key, raw in fields.items():
        if key in ("value", "state") or isinstance(raw, str | bool) or raw is None:
            continue  # tags and *_str attributes are strings
        if fields.get(f"{key}_str") is not None:
            continue  # HA's number from the digits at the end of a string attribute
        if (number_attr := as_number(raw)) is not None:
            attributes[key] = number_attr
    return finish(time, number, state, kind, attributes)


def ingestor_raw_attributes(fields: Mapping[str, Any]) -> tuple[dict | None, dict[str, Any]]:
    """An ingestor point's attributes as written: the `attributes` JSON object (None when it is
    not JSON) and the old writer's `attr_<name>` fields, by name."""
    old = {key[5:]: value for key, value in fields.items() if key.startswith("attr_")}
    try:
        parsed = json.loads(fields["attributes"]) if fields.get("attributes") else {}
    except ValueError:
        return None, old
    return (parsed if isinstance(parsed, dict) else {}), old


def ingestor_attributes(
    fields: Mapping[str, Any],
) -> tuple[dict[str, float] | None, dict[str, Any]]:
    """Numeric attributes of an ingestor point (an `attr_<name>` field wins over a JSON one of
    the same name), None when the JSON cannot be read; and the units written with the point,
    by attribute name (`unit_of_measurement`, a weather entity's `temperature_unit`, ...; None
    for those it has not)."""
    parsed, old = ingestor_raw_attributes(fields)
    units = {name: old.get(name) or (parsed or {}).get(name) for name in UNIT_ATTRIBUTES}
    if parsed is None:
        return None, units
    pairs = (*parsed.items(), *old.items())
    numbers = {key: number for key, value in pairs if (number := as_number(value)) is not None}
    return numbers, units
