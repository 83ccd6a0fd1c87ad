"""The tiers' resumable bookkeeping: one `TierChunk` per tier and UTC day, what a run did
(`Outcome`), and the Redis lock a run holds while it works.

A day's chunk goes "written" -> "verified" -> "deleted" (`retention.tiers.hourly`,
`retention.tiers.daily`); a rerun skips "deleted" days and resumes the others. One lock per
tier keeps two runs of a tier apart; a run renews it between phases, days and entities and
stops (`LockLost`) before deleting more once it was lost. A scheduled run that finds it taken
raises `TierBusy` and is tried again in the same run (retention.busy, in the words of `WAITS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from enrich.redis import lock as redis_lock
from enrich.redis.lock import RunLock
from retention.busy import RunBusy, Waits
from retention.models import RetentionRun, TierChunk
from retention.tiers.safety import TierError

LOCK_TTL_SECONDS = 600


class LockLost(TierError, redis_lock.LockLost):
    """The run's Redis lock expired and could not be renewed (a task tries the run again when no
    run holds it: `enrich.redis.lock.tried_again`)."""


class TierBusy(RunBusy):
    """Another run holds the lock the scheduled run of a tier needs (retention.busy)."""


EARLIER = "earlier"  # details: what the attempts before a retry did (Outcome.as_saved)
SO_FAR = "so_far"  # details, in the run's row only: what the attempt running did (save_so_far)


@dataclass
class Outcome:
    days: list[str] = field(default_factory=list)
    entities: set[str] = field(default_factory=set)
    processed: int = 0  # source points (raw points / hourly rows) aggregated
    rows_written: int = 0
    deleted: int = 0  # source points removed
    raw_deleted: int = 0  # daily tier: raw states of sparse entities removed (among `deleted`)
    late_points: int = 0
    # hourly tier: raw points of days a run the database forgot downsampled (tiers.forgotten)
    forgotten: int = 0
    waiting: list[str] = field(default_factory=list)  # notes about work left for a later run
    # Tiered entities the hourly run leaves out (their points stay raw): id -> its first note.
    left_out: dict[str, str] = field(default_factory=dict)

    def leave_out(self, entity_id: str, note: str) -> None:
        """Note a tiered entity the run leaves out (`waiting`), for its alert too."""
        self.waiting.append(note)
        self.left_out.setdefault(entity_id, note)

    def as_saved(self) -> dict:
        """What the run's details keep of it while the run waits for its retry."""
        return {**asdict(self), "entities": sorted(self.entities)}

    @classmethod
    def saved_as(cls, saved: dict | None) -> Outcome | None:
        return None if saved is None else cls(**{**saved, "entities": set(saved["entities"])})

    def after(self, saved: dict | None) -> Outcome:
        """This attempt's outcome following what the run's earlier attempts did (`saved`, as
        `as_saved` kept it): a retry goes on in the same run, skipping the days already deleted
        and counting a verified day's points once (`retention.tiers.hourly`,
        `retention.tiers.daily`), so the run reports the sum, each day and note once."""
        earlier = Outcome.saved_as(saved)
        if earlier is None:
            return self
        counts = ("processed", "rows_written", "deleted", "raw_deleted", "late_points", "forgotten")
        return Outcome(
            days=list(dict.fromkeys([*earlier.days, *self.days])),
            entities=earlier.entities | self.entities,
            waiting=list(dict.fromkeys([*earlier.waiting, *self.waiting])),
            left_out={**self.left_out, **earlier.left_out},
            **{name: getattr(earlier, name) + getattr(self, name) for name in counts},
        )


def record(run: RetentionRun, outcome: Outcome) -> None:
    """The run's counts and details from `outcome`, what all its attempts did."""
    run.records_processed = outcome.processed
    run.records_deleted = outcome.deleted
    run.details = {
        **run.details,
        "days": outcome.days,
        "entities": len(outcome.entities),
        "rows_written": outcome.rows_written,
        "late_points": outcome.late_points,
        "waiting": outcome.waiting,
    }
    if run.operation == RetentionRun.Operation.DOWNSAMPLE_DAILY:  # sparse entities' raw states
        run.details["raw_points_deleted"] = outcome.raw_deleted
    elif outcome.forgotten:  # removed by runs the database forgot (retention.tiers.forgotten)
        run.details["raw_points_forgotten"] = outcome.forgotten


def save_so_far(run: RetentionRun, outcome: Outcome) -> None:
    """Keep what the running attempt did so far (`outcome`, after each day) in the run's row,
    not in `run`, whose own last save replaces it: a run whose process dies (SIGKILL, out of
    memory) is closed counting it (`record_earlier`); a redelivery of its task goes on counting
    on (`fold_so_far`). A delete statement the process died in is not counted."""
    details = {**run.details, SO_FAR: outcome.as_saved()}
    RetentionRun.objects.filter(pk=run.pk, status=RetentionRun.Status.RUNNING).update(
        details=details
    )


def fold_so_far(run: RetentionRun) -> None:
    """What a dead attempt saved (`save_so_far`) counted among the run's earlier attempts."""
    details = run.details or {}
    so_far = Outcome.saved_as(details.pop(SO_FAR, None))
    if so_far is not None:
        details[EARLIER] = so_far.after(details.get(EARLIER)).as_saved()
    run.details = details


def record_earlier(run: RetentionRun) -> None:
    """A run closed while it waited for its retry (the retry not queued, its message lost, its
    process dead: retention.liveness.close) or while it ran (its process dead: what it saved
    after each day, `save_so_far`): its counts from what its attempts did, which its details
    kept (a dry run's attempts count nothing there: its details are its report)."""
    fold_so_far(run)
    earlier = Outcome.saved_as(run.details.pop(EARLIER, None))
    if earlier is not None and earlier.days:
        record(run, earlier)


class DayTier:
    """What both tiers share: the UTC days in [start, end) before the horizon, one chunk a
    day, and the outcome of the run."""

    tier: str  # a TierChunk.Tier

    def __init__(self, start: date | None, end: date | None, horizon: date) -> None:
        self.horizon = horizon
        self.start = start
        self.asked_end = end
        self.end = min(end, horizon) if end else horizon
        self.outcome = Outcome()

    def days_left(self, start: date) -> list[date]:
        """The days from `start` to the end whose chunk is not "deleted" yet."""
        done = set(deleted_days(self.tier, start, self.end))
        days = (start + timedelta(days=n) for n in range((self.end - start).days))
        return [day for day in days if day not in done]

    def finish(self, lock: RunLock) -> None:
        """What the run's last days left to do (the hourly tier's held deletes)."""

    def written(self, day: date, entities: int, sources: int, rows: int, **values: object) -> None:
        """Record the day "written": how many entities, source points and rows it took."""
        values.update(entities=entities, source_points=sources, aggregate_points=rows)
        set_chunk(self.tier, day, TierChunk.State.WRITTEN, **values)


def find_chunk(tier: str, day: date) -> TierChunk | None:
    return TierChunk.objects.filter(tier=tier, day=day).first()


def set_chunk(tier: str, day: date, state: str, **values: object) -> None:
    """Record the day's `state` (and `values`), creating its chunk if need be: one statement
    (INSERT .. ON CONFLICT DO UPDATE), so fields not named keep what they hold."""
    TierChunk.objects.bulk_create(
        [TierChunk(tier=tier, day=day, state=state, **values)],
        update_conflicts=True,
        unique_fields=["tier", "day"],
        update_fields=["state", "updated", *values],
    )


def deleted_days(tier: str, start: date | None, end: date) -> list[date]:
    chunks = TierChunk.objects.filter(tier=tier, state=TierChunk.State.DELETED, day__lt=end)
    if start is not None:
        chunks = chunks.filter(day__gte=start)
    return list(chunks.order_by("day").values_list("day", flat=True))


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, last + 1) ranges."""
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return ranges


# --- The run's lock ----------------------------------------------------------------------------
def run_lock(operation: str, owner: str) -> RunLock:
    """The lock of a tier's runs (`operation`), expiring LOCK_TTL_SECONDS after each renewal."""
    return RunLock(operation, owner=owner, ttl_seconds=LOCK_TTL_SECONDS)


def lock_taken(operation: str, holder: str | None) -> str:
    """Why work that needs the lock of `operation`'s runs waits: who holds it, as the lock's
    value names them ("archive run 7 deleting ...'s rows since ..."), which is not always a run
    of that operation (the archive and an hourly run's late points take the daily tier's)."""
    label = RetentionRun.Operation(operation).label
    return f"the lock of the {label} runs is held by {holder or 'a run that just finished'}"


def still_held(*locks: RunLock) -> bool:
    """Renew the run's locks (between phases, days, entities): True, or LockLost if one was lost."""
    for lost in (lock for lock in locks if not lock.renew()):
        raise LockLost(lost.lost("stopped before deleting more"))
    return True


# What a scheduled run finding its tier's lock taken says while it waits (retention.busy).
WAITS = {
    RetentionRun.Operation.DOWNSAMPLE_HOURLY: Waits(
        task="retention.downsample_hourly",
        does="aggregates the raw points due",
        kept="Nothing is deleted meanwhile: the raw points stay in Home Assistant's database "
        "until their hourly rows are verified.",
    ),
    RetentionRun.Operation.DOWNSAMPLE_DAILY: Waits(
        task="retention.downsample_daily",
        does="composes the hourly rows due",
        kept="Nothing is lost meanwhile: the hourly tier keeps the rows due until their daily "
        "rows are verified.",
    ),
}
