"""manage.py rebuild_view <name> --start YYYY-MM-DD --end YYYY-MM-DD"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrich.influx import TimeseriesError
from enrich.time_span import SPAN, outside_span
from retention.day_ranges import check_span
from retention.management.commands.refresh_views import _describe
from retention.rollups.materialized import VIEWS, rebuild_view


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or outside_span(day):
        raise CommandError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-01, {SPAN}")
    return day


class Command(BaseCommand):
    help = (
        "Recompute a materialized view for the local days START..END (both included), from "
        "raw data or, where retention replaced it, the hourly tier. Recorded as a "
        "view_refresh run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=list(VIEWS))
        parser.add_argument("--start", required=True, help="first local day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last local day, YYYY-MM-DD")

    def handle(self, *args, name: str, start: str, end: str, **options) -> None:
        first, last = _day(start), _day(end)
        try:
            check_span(first, last, end_inclusive=True, limited=False)
            run = rebuild_view(name, first, last)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except TimeseriesError as exc:
            raise CommandError(f"{name}: the source data cannot be read: {exc}") from None
        self.stdout.write(_describe(run))
