"""What `downsample_hourly` and `downsample_daily` share: options, progress bar, output."""

import sys
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrich.influx import InfluxUnavailable
from enrich.management.options import once_each
from enrich.redis.client import RedisUnavailable
from retention.day_ranges import RangeError
from retention.management.commands._dates import not_empty
from retention.management.commands._redis import lock_lost, redis_gone
from retention.models import RetentionRun
from retention.tiers.chunks import LOCK_TTL_SECONDS, LockLost
from retention.tiers.runner import LOCK
from retention.tiers.safety import check_range
from retention.tiers.summary import counts, summary


class DownsampleCommand(BaseCommand):
    operation: str = ""
    function: Callable[..., RetentionRun]

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument("--start", help="first UTC day, YYYY-MM-DD (default: oldest data)")
        parser.add_argument(
            "--end", help="UTC day to stop before, YYYY-MM-DD, exclusive (default: the horizon)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="report what would be aggregated and deleted and the space expected back; "
            "change nothing",
        )

    def handle(self, *args, start: str | None, end: str | None, dry_run: bool, **options):
        try:
            first, stop = check_range(
                self.operation, not_empty("--start", start), not_empty("--end", end)
            )
        except RangeError as exc:
            raise CommandError(f"--{exc.parameter}: {exc}") from None
        bar = None
        progress = None
        if self.stdout.isatty():
            from tqdm import tqdm

            def progress(done: int, total: int, label: str) -> None:
                nonlocal bar
                if bar is None:
                    bar = tqdm(total=total, unit="day", file=sys.stderr, desc=self.operation)
                bar.set_postfix_str(label)
                bar.update(done - bar.n)

        # The run is the command's: stopped part-way, its record tells what it did so far.
        run = RetentionRun(operation=self.operation, started=datetime.now(UTC))
        try:
            run = type(self).function(first, stop, dry_run=dry_run, progress=progress, run=run)
        except InfluxUnavailable as exc:
            raise CommandError(
                f"{exc} {_so_far(run)} Nothing unverified was deleted; run the command again "
                "when InfluxDB is back (it resumes where it stopped)."
            ) from None
        except RedisUnavailable as exc:  # the tier's lock, taken or renewed between steps
            raise redis_gone(exc, f"{_so_far(run)} {KEPT}", "resumes where it stopped") from None
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(summary(run))
        if dry_run:
            details = run.details
            for day in details.get("days", []):
                count = day.get("raw_points", day.get("hourly_rows"))
                kept = day.get("kept_raw_points")
                self.stdout.write(
                    f"  {day['day']}: {count:,}" + (f" ({kept:,} kept raw)" if kept else "")
                )
            for source in (details, details.get("kept_raw") or {}):
                if source.get("bytes_per_point"):
                    self.stdout.write(
                        f"measured {source['bytes_per_point']:.1f} bytes per point in "
                        f"{source['source']}"
                    )
            if details.get("expected_freed_bytes"):
                self.stdout.write(f"expected back: {details['expected_freed_bytes'] / 1e6:.2f} MB")
        if run.status in (RetentionRun.Status.FAILED,):
            raise _lost(run) or CommandError(run.errors or "the run failed")


# What a run stopped by Redis out of reach or by its lock lost did that stays.
KEPT = "Nothing unverified was deleted; the days done so far stay done."
LOST = f"{LockLost.__name__}: "  # how the run records it (retention.tiers.runner)


def _so_far(run: RetentionRun) -> str:
    """What the run stopped part-way did before, as its record counts it (the summary line of
    a run that returned says it too)."""
    if run.pk is None:  # stopped before it was recorded
        return "Nothing was done."
    return f"Before it stopped, {run.get_operation_display()} run {run.pk} did: {counts(run)}."


def _lost(run: RetentionRun) -> CommandError | None:
    """The paragraph of a run its lock's loss stopped (renewed between steps: one outlasted its
    expiry and another run took it), else None."""
    if not run.errors.startswith(LOST):
        return None
    slow = f"a step took longer than the lock's {LOCK_TTL_SECONDS // 60} minutes"
    risk = "may write or delete the same rows"
    during = f"the {run.get_operation_display()} run"
    rest = "resumes where it stopped"
    return lock_lost(LOCK, run.errors.removeprefix(LOST), during, slow, risk, KEPT, rest)
