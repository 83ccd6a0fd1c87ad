from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from enrich.influx import TimeseriesError, get_timeseries


class Command(BaseCommand):
    help = "Check the InfluxDB version against INFLUXDB_VERSION and create the databases enrich writes to."

    def handle(self, *args, **options):
        ts = get_timeseries()
        try:
            ts.check_version()
            version = ts.ping()
            ts.create_database(settings.INFLUXDB_DATABASE)
        except TimeseriesError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"InfluxDB {version} at {settings.INFLUXDB_URL}: database {settings.INFLUXDB_DATABASE!r} ready."
        )
        # Retention must never let InfluxDB drop data that was not downsampled yet: say so at
        # start (the tier runs themselves refuse to run while a problem stands).
        from retention.tiers.safety import check_retention_policies

        try:
            problems = check_retention_policies()
        except TimeseriesError as exc:
            problems = [f"retention policies could not be checked: {exc}"]
        for problem in problems:
            self.stderr.write(f"WARNING retention: {problem}")
