from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from enrich.timeseries import TimeseriesError, get_timeseries


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
