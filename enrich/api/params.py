"""Query-parameter parsing for the REST API: a bad value is a 400 that names the parameter.

Each reader is called as `reader(params, name, default=None, **limits)` (e.g.
`integer(request.query_params, "days", 30, minimum=1)`) and gives `default` when the parameter
is absent. A parameter given more than once (`?days=1&days=30`) is a 400 naming it: Django
would hand over the last value, and which one the caller meant is not known; so is one given
empty (`?days=`), never read as left out. A POST
body is read with `body` (form fields each given once, or a JSON object) and its true/false
fields with `flag`; a POST that changes or queues something reads its body and query string
together with `fields` (a name given in both, or one it does not take, is a 400 naming it).
A day anywhere else (a body field, a command's option) is read with `as_day`, the reader
`day` uses: its `Refused` holds the words for a command to say. A parameter that takes a day
or a time is read with `day_or_moment`.
Pages that answer with an error page of their own (the dashboard, the Google Calendar setup)
ask `repeated` what to say about a repeated parameter."""

import calendar
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from enrich.numerals import UNSIGNED, decimal, whole, written_whole
from enrich.time_span import EARLIEST, LATEST, SPAN, outside_span, week_problem

# Numbers are written in ASCII digits only (enrich.numerals): Python's int(), float() and
# Django's date parsers also read " 30", "+30", "3_0" and other scripts' digits ("٣٠").
# A duration's parts are numbers as `decimal` writes them (".5h" as hours=.5), each with its
# unit in lowercase, as in InfluxDB's durations: read in any case, "1M" would be a minute to a
# caller who may mean a month.
_DURATION_PART = re.compile(rf"({UNSIGNED})([dhm])")
# A whole duration, matched once from its start: findall alone would try the part at every
# position, and each try runs over all the digits that follow, quadratic in the length (a
# `within` of 4,000 digits, as long as gunicorn's request line allows, would take a quarter of
# a second of CPU). Each unit comes once, in the order d, h, m: "1h1h" is a typo, not 2h.
_DURATION = re.compile(rf"(?:{UNSIGNED}d)?(?:{UNSIGNED}h)?(?:{UNSIGNED}m)?")
DURATION_PATTERN = rf"^(?=.){_DURATION.pattern}$"  # the schema's: a part at least, as read
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60}
TRUE = {"true", "1", "yes", "on"}  # "on": an HTML checkbox
FALSE = {"false", "0", "no", "off"}
MAX_DURATION = timedelta(days=366)
MIN_DURATION = timedelta(minutes=1)  # the endpoints plan and read prices in whole minutes
BIGGEST = 2**63 - 1
DAY_EXAMPLE = "2026-11-27"
DAY_FORMAT = f"a date as YYYY-MM-DD, e.g. {DAY_EXAMPLE}"
DAY_EXISTS = "a date that exists"
# The schema's description of a POST reading its fields with `fields` (body and query together).
FIELDS_READ = (
    "Each field in the body or the query string, once; empty or null, given twice, or a field "
    "of another name is a 400 naming it."
)


class Refused(ValidationError):
    """A 400 naming parameter `name`; `text` says what was wrong with its value, for a caller
    that is no endpoint (a management command, a task) to say it in its own words."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        super().__init__({name: text})


def _bad(name: str, value: Any, expected: str) -> Refused:
    """A value of a JSON body shown as JSON writes it (`true`, `[1, null]`: it said "True")."""
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return Refused(name, f"{shown} is not valid: expected {expected}.")


def _repeated(times: int) -> str:
    return f"given {times} times: give it once."


def repeated(values, names: Iterable[str] | None = None) -> dict[str, str]:
    """What to say about each parameter of `names` (all of them when None) that `values` (a
    QueryDict: query string or form fields) holds more than once; {} when none is, or for a
    dict (a JSON object, one value per key). Pages that answer with their own error page use
    it as it is; `given` and `once` raise it as a 400."""
    if not hasattr(values, "getlist"):
        return {}
    counts = {name: len(values.getlist(name)) for name in (values if names is None else names)}
    return {name: _repeated(times) for name, times in counts.items() if times > 1}


def given(params, name: str) -> str | None:
    """The one value of parameter `name` (None when absent); a 400 naming it when it is given
    more than once, or given empty (`?region=`): a caller who sent it meant something (an unset
    variable in `?region=$REGION`), so it is never read as left out (no filter, the default),
    as a body field sent empty is not (`sent`). `params` is a QueryDict (query string, form
    fields) or a dict."""
    if problem := repeated(params, [name]):
        raise ValidationError(problem)
    raw = params.get(name)
    if raw == "":
        raise ValidationError({name: f"given empty: give a value or leave ?{name}= out."})
    return raw


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object of a request body from its key/value pairs (the API's JSON parser's
    object_pairs_hook); a 400 naming each key given more than once, as for a form field: json
    keeps the last, and which one the caller meant is not known."""
    counts = Counter(key for key, _ in pairs)
    if problems := {key: _repeated(times) for key, times in counts.items() if times > 1}:
        raise ValidationError(problems)
    return dict(pairs)


def once(values) -> dict[str, Any]:
    """A QueryDict (query string or form fields) as a dict; a 400 naming each name given more
    than once."""
    if problems := repeated(values):
        raise ValidationError(problems)
    return values.dict()


def _parameter(parse: Callable[..., Any]) -> Callable[..., Any]:
    """A reader of one query parameter, called as `reader(params, name, default, **limits)`:
    `default` when the parameter is absent, else `parse(name, raw, **limits)`, which
    raises `_bad` for a value it cannot use (`given`: a 400 when it is repeated)."""

    @functools.wraps(parse)
    def read(params, name: str, default: Any = None, **limits: Any) -> Any:
        raw = given(params, name)
        return default if raw is None else parse(name, raw, **limits)

    return read


def _read(name: str, raw: str, parse: Callable[[str], Any], what: str, expected: str) -> Any:
    """parse(raw) (Django's parse_datetime): None when `raw` is not written as one. Written
    right but naming no moment (2026-02-30, 24:00, an offset of +25:00, the year 0) it is a 400
    naming `name`: one of a year outside SPAN is told the span (as 0001-01-01 is), any other
    `expected`."""
    try:
        return parse(raw)
    except ValueError:
        year = int(raw[:4])  # both parsers read a value that starts with its 4-digit year
        if not EARLIEST.year <= year < LATEST.year:
            raise _bad(name, raw, f"{what} {SPAN}") from None
        raise _bad(name, raw, expected) from None


def _in_span(name: str, raw: str, value: Any, what: str) -> Any:
    if outside_span(value):
        raise _bad(name, raw, f"{what} {SPAN}")
    return value


@_parameter
def boolean(name: str, raw: str) -> bool:
    if raw.lower() in TRUE:
        return True
    if raw.lower() in FALSE:
        return False
    raise _bad(name, raw, "true or false")


@_parameter
def choice(name: str, raw: str, allowed: Iterable[str]) -> str:
    """One of `allowed`, written exactly so."""
    if raw not in allowed:
        raise _bad(name, raw, f"one of {', '.join(allowed)}")
    return raw


@_parameter
def integer(name: str, raw: str, minimum: int | None = None, maximum: int | None = None) -> int:
    value: float | None = whole(raw)
    if value is None:
        if not written_whole(raw):
            raise _bad(name, raw, "a whole number")
        value = -math.inf if raw.startswith("-") else math.inf  # more digits than int() reads
    # The parameter's own limits first: days=10**30 is told 1 to 365, not 2^63 - 1.
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            raise _bad(name, raw, f"a number from {minimum} to {maximum}")
        raise _bad(name, raw, f"a number of {minimum} or more" if maximum is None else
                   f"a number of {maximum} or less")  # fmt: skip
    if abs(value) > BIGGEST:  # ids and counts are 64-bit in the database
        raise _bad(name, raw, f"a whole number up to {BIGGEST}")
    return int(value)


def as_day(name: str, raw: Any) -> date:
    """`raw` as a day written YYYY-MM-DD (ASCII digits): the one reader of a day for every
    endpoint and command, so each says the same of the same value. A 400 (`Refused`) naming
    `name` says what is wrong: the format when it is not written so (20260101, 2026-1-1, a
    JSON number), that it does not exist when it is written so but names no day (2026-02-30,
    2026-13-01), or the days InfluxDB can hold (SPAN) for a year outside them (0000, 9999)."""
    if not isinstance(raw, str) or not _DAY.fullmatch(raw):
        raise _bad(name, raw, DAY_FORMAT)
    year, month, of_month = int(raw[:4]), int(raw[5:7]), int(raw[8:10])
    if not EARLIEST.year <= year < LATEST.year:  # the year 0 is no date in Python
        raise _bad(name, raw, f"a date {SPAN}")
    if not 1 <= month <= 12:
        raise _bad(name, raw, f"{DAY_EXISTS} (a month from 01 to 12), e.g. {DAY_EXAMPLE}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= of_month <= last:
        raise _bad(name, raw, f"{DAY_EXISTS} (a day of its month: {calendar.month_name[month]} "
                   f"{year} has days 01 to {last}), e.g. {DAY_EXAMPLE}")  # fmt: skip
    return _in_span(name, raw, date(year, month, of_month), "a date")


day = _parameter(as_day)


MOMENT_EXAMPLE = "2026-11-27T06:00:00Z"
MOMENT_FORMAT = f"an ISO 8601 time with a time zone, e.g. {MOMENT_EXAMPLE}"


def _written_moment(name: str, raw: str) -> datetime | None:
    """`raw` as a moment in UTC; None when it is not written as an ISO 8601 time with a zone. A
    400 naming `name` when it is written so but names no moment or one outside SPAN."""
    impossible = f"a time that exists (a day of its month, hours 0-23, an offset under 24 hours), e.g. {MOMENT_EXAMPLE}"  # fmt: skip
    value = _read(name, raw, parse_datetime, "a time", impossible) if raw.isascii() else None
    if value is None and (week := week_problem(raw, MOMENT_EXAMPLE)):
        raise _bad(name, raw, week)
    if value is None or value.tzinfo is None:
        return None
    return _in_span(name, raw, value, "a time").astimezone(UTC)


# An offset's "+" sent unencoded reaches Django as a space ("…T07:00:00 01:00").
PLUS_AS_SPACE = re.compile(r"[ ]\d{2}(:?\d{2})?$")
PLUS_HINT = ("; a '+' in a URL's query reads as a space: write the offset's + as %2B (in a "
             "Home Assistant template, `| urlencode`)")  # fmt: skip
# An ISO 8601 ordinal date (2026-340: day 340 of 2026), which Django's parser does not read.
ORDINAL = re.compile(r"[0-9]{4}-?[0-9]{3}(?:T|$)")
ORDINAL_HINT = "; an ordinal date (2026-340) is not read: write its day as YYYY-MM-DD"


@_parameter
def moment(name: str, raw: str) -> datetime:
    """An ISO 8601 time with a zone, as UTC (an offset PostgreSQL refuses, such as +16:00,
    is still a moment)."""
    value = _written_moment(name, raw)
    if value is None:
        space = PLUS_AS_SPACE.search(raw)
        plus = space and _written_moment(name, f"{raw[: space.start()]}+{raw[space.start() + 1 :]}")
        hint = PLUS_HINT if plus else ORDINAL_HINT if ORDINAL.match(raw) else ""
        raise _bad(name, raw, MOMENT_FORMAT + hint)
    return value


@_parameter
def day_or_moment(name: str, raw: str) -> date | datetime:
    """A day written YYYY-MM-DD (read by `as_day`) or else a moment (as `moment` reads one);
    a value written as neither is told both forms."""
    if _DAY.fullmatch(raw):
        return as_day(name, raw)
    value = _written_moment(name, raw)
    if value is None:
        hint = ORDINAL_HINT if ORDINAL.match(raw) else ""
        raise _bad(name, raw, f"{DAY_FORMAT}, or {MOMENT_FORMAT}{hint}")
    return value


@_parameter
def text(name: str, raw: str) -> str:
    """A text filter, such as an entity id: any characters but NUL, which no database stores,
    and U+FFFD, which Django reads a percent-encoded byte that is no UTF-8 as (`%FC`, ü in
    Latin-1): the filter would look for a character nobody wrote and find nothing."""
    if "\x00" in raw:
        raise _bad(name, raw, "text without NUL characters")
    if "\ufffd" in raw:
        raise _bad(name, raw, "text in UTF-8 (a percent-encoded byte was no UTF-8, e.g. %FC "
                   "instead of %C3%BC for ü)")  # fmt: skip
    return raw


@_parameter
def number(name: str, raw: str) -> float:
    """A finite decimal number ("3", "1.5")."""
    value = decimal(raw)
    if value is None:
        raise _bad(name, raw, "a number, e.g. 3 or 1.5")
    return value


@_parameter
def duration(name: str, raw: str) -> timedelta:
    """A positive duration in days, hours and minutes: "24h", "90m", "2d", "1h30m", "1.5h",
    ".5h", units in lowercase, each once and in the order d, h, m; at least MIN_DURATION (a
    minute) and at most MAX_DURATION (a year), so adding it to a time cannot overflow. Written
    without spaces, as a number is (" 4h" is a 400, as hours=" 3" is)."""
    if not raw or not _DURATION.fullmatch(raw):
        raise _bad(name, raw, "a duration such as 24h, 90m, 2d or 1h30m: numbers (1.5 and .5 "
                   "too) each followed by d, h or m, in lowercase, each unit once and in the "
                   "order d, h, m")  # fmt: skip
    parts = _DURATION_PART.findall(raw)
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise _bad(name, raw, f"a duration of at most {MAX_DURATION.days}d")
    value = timedelta(seconds=seconds)
    if value <= timedelta(0):
        raise _bad(name, raw, "a duration longer than zero, such as 24h")
    if value < MIN_DURATION:
        raise _bad(name, raw, "a duration of at least a minute (1m), such as 24h")
    return value


def body(data: Any, fields: str) -> dict[str, Any]:
    """A request body as a dict: form fields, each given once (`once`), or a JSON object (whose
    keys the JSON parser read once each: `json_object`); anything else (a JSON list, string or
    null) is a 400 saying to send `fields` as one of those."""
    if hasattr(data, "lists"):  # a QueryDict: form fields
        data = once(data)
    if not isinstance(data, dict):
        raise ValidationError({"body": f"Send {fields} as form fields or a JSON object."})
    return data


def known(values: Iterable[str], allowed: Sequence[str], what: str) -> None:
    """A 400 naming the first of `values` (names) that is not in `allowed`, saying it is not
    `what` ("a filter of daily_energy_by_device") and listing `allowed` (or that there is none)."""
    if unknown := sorted(set(values) - set(allowed)):
        use = f"use {', '.join(allowed)}" if allowed else "it takes none"
        raise ValidationError({unknown[0]: f"is not {what}; {use}."})


def known_query(query, allowed: Sequence[str], what: str) -> None:
    """`known` for a read's query string: a parameter not in `allowed` is a 400 naming it. DRF's
    own `?format=` (json, or api: the browsable page) is left to DRF, as everywhere."""
    known(set(query) - {api_settings.URL_FORMAT_OVERRIDE}, allowed, what)


def fields(request, allowed: Sequence[str]) -> dict[str, Any]:
    """What a POST that changes or queues something was given: the body (read with `body`) and
    the query string's parameters together, each name once (given twice, or in both, is a 400
    naming it). A name not in `allowed` is a 400 naming it: dropped, a mistyped `dryrun` or a
    `?dry_run=true` the endpoint did not read would start a real run. So is a field sent as a
    file. DRF's own `?format=` is left to DRF."""
    listed = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} and {allowed[-1]}"
    data = body(request.data, listed)
    query = once(request.query_params)
    query.pop(api_settings.URL_FORMAT_OVERRIDE, None)
    if both := sorted(set(query) & set(data)):
        raise ValidationError({both[0]: "given in the query and in the body: give it once."})
    given = {**query, **data}
    known(given, allowed, f"a field of {request.method} {request.path}")
    # A multipart part with a file name: read as its name, start=2024-01-01 would be "'start' is
    # not valid" (a restore's "Date has wrong format"), dry_run "<InMemoryUploadedFile ...>".
    if files := sorted(name for name, value in given.items() if isinstance(value, UploadedFile)):
        raise ValidationError({files[0]: "was sent as a file (a multipart part with a filename): "
                               "send it as a plain form field."})  # fmt: skip
    return given


def sent(data: dict[str, Any], name: str, expected: str, left_out: str | None = None) -> Any:
    """Field `name` of a body read with `body` (or `fields`), None when absent. Sent empty (or
    blank) or null it is a 400 naming it, saying to send `expected` and what leaving it out
    means (`left_out`; None for a field the endpoint needs, which `needed` reads): a caller who
    sent the field meant something, so it is never taken for the field left out."""
    if name not in data:
        return None
    raw = data[name]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        said = "given as null" if raw is None else "given empty"
        meant = f" (leaving {name} out means {left_out})" if left_out else ""
        raise ValidationError({name: f"{said}: send {expected}{meant}."})
    return raw


def needed(data: dict[str, Any], name: str, expected: str) -> Any:
    """Field `name` of a body read with `body` (or `fields`) that the endpoint cannot do
    without: absent, a 400 naming it as required; sent empty or null, one saying so (`sent`),
    never "required" as if it were left out."""
    raw = sent(data, name, expected)
    if raw is None:
        raise ValidationError({name: f"Required: send {expected}."})
    return raw


def flag(data: dict[str, Any], name: str, default: bool = False) -> bool:
    """A true/false field of a body read with `body`: `default` when absent; JSON true/false or
    1/0, or a word `boolean` reads. Anything else is a 400 naming it, empty and null included
    (`sent`)."""
    raw = sent(data, name, "true or false", str(default).lower())
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if type(raw) is int and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        return boolean({name: raw}, name)
    raise _bad(name, raw, "true or false")
