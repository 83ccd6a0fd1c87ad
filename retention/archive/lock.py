"""The archive's lock: one archive run, index rebuild or restore at a time (an enrich.redis
RunLock). A restore holds it too (into InfluxDB, or into a file with `restore_from_archive
--output`): an archive run beside it could replace (a merge) or delete (an expiry) a file the
restore has listed, which it would then find changed or missing. So does an hourly run reading
an archived day's row for its late points (`retention.tiers.archived`), until it has written
the corrected row.

It expires after LOCK_SECONDS, so a killed run's lock frees itself; a live run renews it
(`renew()`) between every phase and step, planning included, so it never expires under it.
`renew()` raises LockLost when the lock was lost meanwhile: the run stops instead of working
beside another. A dry run takes no lock (`take=False`): the scheduled run never waits for it.
Its value names the holder ("archive run 7", "restore run 12", "restore to the file x.parquet",
"index rebuild"); what an archive run that finds it taken does: `retention.busy`, in the words
of `WAITS` and `lock_held()`. Nothing is lost meanwhile: the daily tier keeps every row until an
archive run has verified its file (its retention policy is INF, or long enough:
retention.tiers.safety).

Redis out of reach (taking or renewing the lock, or the daily tier's, or any other step under the
lock) raises `RedisUnavailable` (a Transient error), not the client's own ConnectionError: the
task tries the run again, and fails it at once, saying so, when its retry cannot be queued either
(the broker is that Redis too: retention.task_records). A lock that cannot be released expires.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from enrich.redis.client import reachable
from enrich.redis.lock import RunLock, lock_key
from retention.busy import Waits
from retention.models import RetentionRun
from retention.tiers.chunks import lock_taken, run_lock

LOCK_SECONDS = 900
NAME = ("retention", "archive")
DAILY_WAIT_SECONDS = 120.0
LOCK = "The archive's lock"  # what Redis out of reach leaves the run without
DAILY_LOCK = f"The lock of the {RetentionRun.Operation.DOWNSAMPLE_DAILY.label} runs"
# What an archive run finding the lock taken says (retention.busy).
WAITS = Waits(
    task="retention.archive",
    does="archives what is due",
    kept="Nothing is lost meanwhile: the daily tier keeps the rows due until an archive run has "
    "verified their file.",
)


def archive_run_lock(owner: str) -> RunLock:
    """The lock itself, its value naming `owner` ("archive run 7", "index rebuild", ...)."""
    return RunLock(*NAME, owner=owner, ttl_seconds=LOCK_SECONDS)


def archive_lock_key() -> str:
    return lock_key(*NAME)


class ArchiveLock:
    """What a run holds; a dry run's holds no lock and renews nothing."""

    def __init__(self, lock: RunLock | None) -> None:
        self._lock = lock

    def renew(self) -> None:
        """Back to a full LOCK_SECONDS; LockLost when another run holds it now."""
        if self._lock is not None:
            with reachable(LOCK):
                self._lock.keep()


def archive_lock_holder() -> str:
    """Who holds the lock ("archive since 2026-...", "restore run 12 since ..."), or ""."""
    return RunLock(*NAME).holder() or ""


def lock_held() -> str:
    """What a run finding it taken says: "the archive's lock is held by restore run 12 since ..."."""
    return f"the archive's lock is held by {archive_lock_holder() or 'another run'}"


def waits_for(who: str, why: str) -> str:
    """What a run that needs the archive's lock and finds it taken says, whoever holds it:
    `who` waits for it (`why`: what could happen to the files without it)."""
    return f"{lock_held()}: {who} waits for it ({why})"


@contextmanager
def archive_lock(*, take: bool = True, owner: str = "archive") -> Iterator[ArchiveLock | None]:
    """The run's lock (None when another run holds it); with take=False nothing is locked."""
    if not take:
        yield ArchiveLock(None)
        return
    lock = archive_run_lock(owner)
    with reachable(LOCK), lock.taken() as mine:  # released quietly: else it expires
        yield ArchiveLock(lock) if mine else None


@contextmanager
def daily_writes_paused(owner: str) -> Iterator[str | None]:
    """Hold the daily tier's lock while the archive checks a file's rows once more and deletes
    them: its runs, and an hourly run folding late points into daily rows, write daily rows
    only under it, and one written between that check and the delete would go unarchived.
    Yields None while held, or, when another still holds it after DAILY_WAIT_SECONDS, who
    (`lock_taken`: "the lock of the hourly -> daily runs is held by ...")."""
    daily = RetentionRun.Operation.DOWNSAMPLE_DAILY
    lock = run_lock(daily, owner=owner)
    with reachable(DAILY_LOCK):
        held = None if lock.acquire(wait_seconds=DAILY_WAIT_SECONDS) else lock.holder()
    if not lock.held:
        yield lock_taken(daily, held)
        return
    try:
        yield None
    finally:
        lock.release_quietly()
