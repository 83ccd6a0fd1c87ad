"""Fill the entity registry from Home Assistant's InfluxDB: scan it for entities and add or
update them in the registry (kind, unit, measurement, seen times). Entities edited in the admin
keep their name, kind, area, unit, device class and tiered flag. With --ha-areas, also take each entity's area from
Home Assistant (HA_URL, HA_TOKEN). Changes to registered entities that the materialized views
read (kind, unit, area, ...) are followed by the views on the retention worker: the output
names the runs queued."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrich.influx import TimeseriesError
from enrich.management.options import not_empty, once_each
from enrich.wording import counted
from retention.entities.areas import AreaImportError, ha_access, import_ha_areas
from retention.entities.discovery import LAYOUTS, DiscoveryError, discover
from retention.tiers import density


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument(
            "--database",
            default=None,
            help=f"database to scan (default: HA_INFLUXDB_DATABASE, here "
            f"{settings.HA_INFLUXDB_DATABASE!r})",
        )
        parser.add_argument(
            "--layout",
            choices=LAYOUTS,
            default=None,
            help=f"official, ingestor, or auto to detect it (default: HA_LAYOUT, here "
            f"{settings.HA_LAYOUT!r})",
        )
        parser.add_argument(
            "--ha-areas",
            action="store_true",
            help="then import areas from Home Assistant's registries (needs HA_URL, HA_TOKEN)",
        )

    def handle(self, *args, database: str | None, layout: str | None, ha_areas: bool,
               **options) -> None:  # fmt: skip
        database = not_empty("--database", database, "an InfluxDB database's name",
                             "HA_INFLUXDB_DATABASE")  # fmt: skip
        if ha_areas:  # before anything is registered
            try:
                ha_access()
            except AreaImportError as exc:
                raise CommandError(f"--ha-areas: {exc}") from None
        try:
            report = discover(database=database, layout=layout)
            measured = density.measure_registry() if database is None else {}
        except (DiscoveryError, TimeseriesError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(report))
        sparse = sorted(e for e, per_day in measured.items() if per_day < 24)
        if measured:
            tiered = counted(len(measured), "tiered entity", "tiered entities")
            verb = "has" if len(sparse) == 1 else "have"
            self.stdout.write(
                f"States per day measured for {tiered}; {len(sparse)} {verb} fewer than 24 (their "
                "quiet days keep raw states instead of hourly rows)."
            )
        if ha_areas:
            try:
                areas = import_ha_areas(new=set(report.created_ids))
            except AreaImportError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(str(areas))
