"""After losing the database: list archives/ in the archive store (S3_ARCHIVE_BUCKET, else
ARCHIVE_LOCAL_DIR) and index every Parquet file that has no ArchiveObject row, after checking its
SHA-256, rows and days, so restore finds it again. Existing rows are left alone."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from enrich.influx import TimeseriesError
from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from enrich.wording import counted
from retention.archive.errors import ArchiveError
from retention.archive.index import rebuild_index
from retention.archive.store import StorageError
from retention.management.commands._redis import archive_lock_lost, redis_gone

# What a rebuild stopped by Redis out of reach or by its lock lost did that stays.
KEPT = "Indexing stopped before the next file; the files indexed so far are verified and kept."


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check and report what would be indexed; write nothing",
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        try:
            report = rebuild_index(
                dry_run=dry_run,
                # A bar on a terminal only (disable=None), on stderr so the report stays clean.
                progress=lambda items: tqdm(items, desc="index", unit="file", disable=None),
            )
        except (StorageError, TimeseriesError, ArchiveError) as exc:
            raise CommandError(str(exc)) from None
        except RedisUnavailable as exc:  # the archive's lock: before it is taken, or between files
            raise redis_gone(exc, KEPT, "indexes the rest") from None
        except LockLost as exc:  # renewed before each file and each row: it had expired
            during, slow = "the index rebuild", "a file took longer to check"
            risk = "replace, delete or read the files this run indexes"
            raise archive_lock_lost(exc, during, slow, risk, KEPT, "indexes the rest") from None
        verb = "would index" if dry_run else "indexed"
        self.stdout.write(
            f"archive index ({report.target}: {report.location}): {verb} "
            f"{counted(len(report.indexed), 'file')}, {len(report.already_indexed)} already indexed, "
            f"{len(report.refused)} refused"
        )
        for obj in report.indexed:
            left = obj["rows_in_daily_tier"]
            source = (
                f"{counted(left, 'row')} still in the daily tier (the next archive run checks and "
                f"deletes {'it' if left == 1 else 'them'})"
                if left
                else "no rows left in the daily tier"
            )
            self.stdout.write(
                f"  {obj['key']}  {obj['start_date']}..{obj['end_date']}  "
                f"{counted(obj['record_count'], 'row')}  {obj['file_size']} bytes  {source}"
            )
        for refused in report.refused:
            self.stderr.write(f"refused {refused['key']}: {refused['why']}")
        if report.refused and not dry_run:
            raise CommandError(
                f"{counted(len(report.refused), 'file')} not indexed; see above. Restore cannot "
                f"find {'it until it is' if len(report.refused) == 1 else 'them until they are'} "
                "fixed and this command is run again."
            )
