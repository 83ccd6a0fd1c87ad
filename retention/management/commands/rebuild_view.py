"""Recompute a materialized view for the local days START..END (both included), from raw data
or, where retention replaced it, the hourly tier, or the daily tier for a local day that is a
whole UTC day (other days only a daily row covers are skipped and named). A row the rebuild
reads from fewer source points than the stored row was built from (InfluxDB did not return
them all), or a day it reads on across days read from fewer, is kept and named, unless
--allow-fewer-points. Recorded as a view_refresh run."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrich.influx import TimeseriesError
from enrich.management.options import once_each
from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from retention.day_ranges import RangeError, check_span, rebuild_bounds
from retention.management.commands._dates import parse_day
from retention.management.commands._redis import redis_gone, view_lock_lost
from retention.management.commands.refresh_views import _describe
from retention.rollups.materialized import VIEWS, rebuild_view

NOTHING = "Nothing was written: the rows of the range are as they were."


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument("name", choices=list(VIEWS))
        parser.add_argument("--start", required=True, help="first local day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last local day, YYYY-MM-DD")
        parser.add_argument(
            "--allow-fewer-points",
            action="store_true",
            help="replace rows with ones read from fewer source points than they were built "
            "from, or read on across days read from fewer (the points were deleted on "
            "purpose); without it such rows are kept and named",
        )

    def handle(
        self, *args, name: str, start: str, end: str, allow_fewer_points: bool, **options
    ) -> None:
        first, last = parse_day("--start", start), parse_day("--end", end)
        named, now = ("--start", "--end"), datetime.now(UTC)
        try:
            check_span(first, last, end_inclusive=True, limited=False, names=named)
            rebuild_bounds(first, last, now, named)  # in the words of the command's options
            run = rebuild_view(name, first, last, now=now, allow_fewer_points=allow_fewer_points)
        except RangeError as exc:
            raise CommandError(f"{exc.parameter} {exc}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except LockLost as exc:  # another run took it once it expired
            raise view_lock_lost(exc, name, "the rebuild", NOTHING, "rebuilds the range") from None
        except TimeseriesError as exc:
            raise CommandError(f"{name}: the source data cannot be read: {exc}") from None
        except RedisUnavailable as exc:  # the view's lock: taken, or checked before writing
            raise redis_gone(exc, NOTHING, "rebuilds the range") from None
        self.stdout.write(_describe(run))
