"""One refresh or rebuild per materialized view at a time: an enrich.redis RunLock per view.

A thread of the process holding it renews it while the run lives (`RunLock.kept_alive`):
`manage.py refresh_views` and `rebuild_view` run in the command's own process with no time
limit, so no expiry could outlive every live run. After a killed run it frees itself within
its expiry, 5 minutes after the longest hard time limit of the view tasks (the refresh, the
rebuild and the follow-up of entity edits).

A run that finds the view busy does nothing and is recorded "skipped" (`skipped`). Before it
writes, a run makes sure it still holds the lock (`ViewLock.keep`: the renewal thread only logs
what it cannot renew); one another run took once it expired is `LockLost` (naming that run),
nothing written, the run failed saying when the work comes next (`failure`). A lock whose key
was gone (a Redis restarted without it) is taken again, unless another run of the view held it
meanwhile and wrote (a run that started since the lock was taken, made sure of the lock before
writing, `details.held_lock`, and has ended): then it is `LockLost` too, naming that run, so
rows read before that run wrote newer ones never replace them. A run that failed before it took
the lock (Redis out of reach) or before it wrote (InfluxDB out of reach) wrote nothing: it does
not count.
Redis out of reach, as the run takes the lock or makes sure of it, raises `RedisUnavailable` (a
Transient error naming REDIS_URL), not the client's own ConnectionError, and the run is
recorded failed: nothing written, the view's watermark not moved, its errors saying when the
work comes next (`failure`). So a run the API or an edit queued never stays "running", and no
run cut off from Redis, or whose lock another run holds, writes its rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from django.conf import settings

from enrich.influx import TimeseriesError
from enrich.redis.client import RedisUnavailable, reachable
from enrich.redis.lock import NO_HOLDER, LockLost, RunLock, lock_key
from enrich.wording import listed
from retention.busy import Waits, comes_next
from retention.models import RetentionRun

logger = logging.getLogger(__name__)

LOCK_SECONDS = (
    max(
        settings.TASK_TIME_LIMITS[t][1]
        for t in (
            "retention.refresh_views",
            "retention.rebuild_view",
            "retention.follow_view_edits",
        )
    )
    + 300
)
# When the work of a refresh, or of a follow-up of edits, comes next: the beat's refresh.
WAITS = {
    "incremental": Waits(
        task="retention.refresh_views",
        does="refreshes the views from their watermarks",
        kept="Nothing is lost meanwhile: the view keeps its rows and its watermark.",
    ),
    "edits": Waits(
        task="retention.refresh_views",
        does="refreshes the views and follows the edits noted",
        kept="Nothing is lost meanwhile: the edits stay noted until a run follows them.",
    ),
}


def _lock_name(view: str) -> tuple[str, ...]:
    return ("retention", "view", view)


def view_lock_key(name: str) -> str:
    return lock_key(*_lock_name(name))


def lock_what(name: str) -> str:
    """What Redis out of reach leaves a run of view `name` without."""
    return f"The lock of the view {name}"


class ViewLock:
    """The lock a run of the view holds."""

    def __init__(self, lock: RunLock, name: str) -> None:
        self._lock, self.name = lock, name
        self.since = datetime.now(UTC)  # when it was taken
        self.runs: set[int] = set()  # the runs recorded under it

    def keep(self, run: RetentionRun) -> None:
        """Before `run` writes: renewed (taken again if a Redis restarted without it, as the
        renewal thread would), else LockLost (another run took it once it expired) or
        RedisUnavailable. Taken again, and another run of the view held it meanwhile (`gap`):
        LockLost, so the rows read before that run wrote newer ones are not written. Else `run`
        is marked as one that held the lock to write (`details.held_lock`)."""
        self.runs.add(run.pk)
        with reachable(lock_what(self.name)):
            if self._lock.renew() or self._lock.acquire():
                if self._lock.lapsed and (other := self.gap()) is not None:
                    raise LockLost(
                        f"lock {self._lock.key!r} was gone (it expired, or Redis restarted "
                        f"without it) and run {other.pk} of the view held it meanwhile and "
                        f"has finished ({NO_HOLDER}); this run stopped: it read its data "
                        "before that run wrote"
                    )
                # Saved now: a run killed once it wrote counts too.
                run.details = {**run.details, "held_lock": True}
                run.save(update_fields=["details"])
                return
            holder = self._lock.holder() or "another run"
        raise LockLost(
            f"lock {self._lock.key!r} lost to {holder} (it expired while this run could not "
            "renew it); this run stopped"
        )

    def gap(self) -> RetentionRun | None:
        """A run of the view that started since this lock was taken and has ended, not under it,
        having held the lock to write (`keep`): it held the lock while its key was gone (None:
        none did). A skipped run, or one that failed before it took the lock or before it wrote,
        wrote nothing."""
        return (
            RetentionRun.objects.filter(
                operation=RetentionRun.Operation.VIEW_REFRESH,
                details__view=self.name,
                details__held_lock=True,
                started__gte=self.since,
                finished__isnull=False,
            )
            .exclude(pk__in=self.runs)
            .order_by("pk")
            .first()
        )


@contextmanager
def view_lock(
    name: str, mode: str, start: datetime | None, end: datetime, run: RetentionRun | None = None
) -> Iterator[ViewLock | None]:
    """The view's lock while the block runs (None: another run is busy with it). Redis out of
    reach as the run (mode `mode` over `start`..`end`) takes it: the run is recorded failed (in
    `run`, else a new one) and RedisUnavailable raised."""
    lock = RunLock(*_lock_name(name), owner=f"view {name}", ttl_seconds=LOCK_SECONDS)
    try:
        with reachable(lock_what(name)):
            taken = lock.acquire()
    except RedisUnavailable as exc:
        logger.error("view %s %s not run: %s", name, mode, exc)
        errors = failure(exc, name, mode)
        exc.view_run = not_run(name, mode, start, end, run, RetentionRun.Status.FAILED, errors)
        raise
    if not taken:
        yield None
        return
    with lock.kept_alive():  # renewed until the block ends, then released
        yield ViewLock(lock, name)


def failed_run(exc: BaseException) -> RetentionRun | None:
    """The failed run of the view that `exc` stopped, as that run recorded it (`view_run`:
    not the latest failed run of the view, which may be another process's), or None."""
    return getattr(exc, "view_run", None)


def failure(exc: BaseException, name: str, mode: str, left: Sequence[str] = ()) -> str:
    """The errors of a run of view `name` (mode `mode`) that `exc` stopped; Redis or InfluxDB
    out of reach (or InfluxDB refusing) and the lock lost to another run say what was kept and
    when the work comes next, and name the views `left` that the refresh stopped before (their
    locks are in the same Redis; they read the same InfluxDB)."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, LockLost):  # another run took it: the work is that run's, or asked again
        error, once = f"{error}.", "that run has finished"
    elif isinstance(exc, RedisUnavailable):
        once, why = "Redis is back", "their locks are in that Redis too"
    elif isinstance(exc, TimeseriesError):  # out of reach, or refusing: every view reads it
        once, why = "InfluxDB answers", "they read that InfluxDB too"
    else:
        return error
    if mode == "rebuild":
        return (
            f"{error} Nothing was written: ask for the rebuild again once {once} "
            f"(POST /api/views/{name}/rebuild, or manage.py rebuild_view)."
        )
    if left:
        return (
            f"{error} Nothing was written: {listed([name, *left])} were not refreshed (the "
            f"refresh stopped here: {why}); {comes_next(WAITS[mode])}"
        )
    return f"{error} Nothing was written; {comes_next(WAITS[mode])}"


def skipped(
    name: str,
    mode: str,
    start: datetime | None,
    end: datetime,
    run: RetentionRun | None = None,
    why: str = "the next refresh covers this range; a rebuild can be asked again once it has "
    "finished",
) -> RetentionRun:
    """The run of a view another run is busy with: recorded "skipped", nothing done."""
    why = f"another refresh or rebuild of {name} is running; nothing done ({why})"
    logger.warning("view %s %s skipped: %s", name, mode, why)
    return not_run(name, mode, start, end, run, RetentionRun.Status.SKIPPED, why)


def not_run(
    name: str,
    mode: str,
    start: datetime | None,
    end: datetime,
    run: RetentionRun | None,
    status: str,
    errors: str,
) -> RetentionRun:
    """Record a run that did nothing (in `run`, else a new one)."""
    run = run or RetentionRun(operation=RetentionRun.Operation.VIEW_REFRESH)
    run.started = run.finished = datetime.now(UTC)
    run.status, run.duration_seconds, run.errors = status, 0.0, errors
    run.range_start, run.range_end = start, end
    run.details = {**run.details, "view": name, "mode": mode}
    run.save()
    return run
