"""Refresh the materialized views incrementally, now: recompute the buckets from the last
refresh minus VIEW_LATE_MARGIN_HOURS (daily_carbon_summary: 24 hours at least) to now (the
first refresh reads all history). A row it would read from fewer source points than the stored
row was built from (InfluxDB did not return them all) is kept and named, as rebuild_view keeps
it."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from enrich.wording import counted, listed
from retention.management.commands._redis import redis_gone, view_locks_lost
from retention.models import RetentionRun
from retention.rollups.materialized import VIEWS
from retention.rollups.refresh import in_turn


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("views", nargs="*", help=f"any of {', '.join(VIEWS)} (default: all)")

    def handle(self, *args, views: list[str], **options) -> None:
        unknown = [name for name in views if name not in VIEWS]
        if unknown:
            raise CommandError(
                f"unknown view{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                f"use {', '.join(VIEWS)}"
            )
        if twice := sorted({name for name in views if views.count(name) > 1}):
            # Each would be refreshed once more, from the watermark the first refresh just set.
            raise CommandError(f"{', '.join(twice)} named twice: name each view once.")
        names = views or list(VIEWS)
        done: list[str] = []
        lost: dict[str, LockLost] = {}  # the views whose lock another run took: the rest go on
        for turn in in_turn(names):  # retention.rollups.refresh, as the beat's refresh
            name, exc = turn.view, turn.error
            if isinstance(exc, LockLost):  # another run took it once it expired: it is that run's
                lost[name] = exc
            elif turn.stops:  # Redis or InfluxDB: its run names the views not refreshed
                kept = _not_refreshed([*lost, name], done, turn.left)
                if isinstance(exc, RedisUnavailable):  # the view's lock: taken, or checked
                    raise redis_gone(exc, kept, "refreshes the views") from None
                raise CommandError(
                    f"{name}: the source data cannot be read: {str(exc).rstrip('.')}. {kept} "
                    "Run this command again once InfluxDB answers: it refreshes the views."
                ) from None
            elif exc is not None:
                raise exc
            else:
                done.append(name)
                self.stdout.write(_describe(turn.run))
        if lost:  # each lock named, who holds it now
            kept = _not_refreshed(list(lost), done, [])
            raise view_locks_lost(lost, "the refresh", kept, "refreshes the views")


def _not_refreshed(failed: list[str], done: list[str], left: list[str]) -> str:
    """What a refresh of the views kept: the views `failed` (nothing of them written), the views
    `done`, and the views `left`, which it stopped before trying."""
    said = (
        f"{listed(failed)} was not refreshed: nothing of it was written and its watermark is kept."
        if len(failed) == 1
        else f"{listed(failed)} were not refreshed: nothing of them was written and their "
        "watermarks are kept."
    )
    if done:
        said += f" {listed(done)} {'was' if len(done) == 1 else 'were'} refreshed."
    if len(left) == 1:
        said += f" {left[0]} was not tried: it keeps its rows and watermark."
    elif left:
        said += f" {listed(left)} were not tried: they keep their rows and watermarks."
    return said


# What a view read, in words: an entity's stretch of data from one place
# (retention.rollups.inputs), or the carbon points of the window.
READ_FROM = {
    "raw": "raw states",
    "hourly": "hourly rows",
    "daily": "daily rows",
    "unavailable": "daily rows it cannot split into local days",
}


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _read(sources: dict[str, int]) -> str:
    """`sources` {"raw": 6, "hourly": 2} as "raw states (6 stretches) and hourly rows (2
    stretches)"; the carbon view's {"points": 96}: "96 carbon points"; "nothing" for none."""
    parts = [
        counted(n, "carbon point") if source == "points" else
        f"{READ_FROM.get(source, source)} ({counted(n, 'stretch', 'stretches')})"
        for source, n in sources.items()
    ]  # fmt: skip
    return listed(parts) or "nothing"


def _describe(run) -> str:
    details = run.details
    if run.status == "skipped":
        return f"{details['view']}: skipped: {run.errors}"
    since = "all history" if run.range_start is None else _utc(run.range_start)
    line = (
        f"{details['view']}: {counted(run.records_processed, 'row')} written "
        f"({details.get('partial_rows', 0)} partial) in {run.duration_seconds:.1f} s, "
        f"from {since} to {_utc(run.range_end)}; read {_read(details.get('sources', {}))}"
    )
    if details.get("edits_run"):
        edits = RetentionRun.objects.get(pk=details["edits_run"])
        line += (
            f"\n  entity edits followed in run {edits.pk}: {edits.get_status_display()}, "
            f"{counted(edits.records_processed, 'row')} written, {edits.records_deleted:,} deleted"
            + (f" ({edits.errors})" if edits.errors else "")
        )
    if details.get("skipped_count"):
        line += f"\n  skipped ({details['skipped_count']:,}):\n  " + "\n  ".join(
            details["skipped"][:10]
        )
    return line
