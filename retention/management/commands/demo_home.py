"""Write N days of synthetic Home Assistant data (power, energy, motion, temperature, weather;
official InfluxDB integration layout) into a demo InfluxDB database, to try enrich without Home
Assistant. Refuses the database HA_INFLUXDB_DATABASE names."""

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from enrich.influx import TimeseriesError, get_timeseries
from enrich.management.options import once_each
from enrich.numerals import whole_option
from enrich.readings import Reading
from enrich.time_span import SPAN, outside_span
from enrich.wording import counted
from retention.demo import MIN_ENTITIES, generate_demo_home, plan_entities

MAX_DAYS = 3660  # ten years
MAX_ENTITIES = 1000


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument(
            "--days",
            type=whole_option,
            default=7,
            help=f"days of history (default 7, at most {MAX_DAYS})",
        )
        parser.add_argument(
            "--entities",
            type=whole_option,
            default=12,
            help=f"number of entities, {MIN_ENTITIES} to {MAX_ENTITIES} (default 12)",
        )
        parser.add_argument(
            "--database",
            default=None,
            help="target database; its name must contain 'demo' (default: "
            f"DEMO_INFLUXDB_DATABASE, here {settings.DEMO_INFLUXDB_DATABASE!r})",
        )
        parser.add_argument("--seed", type=whole_option, default=42, help="same seed, same data")
        parser.add_argument(
            "--end",
            default=None,
            help="end of the data, ISO 8601 (e.g. 2024-05-01T00:00:00+00:00; without an "
            "offset it is read in TIME_ZONE); default: now, to the minute",
        )
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="drop the demo database first, so only this run's points are in it",
        )

    def handle(self, *args, days: int, entities: int, database: str | None, seed: int,
               end: str | None, fresh: bool, **options) -> None:  # fmt: skip
        # Every check before the first write (with --fresh, before the drop).
        database = settings.DEMO_INFLUXDB_DATABASE if database is None else database
        check_demo_database(database)
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days {days}: give from 1 to {MAX_DAYS} days of history.")
        if entities > MAX_ENTITIES:
            raise CommandError(f"--entities {entities}: at most {MAX_ENTITIES} entities.")
        try:
            plan = plan_entities(entities)
        except ValueError as exc:
            raise CommandError(f"--entities {entities}: {exc}.") from None
        end_time = parse_end(end)
        if outside_span(end_time) or outside_span(end_time - timedelta(days=days)):
            raise CommandError(
                f"--end {end_time.isoformat()} with --days {days}: the history must lie {SPAN}."
            )

        ts = get_timeseries()
        counts: Counter[str] = Counter()
        entity_ids: dict[str, set[str]] = {}
        first: datetime | None = None
        last: datetime | None = None

        def tally(readings: Iterable[Reading]) -> Iterator[Reading]:
            nonlocal first, last
            for reading in readings:
                counts[reading.measurement] += 1
                entity_ids.setdefault(reading.measurement, set()).add(reading.tags["entity_id"])
                first = reading.time if first is None else min(first, reading.time)
                last = reading.time if last is None else max(last, reading.time)
                yield reading

        try:
            if fresh:
                ts.drop_database(database)
            ts.create_database(database)
            written = ts.write(database, tally(generate_demo_home(days, entities, end_time, seed)))
        except TimeseriesError as exc:
            raise CommandError(f"Writing the demo home to {database!r} failed: {exc}") from None

        self.stdout.write(
            f"Wrote {counted(written, 'point')} to InfluxDB database {database!r} at {ts.url} "
            f"(seed {seed}).\n"
            f"  {counted(plan.total, 'entity', 'entities')}: "
            f"{counted(plan.power, 'power sensor')}, {counted(plan.energy, 'energy meter')}, "
            f"{counted(plan.motion, 'motion sensor')}, "
            f"{counted(plan.temperature, 'temperature sensor')}, "
            f"{counted(plan.weather, 'weather entity', 'weather entities')}\n"
            f"  requested: {counted(days, 'day')} up to {end_time.isoformat()}\n"
            f"  points from {first.isoformat()} to {last.isoformat()}\n"
            f"  {'measurement':<36} {'entities':>8} {'points':>8}"
        )
        for measurement in sorted(counts):
            self.stdout.write(
                f"  {measurement:<36} {len(entity_ids[measurement]):>8} {counts[measurement]:>8}"
            )
        self.stdout.write(f"  {'total':<36} {plan.total:>8} {written:>8}")


def check_demo_database(database: str) -> None:
    """Refuse any database that is not plainly a demo one: never touch the user's HA data."""
    if not database or database != database.strip() or not database.isprintable():
        raise CommandError(
            f"--database {database!r}: give a name without spaces at its ends or control "
            "characters (a newline, a tab), e.g. "
            f"{settings.DEMO_INFLUXDB_DATABASE!r} (the default)."
        )
    if database == settings.HA_INFLUXDB_DATABASE:
        refused = f"Refusing to write demo data into {database!r}: HA_INFLUXDB_DATABASE names it "
        if database != settings.DEMO_INFLUXDB_DATABASE:
            raise CommandError(
                f"{refused}as your Home Assistant data. Pick a demo database instead, e.g. "
                f"--database {settings.DEMO_INFLUXDB_DATABASE} (the default, set by "
                "DEMO_INFLUXDB_DATABASE)."
            )
        # The whole system kept on the demo (docs/deployment.md): the default is refused too.
        raise CommandError(
            f"{refused}as the data enrich reads (DEMO_INFLUXDB_DATABASE names it too). To add "
            "demo data there on purpose, give this run another HA_INFLUXDB_DATABASE: "
            "HA_INFLUXDB_DATABASE=home_assistant .venv/bin/python manage.py demo_home ...; or "
            f"write into another demo database, e.g. --database {database}_2."
        )
    if "demo" not in database.lower():
        default = settings.DEMO_INFLUXDB_DATABASE
        if database == default:  # the default the other name would have been
            other = f", or set DEMO_INFLUXDB_DATABASE (which names it) to e.g. {database}_demo"
        elif "demo" in default.lower():
            other = f" or the default {default!r}"
        else:
            other = ""
        raise CommandError(
            f"Refusing to write demo data into {database!r}: a demo database's name must contain "
            f"'demo', so it cannot be mistaken for real data. Use e.g. --database {database}_demo"
            f"{other}."
        )


def parse_end(text: str | None) -> datetime:
    if text is None:
        return timezone.now().replace(second=0, microsecond=0)
    try:
        end = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--end {text!r} is not an ISO 8601 date-time; use e.g. 2024-05-01T00:00:00+00:00."
        ) from None
    if timezone.is_naive(end):
        end = timezone.make_aware(end)  # TIME_ZONE, as the help says
    return end
