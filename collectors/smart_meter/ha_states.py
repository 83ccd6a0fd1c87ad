"""One Home Assistant state object (from `/api/states` or `/api/history/period`) as a value.

W, kW -> W; Wh, kWh, MWh -> kWh, as the decimal the state is (collectors.answers.scaled:
2.01 kW is 2010.0 W and 10002.8 Wh 10.0028 kWh, not 2009.9999999999998 and 10.002799999999999).
The reading's time is HA's own: `last_reported` (HA 2024.3+: the last time the sensor reported,
also when the value did not change), else `last_updated`, else `last_changed`. `last_updated`
moves only when the value (or an attribute) changes, so a constant standby load would keep one
old timestamp.
"""

import logging
import math
from datetime import datetime
from typing import Any

from collectors.answers import Answer, scaled
from collectors.base import ConfigError, Credentials
from enrich.http import AuthError, PermanentError, TransientError, get_json

logger = logging.getLogger(__name__)
PROVIDER = "home_assistant"

# unit -> (multiply, divide) into W or kWh
POWER_UNITS = {"W": (1, 1), "kW": (1000, 1)}
ENERGY_UNITS = {"kWh": (1, 1), "Wh": (1, 1000), "MWh": (1000, 1)}
SKIPPED_STATES = ("unavailable", "unknown")
TIME_KEYS = ("last_reported", "last_updated", "last_changed")


def declared_unit(answer: Answer, entity: str, state: Any) -> str | None:
    """The unit of a full state object, whose `attributes` must be a JSON object (a sensor
    without a unit is the settings' problem: check_unit says so)."""
    attributes = answer.get(state, "attributes", f"the state of {entity}")
    if not isinstance(attributes, dict):
        raise answer.bad(f"the state of {entity}: attributes should be a JSON object", state)
    return unit_of(state)


def unit_of(state: Any) -> str | None:
    attributes = state.get("attributes") if isinstance(state, dict) else None
    unit = attributes.get("unit_of_measurement") if isinstance(attributes, dict) else None
    return unit if isinstance(unit, str) else None


def check_unit(entity: str, unit: str | None, units: dict[str, tuple[int, int]]) -> None:
    if unit not in units:
        raise ConfigError(
            f"Home Assistant meter: {entity} is in {unit!r}, expected one of "
            f"{', '.join(units)}; pick the sensor that measures "
            f"{'power' if 'W' in units else 'energy'}."
        )


def value(
    answer: Answer, entity: str, state: Any, unit: str, units: dict[str, tuple[int, int]]
) -> tuple[float, datetime] | None:
    """(value in W or kWh, HA's time) of one state; None for `unavailable`/`unknown`."""
    raw = answer.get(state, "state", "the state")
    if raw in SKIPPED_STATES:
        return None
    if isinstance(raw, bool):  # HA's states are text: float(true) would store 1.0
        shown = "true" if raw else "false"
        raise answer.bad(f"the state of {entity} is {shown} (a JSON boolean), not a number", state)
    shown = repr(raw) if len(repr(raw)) <= 40 else f"{repr(raw)[:40]}..."
    times, per = units[unit]
    try:
        number = scaled(float(raw), times=times, per=per)
    except OverflowError:  # a 400-digit integer
        number = math.inf
    except (TypeError, ValueError):
        raise answer.bad(f"the state of {entity} is {shown}, not a number", state) from None
    if not math.isfinite(number):  # also a finite state times 1000 (kW, MWh)
        raise answer.bad(f"the state of {entity} is {shown}, not a finite number", state)
    key = next((k for k in TIME_KEYS if state.get(k)), TIME_KEYS[-1])
    return number, answer.when(state, key, "the state")


def get(url: str, credentials: Credentials, entity: str = "", params: Any = None) -> Any:
    """GET from HA's REST API with the long-lived token; refusals say what to fix."""
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    try:
        return get_json(PROVIDER, url, params=params, headers=headers)
    except AuthError as error:
        raise AuthError(
            f"home_assistant: {error.endpoint} refused the token (HTTP {error.status}). Put a "
            "valid long-lived access token (HA profile > Security) in the provider's API key.",
            provider=PROVIDER,
            endpoint=error.endpoint,
            status=error.status,
        ) from None
    except PermanentError as error:
        if error.status != 404 or not entity:
            raise
        raise PermanentError(
            f"home_assistant: Home Assistant has no entity {entity!r} (HTTP 404). Check the "
            "entity ids in options (Developer tools > States lists them).",
            provider=PROVIDER,
            endpoint=error.endpoint,
            status=404,
        ) from None


def zone(base: str, credentials: Credentials) -> str | None:
    """The time zone Home Assistant is set to (`GET /api/config`, `time_zone`): the day its
    energy sensors count (a daily utility meter starts again at HA's midnight); None, the
    site's then, when HA does not say."""
    try:
        body = get(f"{base}/api/config", credentials)
    except (PermanentError, TransientError) as error:
        logger.info("home_assistant: HA's time zone is not known, the site's is used: %s", error)
        return None
    found = body.get("time_zone") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None
