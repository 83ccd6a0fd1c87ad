"""Query-parameter parsing for the REST API: a bad value is a 400 that names the parameter."""

import math
import re
from datetime import date, datetime, timedelta

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from enrich.time_span import SPAN, outside_span

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhm])")
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60}
TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no"}
MAX_DURATION = timedelta(days=366)
BIGGEST = 2**63 - 1


def _bad(name: str, value: str, expected: str) -> ValidationError:
    return ValidationError({name: f"{value!r} is not valid: expected {expected}."})


def boolean(params, name: str, default: bool | None = None) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise _bad(name, raw, "true or false")


def integer(
    params,
    name: str,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, raw, "a whole number") from None
    if abs(value) > BIGGEST:  # ids and counts are 64-bit in the database
        raise _bad(name, raw, f"a whole number up to {BIGGEST}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            raise _bad(name, raw, f"a number from {minimum} to {maximum}")
        raise _bad(name, raw, f"a number of {minimum} or more" if maximum is None else
                   f"a number of {maximum} or less")  # fmt: skip
    return value


def day(params, name: str, default: date | None = None) -> date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse_date(raw) if len(raw) == 10 else None
    except ValueError:  # well formed but impossible, e.g. 2026-13-01
        value = None
    if value is None:
        raise _bad(name, raw, "a date as YYYY-MM-DD")
    if outside_span(value):
        raise _bad(name, raw, f"a date {SPAN}")
    return value


def moment(params, name: str, default: datetime | None = None) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise _bad(name, raw, "an ISO 8601 time with a time zone, e.g. 2026-11-27T06:00:00Z")
    if outside_span(value):
        raise _bad(name, raw, f"a time {SPAN}")
    return value


def number(params, name: str, default: float | None = None) -> float | None:
    """A finite decimal number ("3", "1.5")."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _bad(name, raw, "a number, e.g. 3 or 1.5")
    return value


def duration(params, name: str, default: timedelta | None = None) -> timedelta | None:
    """A positive duration in days, hours and minutes: "24h", "90m", "2d", "1h30m", "1.5h";
    at most MAX_DURATION (a year), so adding it to a time cannot overflow."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip().lower()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise _bad(name, raw, "a duration such as 24h, 90m, 2d or 1h30m")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise _bad(name, raw, f"a duration of at most {MAX_DURATION.days}d")
    value = timedelta(seconds=seconds)
    if value <= timedelta(0):
        raise _bad(name, raw, "a duration longer than zero, such as 24h")
    return value
