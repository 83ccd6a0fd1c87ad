"""What the commands taking a day share: the day read as YYYY-MM-DD, refused with a message
naming the option when it is not written so, names no day (2026-02-30) or lies outside what
InfluxDB can hold: the words the API says of the same value."""

from datetime import date

from django.core.management.base import CommandError

from enrich.api.params import Refused, as_day
from enrich.management import options


def not_empty(option: str, text: str | None) -> str | None:
    """`text` as given; an empty or blank day is refused (enrich.management.options) rather
    than read as the option left out, which would run over every day."""
    return options.not_empty(option, text, "a day as YYYY-MM-DD")


def parse_day(option: str, text: str) -> date:
    """The day `text` given to `option` (e.g. "--start"), read as the API reads one
    (enrich.api.params.as_day): a CommandError naming the option says what is wrong."""
    try:
        return as_day(option, text)
    except Refused as exc:
        raise CommandError(f"{option} {exc.text}") from None
