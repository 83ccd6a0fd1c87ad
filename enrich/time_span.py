"""The times enrich accepts from a user (API parameters, command arguments): those InfluxDB can
hold (1677..2262, int64 nanoseconds) with room for day arithmetic. A value outside is refused
where it enters, naming the parameter, instead of overflowing deep inside a query. Durations in
hours that a plan uses are whole minutes (`whole_minutes`). A week date names a week its year
has (`week_problem`). Home Assistant's REST API is given a time to the whole second in UTC
(`ha_time`)."""

import math
import re
from datetime import UTC, date, datetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
SPAN = "from 1900-01-01 to 2199-12-31"
# An ISO 8601 week date (2026-W53-5T06:00Z). Django's parse_datetime gives None, as for a value
# in no form it reads, for one naming a week its year lacks (2027-W53: 2026 has 53, 2027 52).
WEEK_DATE = re.compile(r"([0-9]{4})-?W([0-9]{2})(?:-?([0-9]))?(?:T|$)")


def outside_span(value: date | datetime) -> bool:
    """Whether a day or an aware time lies outside EARLIEST..LATEST."""
    if isinstance(value, datetime):
        return not EARLIEST <= value < LATEST
    return not EARLIEST.date() <= value < LATEST.date()


def whole_minutes(hours: float) -> int | None:
    """`hours` as a whole number of minutes, within half a second (0.3333 is 20 minutes), or
    None when it is none: plans are made in whole minutes (API `hours`, a flexible load's hours,
    MQTT_CHEAPEST_WINDOW_HOURS)."""
    if not math.isfinite(hours):
        return None
    minutes = round(hours * 60)
    return minutes if abs(hours * 3600 - minutes * 60) <= 0.5 else None


def week_problem(raw: str, example: str) -> str | None:
    """What a time written with a week date that names no week should be: one its year has
    (days 1 to 7 of it), e.g. `example`, or, in a year outside the span, one within it; None
    for any other value."""
    if not (week := WEEK_DATE.match(raw)):
        return None
    year = int(week[1])
    if not EARLIEST.year <= year < LATEST.year:
        return f"a time {SPAN}"
    weeks = date(year, 12, 28).isocalendar().week  # 28 December lies in the year's last week
    if 1 <= int(week[2]) <= weeks and week[3] not in ("0", "8", "9"):
        return None
    return f"a time that exists (a week of its year: {year} has weeks 01 to {weeks}, days 1 to 7), e.g. {example}"  # fmt: skip


def ha_time(moment: datetime) -> str:
    """`moment` as Home Assistant's history API takes it: UTC, to the whole second
    (2026-12-08T01:00:00+00:00)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
