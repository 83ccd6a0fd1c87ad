"""A retention run recorded "running" shows that a process works on it; one whose process
stopped without recording its end is closed as failed, saying so and what to do.

While a process works on a run it holds the run's own Redis key (an enrich.redis RunLock named
`retention:run:<id>`, expiring ALIVE_SECONDS after each renewal), renewed every
ALIVE_SECONDS / 4 by a thread of that process, so a long step (one InfluxDB query, one
download) never lets it lapse. `alive(run)` saves the run and takes its key in one transaction,
so nobody sees the run "running" before its key exists, and gives the key up after the block,
i.e. after the run's last save. A Celery task handed the run the API queued (`run_id`) holds
its key from the start of each delivery (retention.task_records), before the run leaves the
queue. So a run recorded "running", no longer waiting in the queue, whose key is gone, is dead:
its process was killed (SIGKILL, out of memory, a restart, a web request cut off by the web
server) or lost its database connection before its last save.

`close_dead()` marks those runs failed (`details.process_died`). The alert check calls it first
(a dead run is alerted as failed, not as a run that hangs), and so do the places that show runs:
GET /retention/history, /retention/runs/<run_id>, /retention/stats and the admin's retention runs.
It closes nothing while Redis cannot be reached, nor while Redis has been up for less than
ALIVE_SECONDS (a restarted Redis may have lost the keys of live runs; their threads take them
again within ALIVE_SECONDS / 4). A live run closed all the same (its process cut off from Redis
for longer than ALIVE_SECONDS) is set right by its own last save.

A run waiting for its retry whose record could not say so (the database out of reach as it
was tried again: retention.tiers.runner) shows it alive by a key of its own, `retry_key`, which
`waits_unrecorded` sets to expire ALIVE_SECONDS after the retry is due: close_dead leaves the
run to its retry, which records it; a retry never delivered lets it lapse, and the run is closed
as dead. One whose retries were spent with the database still out of reach cannot record its
failure either: `ends_unrecorded` keeps what it says, its retries and counts in Redis (a week), and close_dead
closes it with them (`details.unrecorded`) once the database answers.

A run waiting in the queue holds no key; close_dead also closes the ones whose task message a
Redis restarted without its data lost (retention.lost, `details.message_lost`), no delivery of
their task showing them alive.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction

from enrich.redis.client import CONNECTION_ERRORS, get_redis
from enrich.redis.lock import RunLock, lock_key
from retention import lost
from retention.models import RetentionRun
from retention.queued import waiting
from retention.tiers.chunks import EARLIER, SO_FAR, record_earlier

logger = logging.getLogger(__name__)

ALIVE_SECONDS = 60.0
UNSAVED_SECONDS = 7 * 24 * 3600  # how long a failure the database could not record is kept
UNRECORDED = "(Recorded once the database answered again: the run could not record it then.)"
Op = RetentionRun.Operation

DIED = (
    "The process running it stopped before the run was recorded as finished: it was killed "
    "(out of memory, a restart, a web request cut off by the web server's timeout) or lost its "
    "database connection. {then}"
)
THEN = {
    Op.RESTORE: "Nothing tells how much of the range reached InfluxDB: ask for the restore "
    "again (POST /retention/restore, or `manage.py restore_from_archive START END`); rows "
    "restored twice overwrite themselves.",
    Op.DOWNSAMPLE_HOURLY: "Days already deleted stay done; the next run (the schedule, or POST "
    "/retention/downsample-hourly) resumes the days in progress.",
    Op.DOWNSAMPLE_DAILY: "Days already deleted stay done; the next run (the schedule, or POST "
    "/retention/downsample-daily) resumes the days in progress.",
    Op.VIEW_REFRESH: "The view keeps what the last finished refresh wrote: the next refresh "
    "covers this range again; a rebuild must be asked for again "
    "(POST /api/views/<name>/rebuild).",
    Op.ARCHIVE: "Nothing leaves InfluxDB before its file is verified: the next archive run (the "
    "schedule, or POST /retention/archive) continues from what is there.",
}


STOPPED = (
    "The process running it was told to stop before the run finished: the web server's worker "
    "timeout cut the request off (gunicorn aborts a worker whose request outlasts it), or the "
    "process was shut down. {then}"
)


def then(operation: str) -> str:
    """What to do once a run of `operation` ended without finishing its work."""
    return THEN.get(operation, "Run it again.")


def died_message(operation: str) -> str:
    return DIED.format(then=then(operation))


def stopped_message(operation: str) -> str:
    """What a run cut off by SystemExit (its process told to stop) records."""
    return STOPPED.format(then=then(operation))


def _name(run_id: int) -> tuple[str, ...]:
    return ("retention", "run", str(run_id))


def run_key(run_id: int) -> str:
    """The Redis key a live run `run_id` holds."""
    return lock_key(*_name(run_id))


def retry_key(run_id: int) -> str:
    """The Redis key of a run waiting for a retry its record does not name (`waits_unrecorded`)."""
    return lock_key(*_name(run_id), "retry")


def _keys(run_id: int) -> tuple[str, str]:
    """The keys of which one shows the run `run_id` alive."""
    return run_key(run_id), retry_key(run_id)


def waits_unrecorded(run_id: int, due: datetime) -> None:
    """The run `run_id` waits for a retry due at `due` that the database could not record: shown
    alive until ALIVE_SECONDS after it (module docstring)."""
    seconds = max((due - datetime.now(UTC)).total_seconds(), 0) + ALIVE_SECONDS
    try:
        get_redis().set(retry_key(run_id), f"retry due {due.isoformat()}", px=int(seconds * 1000))
    except CONNECTION_ERRORS as exc:
        logger.warning("run %s: not shown waiting for its retry: Redis is out of reach: %s",
                       run_id, exc)  # fmt: skip


def _unsaved_key(run_id: int) -> str:
    return lock_key(*_name(run_id), "unsaved")


def ends_unrecorded(run_id: int, errors: str, unsaved: dict) -> None:
    """The run `run_id` failed (`errors`) while the database could not record it nor `unsaved`
    (its retries and what its attempts did: retention.task_records.unsaved): closed with them
    once it answers (module docstring)."""
    said = json.dumps({"errors": errors, "unsaved": unsaved})
    try:
        pipe = get_redis().pipeline()
        pipe.set(_unsaved_key(run_id), said, ex=UNSAVED_SECONDS)
        pipe.delete(retry_key(run_id))
        pipe.execute()
    except CONNECTION_ERRORS as exc:
        logger.warning("run %s: its failure not kept: Redis is out of reach: %s", run_id, exc)


def _said(run: RetentionRun) -> tuple[str, dict[str, Any]]:
    """What closing the dead `run` says, and what its details get."""
    try:
        kept = get_redis().get(_unsaved_key(run.pk))
    except CONNECTION_ERRORS:
        kept = None
    if not kept:
        return died_message(run.operation), {"process_died": True}
    said = json.loads(kept)
    # What its attempts did holds what the row saved of the last one (SO_FAR: dropped)
    unsaved = {**said["unsaved"], **({SO_FAR: None} if EARLIER in said["unsaved"] else {})}
    return f"{said['errors']} {UNRECORDED}", {"unrecorded": True, **unsaved}


def retry_unrecorded(run: RetentionRun) -> None:
    """`run` waits for the retry its last `details.retries` entry names, which the database out
    of reach could not record (`waits_unrecorded`)."""
    waits_unrecorded(run.pk, datetime.fromisoformat(run.details["retries"][-1]["at"]))


# --- Showing a run alive -------------------------------------------------------------------
class _Heartbeat:
    """The run's key, held by a thread of this process (RunLock.kept_alive) until `end()`."""

    def __init__(self, run_id: int) -> None:
        owner = f"run {run_id}, process {os.getpid()} on {socket.gethostname()}"
        self.lock = RunLock(*_name(run_id), owner=owner, ttl_seconds=ALIVE_SECONDS)
        self.users = 0
        self._held = ExitStack()

    def start(self) -> None:
        self._held.enter_context(self.lock.kept_alive(ALIVE_SECONDS / 4))

    def end(self) -> None:
        self._held.close()


_beating: dict[int, _Heartbeat] = {}
_beating_guard = threading.Lock()


@contextmanager
def kept_alive(run_id: int) -> Iterator[None]:
    """Hold the key of the existing run `run_id` while the block runs; nested blocks of one
    process for the same run share one key."""
    run_id = int(run_id)
    with _beating_guard:
        beat = _beating.get(run_id)
        first = beat is None
        if beat is None:
            beat = _beating[run_id] = _Heartbeat(run_id)
        beat.users += 1
    try:
        if first:
            beat.start()
        yield
    finally:
        with _beating_guard:
            beat.users -= 1
            last = beat.users == 0
            if last:
                del _beating[run_id]
        if last:
            beat.end()


@contextmanager
def alive(run: RetentionRun) -> Iterator[RetentionRun]:
    """Save `run` and hold its key until the block ends (see the module docstring)."""
    with ExitStack() as stack:
        with transaction.atomic():  # others see it running only once its key exists
            run.save()
            stack.enter_context(kept_alive(run.pk))
        yield run


# --- Closing dead runs ---------------------------------------------------------------------
def close(
    run_id: int,
    message: str,
    *,
    unless: Callable[[RetentionRun], bool] | None = None,
    **flags: Any,
) -> RetentionRun | None:
    """Mark the run failed, `message` added to its errors and `flags` to its details, if it is
    still running (and `unless(run)`, asked under its row lock, is false); the run, or None."""
    with transaction.atomic():
        run = (
            RetentionRun.objects.select_for_update()
            .filter(pk=run_id, status=RetentionRun.Status.RUNNING)
            .first()
        )
        if run is None or (unless is not None and unless(run)):
            return None
        run.status = RetentionRun.Status.FAILED
        run.errors = "\n".join(filter(None, [run.errors, message]))
        run.finished = datetime.now(UTC)
        run.details = {**(run.details or {}), **flags}
        record_earlier(run)  # a tier run waiting for its retry: what its attempts did
        run.save()
    logger.error("retention run %s (%s): %s", run.pk, run.operation, message)
    return run


def close_dead(unchecked: list[str] | None = None) -> list[RetentionRun]:
    """Close the runs recorded "running" whose process stopped, and the waiting ones whose task
    message went with a Redis restart (retention.lost; see the module docstring). Runs that
    could not be checked are logged and, in `unchecked`, said for a page."""
    running = RetentionRun.objects.filter(status=RetentionRun.Status.RUNNING)
    runs = list(running.only("pk", "operation", "started", "details"))
    started = [run for run in runs if not waiting(run)]
    queued = [run for run in runs if waiting(run)]
    if not started and not queued:
        return []
    redis = get_redis()
    try:
        if redis.info("server")["uptime_in_seconds"] < ALIVE_SECONDS:
            return []  # the keys of live runs may have gone with a restart
        pipe = redis.pipeline(transaction=False)
        for run in [*started, *queued]:
            pipe.exists(*_keys(run.pk))
        held = pipe.execute()
    except CONNECTION_ERRORS as exc:
        logger.warning("running retention runs not checked: Redis is out of reach: %s", exc)
        _unchecked(
            unchecked,
            f"Running retention runs were not checked for a worker that "
            f"stopped: Redis is out of reach ({exc}). A run shown running may have died",
        )
        return []
    closed = []
    for run, is_held in zip(started, held[: len(started)], strict=True):
        if is_held:
            continue
        # Asked again under the row lock: meanwhile a delivery of its task may have taken it
        # up, or put it back in the queue for a retry and given its key up.
        revived = partial(_revived, _keys(run.pk))
        message, flag = _said(run)
        done = close(run.pk, message, unless=revived, **flag)
        if done is not None:
            closed.append(done)
    unheld = [run for run, is_held in zip(queued, held[len(started) :], strict=True) if not is_held]
    return closed + _close_lost(unheld, unchecked)


def _unchecked(said: list[str] | None, what: str) -> None:
    if said is not None:
        said.append(f"{what}; the page checks again when loaded.")


def _close_lost(queued: list[RetentionRun], unchecked: list[str] | None) -> list[RetentionRun]:
    """Close the waiting runs among `queued` (no delivery shows them alive) whose task message
    the broker lost (retention.lost)."""
    if not queued:
        return []
    try:
        now = lost.broker(current_app)
    except CONNECTION_ERRORS as exc:
        logger.warning("queued retention runs not checked: the broker is out of reach: %s", exc)
        _unchecked(
            unchecked,
            f"Waiting retention runs were not checked for a task message "
            f"the broker lost: it is out of reach ({exc}). A waiting run may never start",
        )
        return []
    closed = []
    for run in queued if now is not None else []:
        if not lost.lost(run, now):
            continue
        # Asked again under the row lock: a delivery may have taken it up since, or put it back
        # in the queue for a retry sent to the Redis answering now.
        gone = partial(_requeued, _keys(run.pk), lost.queued_in(run), now)
        done = close(run.pk, lost.message(run, now, then), unless=gone, message_lost=True)
        if done is not None:
            closed.append(done)
    return closed


def _requeued(
    keys: tuple[str, ...], queued_in: str | None, now: lost.Broker, run: RetentionRun
) -> bool:
    return (
        not waiting(run)
        or lost.queued_in(run) != queued_in
        or not lost.lost(run, now)  # a retry sent since, its Redis not recorded
        or _held(keys)
    )


def _revived(keys: tuple[str, ...], run: RetentionRun) -> bool:
    return waiting(run) or _held(keys)


def _held(keys: tuple[str, ...]) -> bool:
    """Whether one of the keys exists; True when Redis cannot tell (then nothing is closed)."""
    try:
        return bool(get_redis().exists(*keys))
    except CONNECTION_ERRORS:
        return True
