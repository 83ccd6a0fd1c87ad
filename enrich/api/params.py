"""Query-parameter parsing for the REST API: a bad value is a 400 that names the parameter."""

from datetime import date, datetime

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no"}


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
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _bad(name, raw, f"a number from {minimum} to {maximum}")
    return value


def day(params, name: str, default: date | None = None) -> date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_date(raw) if len(raw) == 10 else None
    if value is None:
        raise _bad(name, raw, "a date as YYYY-MM-DD")
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
    return value
