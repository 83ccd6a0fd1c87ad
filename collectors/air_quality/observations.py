"""AirNow observation rows (both API generations) -> `air_quality` readings; no I/O.

pm25 / pm10 / ozone are AQI sub-indices (0-500, unitless), not concentrations: AirNow's
observation services report AQI values only. The overall AQI is the maximum over pollutants.
An observation with a time-zone abbreviation we do not know is skipped with a warning (its
hour cannot be placed in UTC), and so is one of an hour that starts after the fetch's now (a
bad answer, or a zone read wrong: no one observed it yet), saying which pollutant and hour;
the other observations of the answer are kept. AQI -1 means no value: that row is no
observation but a `Withdrawal` of its pollutant's value of its hour (a value of the same
pollutant, hour and area in the answer stands), with a note for the run. A pollutant with no
row at all is not withdrawn: AirNow publishes pollutants minutes apart. Nor is one whose row
gives no AQI (null, missing, or not a number: a string, true/false): that row is an
`Unvalued`, left out with a WARNING and a note, the other pollutants kept, and the value names
it (`no_value`) as not published for its hour yet. Any other AQI outside 0-`MAX_AQI`, or an
observation time InfluxDB cannot store, makes the answer malformed.
"""

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from collectors.answers import STORABLE, Answer
from enrich.http import malformed
from enrich.readings import Reading

MEASUREMENT = "air_quality"  # every AirNow point: pollutants and the overall
# The tag of what the fetch asked AirNow for (its Target.key: `zip-<code>` or `<lat>,<lon>`):
# AirNow's area names repeat across states (Columbus, Ohio and Georgia) and its current service
# names no state, so two areas of one name are told apart by the lookup that found them.
LOOKUP = "lookup"

log = logging.getLogger(__name__)

# Time zone abbreviations of the areas AirNow reports (read upper case): the US states, HDT
# the Aleutians' summer; AST Puerto Rico and the US Virgin Islands (and Atlantic Canada's
# winter, ADT its summer); NST/NDT Newfoundland; SST American Samoa; CHST Guam and the
# Northern Marianas. An unknown one skips its observation (an hour not placed in UTC).
# fmt: off
TZ_OFFSETS = {"HST": -10, "HDT": -9, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7, "MST": -7,
              "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3,
              "NST": -3.5, "NDT": -2.5, "SST": -11, "CHST": 10}
# fmt: on
# Upper AQI bound of categories 1..5 (AirNow fact sheets); above 300 is 6, Hazardous.
CATEGORY_UPPER = (50, 100, 150, 200, 300)
# The AQI scale ends at 500, but "beyond the AQI" readings (wildfire smoke) are reported up to
# ~999; more is no reading. -1 is AirNow's "no value".
MAX_AQI = 1000
NO_VALUE = -1
LAG = timedelta(hours=1)  # how far a pollutant may lag the latest hour and still count
FIELD_OF = {"PM2.5": "pm25", "PM10": "pm10", "O3": "ozone"}
ALIASES = {"OZONE": "O3"}  # the current service may name ozone so (pyairnow 1.4 maps it)


def category_number(aqi: float) -> int:
    """AQI category 1 (Good) .. 6 (Hazardous) for an AQI value."""
    return next((n for n, upper in enumerate(CATEGORY_UPPER, 1) if aqi <= upper), 6)


class UnknownTimeZone(ValueError):
    """One observation's zone abbreviation is not a known US one: that row is skipped."""


@dataclass(frozen=True)
class Observation:
    parameter: str  # "PM2.5", "PM10", "O3", ...
    aqi: float
    category: str
    number: int  # category number 1..6
    time: datetime  # aware UTC, start of the observed hour
    area: str  # reporting area


@dataclass(frozen=True)
class Withdrawal:
    """A row with AQI -1: AirNow has no value of `parameter` for the hour at `time` in `area`."""

    parameter: str
    time: datetime  # aware UTC, start of the hour
    area: str
    said: str = ""  # the note on the run, in the answer's words (set by `parse`)


@dataclass(frozen=True)
class Unvalued:
    """A row whose AQI is null, missing or not a number: `parameter` has no value of the hour at
    `time` in `area` in this answer (not yet published), its stored points kept."""

    parameter: str
    time: datetime  # aware UTC, start of the hour
    area: str
    said: str  # what the row gave, e.g. "nowcastAQI null"


def observed_at(
    day: str, hour: int, tz: str, url: str = "", where: str = "observation"
) -> datetime:
    """The UTC start of the observed hour from AirNow's local date, hour and zone abbreviation."""
    offset = TZ_OFFSETS.get(tz.strip().upper())
    if offset is None:
        raise UnknownTimeZone(f"unknown time zone {tz!r} (known: {', '.join(TZ_OFFSETS)})")
    try:
        day_start = datetime.combine(date.fromisoformat(day.strip()), datetime.min.time())
    except ValueError:
        raise malformed("airnow", url, f"{where}: date {day!r} is not YYYY-MM-DD") from None
    if not 0 <= hour <= 23:
        raise malformed("airnow", url, f"{where}: hour {hour} is not 0-23")
    local = day_start.replace(hour=hour, tzinfo=timezone(timedelta(hours=offset)))
    try:
        moment = local.astimezone(UTC)
    except OverflowError:  # 9999-12-31, late in the day
        moment = None
    if moment is None or not STORABLE[0] <= moment < STORABLE[1]:
        problem = f"date {day!r} is outside the times InfluxDB can store (1678-2261)"
        raise malformed("airnow", url, f"{where}: {problem}")
    return moment


def checked_aqi(aqi: float, key: str, url: str, where: str) -> float | None:
    """`aqi` when it is 0-MAX_AQI; None for -1 (no value); malformed, naming `key`, if not."""
    if aqi == NO_VALUE:
        return None
    if not 0 <= aqi <= MAX_AQI:
        raise malformed("airnow", url, f"{where}: {key} {aqi!r} is outside 0-{MAX_AQI}")
    return float(aqi)


Parsed = Observation | Withdrawal | Unvalued  # what a row is


def no_number(row: dict, key: str) -> str:
    """What `row[key]` gives instead of an AQI ("nowcastAQI null"), or "" when it is a JSON
    number (NaN and Infinity too, which Python's JSON reads: no AQI, the answer malformed)."""
    value = row.get(key)
    if key not in row:
        return f"{key} missing"
    if value is None:
        return f"{key} null"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{key} {value!r}, not a number"
    return ""


def parse_current(row: Any, url: str, where: str) -> Parsed:
    """A row of /aq/observation/current/ziplatlong/; a Withdrawal when its AQI is -1, an
    Unvalued when it gives none (its category not read: such a row may have none)."""
    if not isinstance(row, dict):
        raise malformed("airnow", url, f"{where} is {type(row).__name__}, not an object")
    answer = Answer("airnow", url)
    hour = answer.typed(row, "hourObserved", str, where)
    match = re.fullmatch(r"\s*(\d{1,2}):00\s*", hour)
    if not match:
        raise malformed("airnow", url, f"{where}: hourObserved {hour!r} is not HH:00")
    day, tz = (
        answer.typed(row, "dateObserved", str, where),
        answer.typed(row, "localTimeZone", str, where),
    )
    parameter = answer.typed(row, "parameterName", str, where).strip()
    area = answer.typed(row, "reportingAreaName", str, where).strip()
    when = observed_at(day, int(match[1]), tz, url, where)
    parameter = ALIASES.get(parameter.upper(), parameter)
    if said := no_number(row, "nowcastAQI"):
        return Unvalued(parameter, when, area, said)
    aqi = answer.typed(row, "nowcastAQI", (int, float), where)  # finite
    aqi = checked_aqi(aqi, "nowcastAQI", url, where)
    if aqi is None:
        return Withdrawal(parameter, when, area)
    category = answer.typed(row, "aqiCategoryName", str, where).strip()
    return Observation(parameter, aqi, category, category_number(aqi), when, area)


def parse_classic(row: Any, url: str, where: str) -> Parsed:
    """A row of the classic /aq/observation/{latLong,zipCode}/current/; a Withdrawal for -1,
    an Unvalued for no AQI (its Category not read)."""
    if not isinstance(row, dict):
        raise malformed("airnow", url, f"{where} is {type(row).__name__}, not an object")
    answer = Answer("airnow", url)
    day, tz = (
        answer.typed(row, "DateObserved", str, where),
        answer.typed(row, "LocalTimeZone", str, where),
    )
    hour = answer.typed(row, "HourObserved", int, where)
    parameter = answer.typed(row, "ParameterName", str, where).strip()
    area = answer.typed(row, "ReportingArea", str, where).strip()
    when = observed_at(day, hour, tz, url, where)
    parameter = ALIASES.get(parameter.upper(), parameter)
    if said := no_number(row, "AQI"):
        return Unvalued(parameter, when, area, said)
    aqi = checked_aqi(answer.typed(row, "AQI", (int, float), where), "AQI", url, where)
    if aqi is None:
        return Withdrawal(parameter, when, area)
    category = answer.typed(row, "Category", dict, where)
    name = answer.typed(category, "Name", str, f"{where}.Category").strip()
    number = answer.typed(category, "Number", int, f"{where}.Category")
    if not 1 <= number <= 6:
        raise malformed("airnow", url, f"{where}: Category.Number {number} is not 1-6")
    return Observation(parameter, aqi, name, number, when, area)


def parse(
    rows: list, url: str, parse_row: Callable[..., Parsed], now: datetime
) -> tuple[list[Observation], list[str], list[Withdrawal], list[Unvalued]]:
    """Valid observations, the latest one per pollutant; why rows were skipped (an unknown
    time zone, an hour starting after `now`, no AQI: logged at WARNING, the rest is kept); the
    values withdrawn (AQI -1 for an hour that has begun, and no value of it in the answer); and
    the rows with no AQI (`Unvalued`)."""
    found: list[Observation] = []
    skipped: list[str] = []
    observed: set[tuple] = set()
    withdrawn: dict[tuple, Withdrawal] = {}
    unvalued: list[Unvalued] = []
    for index, row in enumerate(rows):
        try:
            o = parse_row(row, url, f"observation {index}")
        except UnknownTimeZone as exc:
            what = f"observation {index} ({_said(row, 'parameterName')})"
            log.warning("airnow: %s skipped: %s; the other observations are kept", what, exc)
            skipped.append(f"{what}: {exc}")
            continue
        hour = " ".join(_said(row, k) for k in ("dateObserved", "hourObserved", "localTimeZone"))
        if isinstance(o, Unvalued):  # not a withdrawal: its stored points stay
            why = f"observation {index} ({o.parameter}) of {hour} left out: {o.said} (no value)"
            log.warning("airnow: %s; the other observations are kept", why)
            skipped.append(why)
            unvalued.append(o)
            continue
        if isinstance(o, Withdrawal):
            if o.time <= now:  # an hour not begun yet has no value to withdraw
                withdrawn.setdefault((o.parameter, o.time, o.area), _noted(o, hour))
            continue
        if o.time > now:  # no one has observed an hour that has not begun
            why = (
                f"observation {index} ({o.parameter}) of {hour} refused: its hour starts at "
                f"{o.time.isoformat()}, after now ({now.isoformat()})"
            )
            log.warning("airnow: %s; the other observations are kept", why)
            skipped.append(why)
            continue
        observed.add((o.parameter, o.time, o.area))
        found.append(o)
    gone = [w for key, w in withdrawn.items() if key not in observed]
    return latest(found), skipped, gone, unvalued


def latest(observations: Iterable[Observation]) -> list[Observation]:
    """The latest observation of each pollutant (of two of one hour, the higher AQI)."""
    best: dict[str, Observation] = {}
    for o in observations:
        kept = best.get(o.parameter)
        if kept is None or (o.time, o.aqi) > (kept.time, kept.aqi):
            best[o.parameter] = o
    return list(best.values())


def _noted(withdrawal: Withdrawal, hour: str) -> Withdrawal:
    """`withdrawal` with its note, its hour as the answer gave it (`hour`) and in UTC."""
    said = (
        f"{withdrawal.parameter} of {hour} withdrawn: AQI -1 (no value) for the hour starting "
        f"{withdrawal.time.isoformat()}; any point stored for it is deleted"
    )
    return replace(withdrawal, said=said)


def _said(row: dict, name: str) -> str:
    """A row's field as the answer gave it, by its current name or its classic one (HourObserved
    15 reads "15:00"), stripped."""
    value = row.get(name, row.get(name[0].upper() + name[1:], ""))
    return f"{value:02d}:00" if isinstance(value, int) else str(value).strip()


def counted(observations: list[Observation]) -> list[Observation]:
    """The observations the overall of the latest hour is made of: that hour's and, for a
    pollutant that has not reported it yet (AirNow publishes pollutants minutes apart), the
    hour's before. An older one is a stopped monitor's last (AirNow keeps answering with it)."""
    latest = max(o.time for o in observations)
    return [o for o in observations if o.time >= latest - LAG]


def overall(observations: list[Observation]) -> tuple[Observation, str, datetime]:
    """The worst pollutant, the most common reporting area (of as common ones, the worst's:
    not the order of the rows) and the latest observation time."""
    worst = max(observations, key=lambda o: o.aqi)
    counts = Counter(o.area for o in observations)
    area = max(counts, key=lambda a: (counts[a], a == worst.area))
    return worst, area, max(o.time for o in observations)


def sub_indices(observations: list[Observation]) -> dict[str, float]:
    return {FIELD_OF[o.parameter]: o.aqi for o in observations if o.parameter in FIELD_OF}


def to_readings(observations: list[Observation], provider: str, lookup: str) -> list[Reading]:
    """One "overall" point (aqi, category_number, pm25/pm10/ozone) plus one per pollutant, of
    the `lookup` (LOOKUP) that found them."""
    now = counted(observations)
    worst, area, when = overall(now)
    found = {"provider": provider, LOOKUP: lookup}
    fields = {"aqi": worst.aqi, "category_number": float(worst.number)} | sub_indices(now)
    tags = {"location": area, "category": worst.category, "parameter": "overall"}
    readings = [Reading(MEASUREMENT, fields, when, tags | found)]
    for o in observations:
        fields = {"aqi": o.aqi, "category_number": float(o.number)}
        tags = {"location": o.area, "category": o.category, "parameter": o.parameter}
        readings.append(Reading(MEASUREMENT, fields, o.time, tags | found))
    return readings


def summary(observations: list[Observation], unvalued: Iterable[Unvalued] = ()) -> dict[str, Any]:
    """The headline values for FetchResult.current (JSON-serialisable); `lagging`, when a
    pollutant counts with its hour before (not of `time` yet), names those pollutants, and
    `no_value` those left out for a row with no AQI (`unvalued`, not published yet) of `time`,
    its hour before or later (an older one is a stopped monitor's): the answer is asked for
    again once (collectors.freshness), AirNow publishing them minutes apart."""
    now = counted(observations)
    worst, area, when = overall(now)
    head = {"aqi": worst.aqi, "category": worst.category, "category_number": worst.number}
    lagging = sorted(o.parameter for o in now if o.time < when)
    missing = {u.parameter for u in unvalued if u.time >= when - LAG}
    missing -= {o.parameter for o in now}
    value = head | sub_indices(now) | {"location": area, "time": when.isoformat()}
    value |= {"no_value": sorted(missing)} if missing else {}
    return value | ({"lagging": lagging} if lagging else {})
