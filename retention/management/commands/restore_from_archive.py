"""Restore the archived daily aggregates of START..END (dates, both inclusive) into the
InfluxDB database RESTORE_INFLUXDB_DATABASE (measurement entity_aggregates), or with --output
into one Parquet file."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from enrich.influx import TimeseriesError
from retention.archive.errors import ArchiveError
from retention.archive.format import to_parquet
from retention.archive.restore import restore_from_archive, restore_to_influxdb
from retention.archive.store import StorageError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("start_date", help="first day, YYYY-MM-DD")
        parser.add_argument("end_date", help="last day (inclusive), YYYY-MM-DD")
        parser.add_argument(
            "--database",
            default=None,
            help=f"InfluxDB database to write to (default RESTORE_INFLUXDB_DATABASE, here "
            f"{settings.RESTORE_INFLUXDB_DATABASE!r})",
        )
        parser.add_argument(
            "--output", type=Path, default=None, help="write a Parquet file instead of InfluxDB"
        )

    def handle(self, *args, start_date: str, end_date: str, database: str | None,
               output: Path | None, **options) -> None:  # fmt: skip
        def progress(items):
            return tqdm(items, desc="restore", unit="file", disable=None)

        try:
            if output is not None:
                table = restore_from_archive(start_date, end_date, progress=progress)
                output.write_bytes(to_parquet(table, settings.ARCHIVE_COMPRESSION))
                self.stdout.write(f"{table.num_rows} rows written to {output}")
                return
            report = restore_to_influxdb(start_date, end_date, database, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except (StorageError, TimeseriesError, ArchiveError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{report.records} rows of {report.start_date}..{report.end_date} from "
            f"{len(report.objects)} archive file(s) written to InfluxDB database "
            f"{report.database!r} (measurement entity_aggregates)"
        )
