"""Archive what is due: write the daily aggregates older than RETENTION_DAILY_DAYS to Parquet in
the archive (S3_ARCHIVE_BUCKET, else ARCHIVE_LOCAL_DIR), verify each file, then delete the rows
from InfluxDB; expire objects older than ARCHIVE_RETENTION_YEARS. --dry-run only reports."""

import json
from datetime import UTC, date, datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from enrich.influx import TimeseriesError
from enrich.management.options import once_each
from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from enrich.wording import counted
from retention.archive.run import run_archive
from retention.archive.store import StorageError
from retention.day_ranges import RangeError, check_span
from retention.management.commands._dates import not_empty, parse_day
from retention.management.commands._redis import archive_lock_lost, redis_gone
from retention.schema import DAILY_RP

# What a run stopped by Redis out of reach or by its lock lost did that stays.
KEPT = (
    "Archiving stopped before the next step; the files archived so far are verified and kept, "
    "and no row was deleted from InfluxDB without its verified file."
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would happen; change nothing"
        )
        parser.add_argument(
            "--as-of",
            default=None,
            help="act as if today were this date (YYYY-MM-DD); a later day only with --dry-run "
            "(to preview a future run)",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, dry_run: bool, as_of: str | None, json: bool, **options) -> None:
        given = not_empty("--as-of", as_of)
        now = datetime.combine(as_of_day(given), time(), UTC) if given else None
        today = datetime.now(UTC).date()
        if now is not None and now.date() > today and not dry_run:
            # It would archive and delete rows, and expire archive objects, years early.
            raise CommandError(
                f"--as-of {given} is after today ({today}): a real run as of a later day "
                "archives and expires what is not due yet. Preview it with --dry-run."
            )
        try:
            # Without a target run_archive refuses (recorded as a failed run): no default folder.
            report = run_archive(
                now,
                dry_run=dry_run,
                # A bar on a terminal only (disable=None), on stderr so the report stays clean.
                progress=lambda items: tqdm(items, desc="archive", unit="file", disable=None),
            )
        except (StorageError, TimeseriesError) as exc:
            raise CommandError(str(exc)) from None
        except RedisUnavailable as exc:  # the archive's lock or the daily tier's (before a delete)
            raise redis_gone(exc, KEPT, "archives the rest") from None
        except LockLost as exc:  # renewed before each step and each delete: it had expired
            during, slow = "the archive run", "a step took longer"
            risk = "replace, delete or read the files this run writes"
            raise archive_lock_lost(exc, during, slow, risk, KEPT, "archives the rest") from None
        self._print(report.as_dict(), json)
        if report.errors and not dry_run:
            raise CommandError(
                f"{counted(len(report.errors), 'error')}; see above. Nothing unverified was "
                "deleted."
            )

    def _print(self, report: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        verb = "would write" if report["dry_run"] else "wrote"
        self.stdout.write(
            f"archive ({report['target']}), rows before {report['cutoff']}: {verb} "
            f"{counted(len(report['objects']), 'file')}, {counted(report['records_archived'], 'row')}"
        )
        for obj in report["objects"]:
            self.stdout.write(
                f"  {obj['key']}  {obj['start_date']}..{obj['end_date']}  "
                f"{counted(obj['record_count'], 'row')}  {obj['file_size']} bytes  ({obj['why']})"
            )
        for wait in report["waiting"]:
            self.stdout.write(f"  waiting {wait['start_date']}..{wait['end_date']}: {wait['why']}")
        for held in report["held_back"]:
            self.stdout.write(f"  held back {held['key']}: {held['why']}")
        if not report["dry_run"]:
            self.stdout.write(
                f"deleted from InfluxDB: {counted(report['records_deleted'], 'row')} of "
                f"{settings.TIER_DATABASE}/{DAILY_RP}, each once its file was verified"
            )
        for key in report["expired"]:
            self.stdout.write(f"  {'would expire' if report['dry_run'] else 'expired'} {key}")
        if report["expected_bytes_freed"] is not None:
            self.stdout.write(f"expected bytes freed in InfluxDB: {report['expected_bytes_freed']}")
        if report["lifecycle"]:
            self.stdout.write(f"lifecycle: {report['lifecycle']}")
        if report["note"]:
            self.stdout.write(report["note"])
        for warning in report["warnings"]:
            self.stderr.write(f"warning: {warning}")
        for error in report["errors"]:
            self.stderr.write(f"error: {error}")


def as_of_day(given: str) -> date:
    """The day --as-of names; one before any data (EARLIEST_DAY) is refused, as the API's
    ranges refuse it: a run as of 1990 archives and expires nothing."""
    day = parse_day("--as-of", given)
    try:
        check_span(day, None, end_inclusive=False, names=("--as-of", "--as-of"))
    except RangeError as exc:
        raise CommandError(f"--as-of {exc}") from None
    return day
