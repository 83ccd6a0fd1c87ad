"""What the commands taking a day share: the day read as YYYY-MM-DD, refused with a message
naming the option when it is not a date or lies outside what InfluxDB can hold."""

from datetime import date

from django.core.management.base import CommandError

from enrich.time_span import SPAN, outside_span


def parse_day(option: str, text: str) -> date:
    """The day `text` given to `option` (e.g. "--start")."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or outside_span(day):
        raise CommandError(
            f"{option} {text!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-01, {SPAN}"
        )
    return day
