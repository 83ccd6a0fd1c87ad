"""What the commands taking a day share: the day read as YYYY-MM-DD, refused with a message
naming the option when it is not a date or lies outside what InfluxDB can hold."""

from datetime import date

from django.core.management.base import CommandError

from enrich.time_span import SPAN, outside_span
from retention.day_ranges import ISO_DAY


def not_empty(option: str, text: str | None) -> str | None:
    """`text` as given; an empty or blank value (an unset shell variable, say) is refused
    rather than read as the option left out, which would run over every day."""
    if text is not None and not text.strip():
        raise CommandError(f"{option} {text!r} is empty: give a day as YYYY-MM-DD, or leave "
                           f"{option} out.")  # fmt: skip
    return text


def parse_day(option: str, text: str) -> date:
    """The day `text` given to `option` (e.g. "--start"), YYYY-MM-DD only (`ISO_DAY`)."""
    try:
        day = date.fromisoformat(text) if ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None or outside_span(day):
        raise CommandError(
            f"{option} {text!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-01, {SPAN}"
        )
    return day
