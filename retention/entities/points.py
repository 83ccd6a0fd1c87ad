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
  number: numbers, booleans (1/0) and strings that parse as finite numbers;
- energy meters only: `state_class` and `last_reset` (official: the fields `state_class_str`
  and `last_reset_str`, or the tags of those names that `tags_attributes` makes; ingestor:
  those attributes), `last_reset` as a UTC ISO time
  (`last_reset_of`), what `retention.tiers.stepwise` needs to follow HA's statistics.

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
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from retention.entities.samples import Sample
from retention.entities.units import UNIT_ATTRIBUTE, WEATHER_UNITS, official_attribute
from retention.models import Entity

logger = logging.getLogger(__name__)

INGESTOR_MEASUREMENT = "home_assistant_events"
# The meter attributes an energy sample keeps (HA's sensor STATE_CLASS and LAST_RESET).
METER_ATTRIBUTES = ("state_class", "last_reset")
# The string attributes an ingestor point is read for: units, and the meter attributes.
STRING_ATTRIBUTES = (UNIT_ATTRIBUTE, *WEATHER_UNITS, *METER_ATTRIBUTES)
GAP_STATES = frozenset({"unknown", "unavailable", ""})
# homeassistant.helpers.state.state_as_number: the states it stores as 1 and 0 ("unknown" is
# a gap here, not 0).
HA_ON_STATES = frozenset({"on", "open", "home", "locked", "above_horizon"})
HA_OFF_STATES = frozenset({"off", "closed", "not_home", "unlocked", "below_horizon"})
# A binary entity's states, once for every reader (the tiers' on_seconds, the views' room
# activity, a tier row's last_state carried into the next day): HA's, and the translated ones
# some writers store (true/false, yes/no, detected/clear).
BINARY_ON_STATES = HA_ON_STATES | {"true", "yes", "detected"}
BINARY_OFF_STATES = HA_OFF_STATES | {"false", "no", "clear"}
HA_STATE_NUMBERS = dict.fromkeys(HA_ON_STATES, 1.0) | dict.fromkeys(HA_OFF_STATES, 0.0)
BINARY_STATE_NUMBERS = dict.fromkeys(BINARY_ON_STATES, 1.0) | dict.fromkeys(BINARY_OFF_STATES, 0.0)


def binary_on(state: str) -> bool:
    """Whether a binary entity's state string means on (any case: "Detected" too)."""
    return state.lower() in BINARY_ON_STATES


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


@lru_cache(maxsize=1024)  # a meter repeats its last_reset for a day or a month
def last_reset_of(raw: object) -> str | None:
    """A `last_reset` attribute as HA's statistics compare it: the time in UTC, ISO form (a
    time without a zone is taken as UTC: only a change matters). None when absent or not a
    time (HA ignores those; "None" is HA's writer's text for an attribute set to None)."""
    if raw is None or raw == "None":
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        logger.warning("last_reset %r is not a time: ignored, as Home Assistant does", raw)
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def finish(
    time: datetime,
    value: float | None,
    state: str | None,
    kind: str,
    attributes: dict,
    written: Mapping[str, Any] | None = None,
) -> Sample:
    """Apply the per-kind completions (see the module docstring); `written`: the point's
    string attributes by name, of which an energy sample keeps the METER_ATTRIBUTES."""
    if value is None and state is not None:
        table = BINARY_STATE_NUMBERS if kind == Entity.Kind.BINARY else HA_STATE_NUMBERS
        value = table.get(state.lower())
    if state is None and value is not None:
        if kind == Entity.Kind.BINARY:
            state = "on" if value else "off"
        elif kind in (Entity.Kind.TEXT, Entity.Kind.WEATHER):
            state = _text(value)
    if kind != Entity.Kind.ENERGY or not written:
        return Sample(time, value, state, attributes)
    state_class = written.get("state_class")
    return Sample(
        time,
        value,
        state,
        attributes,
        state_class=None if state_class is None else str(state_class),
        last_reset=last_reset_of(written.get("last_reset")),
    )


def sample_from_state(
    time: datetime,
    raw: str,
    kind: str,
    attributes: dict[str, float] | None = None,
    written: Mapping[str, Any] | None = None,
) -> Sample:
    """A Sample from a state string (ingestor layout): HA's writer rules, gaps for
    unknown/unavailable/""; `written` as for `finish`."""
    if raw in GAP_STATES:
        return Sample(time)
    number = as_number(raw)
    if number is not None:
        return finish(time, number, None, kind, attributes or {}, written)
    return finish(time, None, raw, kind, attributes or {}, written)


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
    written = None
    if kind == Entity.Kind.ENERGY:
        written = {name: official_attribute(fields, name) or None for name in METER_ATTRIBUTES}
    return finish(time, number, state, kind, attributes, written)


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
    for those it has not), with its METER_ATTRIBUTES (`state_class`, `last_reset`)."""
    parsed, old = ingestor_raw_attributes(fields)
    units = {name: old.get(name) or (parsed or {}).get(name) for name in STRING_ATTRIBUTES}
    if parsed is None:
        return None, units
    pairs = (*parsed.items(), *old.items())
    numbers = {key: number for key, value in pairs if (number := as_number(value)) is not None}
    return numbers, units
