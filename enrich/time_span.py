"""The times enrich accepts from a user (API parameters, command arguments): those InfluxDB can
hold (1677..2262, int64 nanoseconds) with room for day arithmetic. A value outside is refused
where it enters, naming the parameter, instead of overflowing deep inside a query. Durations in
hours that a plan uses are whole minutes (`whole_minutes`)."""

import math
from datetime import UTC, date, datetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
SPAN = "from 1900-01-01 to 2199-12-31"


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
