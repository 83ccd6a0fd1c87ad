"""The times enrich accepts from a user (API parameters, command arguments): those InfluxDB can
hold (1677..2262, int64 nanoseconds) with room for day arithmetic. A value outside is refused
where it enters, naming the parameter, instead of overflowing deep inside a query."""

from datetime import UTC, date, datetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
SPAN = "from 1900-01-01 to 2199-12-31"


def outside_span(value: date | datetime) -> bool:
    """Whether a day or an aware time lies outside EARLIEST..LATEST."""
    if isinstance(value, datetime):
        return not EARLIEST <= value < LATEST
    return not EARLIEST.date() <= value < LATEST.date()
