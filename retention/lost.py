"""A run waiting in the queue whose task message went with a Redis restart: closed as failed.

A run the API queued (retention.queued) and one waiting for its retry
(retention.task_records.retry_transient) wait for a message on Celery's broker, Redis: in its
queue, or held by a worker in its set of unacknowledged messages (a retry due later, a task
fetched ahead). A Redis that restarts without its data forgets the message, and the workers,
reconnecting, drop what they held: no worker ever takes the run up, and retention.liveness
closes no waiting run as dead. Left alone, such a run would stay "running" for ever.

Right after the message is sent, `sent` records which Redis holds it: the broker's `run_id`
(INFO server, a new one each time Redis starts), in `details.queued_in`, for the message the API
queued or the retry the last `details.retries` entry names (a run going back to the queue drops
it). Read after the send, it never names a Redis older than the one the message went to. retention.liveness.close_dead closes a waiting
run (`details.message_lost`) only when its message is certainly gone (`lost`): the Redis it
was sent to is not the one answering, and that one loaded nothing when it started
(`INFO persistence`: `aof_enabled:0`, `rdb_last_load_keys_loaded:0`). A Redis that loaded data
(an append-only file, a snapshot) may have kept the message: the run waits.

A run without the record (queued by an enrich that did not keep it, or Redis out of reach right
after the send) is judged by time instead: its message was sent by `sent_by` (its retry before
the retry was due, else right after the run was queued, within SENT_WITHIN), so a Redis that
started after that, empty, cannot hold it. One that started before may have been sent it: the
run waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction

from enrich.redis.client import get_redis
from retention.archive.lock import WAITS as ARCHIVE_WAITS
from retention.busy import Waits, comes_next
from retention.models import RetentionRun
from retention.tiers.chunks import WAITS as TIER_WAITS

logger = logging.getLogger(__name__)

QUEUED_IN = "queued_in"
# How long after a run records itself waiting its message is sent at the latest: a send takes
# milliseconds, seconds when kombu retries the connection; the clocks of two machines differ, and
# Redis tells its uptime to the second.
SENT_WITHIN = timedelta(minutes=1)
# The URLs of a broker on Redis that enrich.redis can ask (kombu's other spellings are not).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# What the beat runs again by itself (retention.busy), by operation.
WAITS: dict[str, Waits] = {**TIER_WAITS, RetentionRun.Operation.ARCHIVE: ARCHIVE_WAITS}

LOST = (
    "Its task message was lost: Redis, the Celery broker, restarted at {when} without its data "
    "(no append-only file, no snapshot loaded) after {what} was queued, so no worker will ever "
    "take the run up. {then} To keep queued work over a restart, give Redis an append-only "
    "file (appendonly yes)."
)


@dataclass(frozen=True)
class Broker:
    """The broker's Redis as it answers now: its `run_id`, when it started, and whether it
    started `empty` (it loaded no data)."""

    instance: str
    started: datetime
    empty: bool


def _redis(app: Any):
    url = app.conf.broker_url
    return get_redis(url) if isinstance(url, str) and url.startswith(REDIS_SCHEMES) else None


def sent(run_id: int, app: Any, retry: str | None = None) -> None:
    """The task message of the run `run_id` was just sent on `app`'s broker (`retry`: its retry,
    as the last `details.retries` entry names it; else the message the API queued): record which
    Redis holds it. Nothing is recorded when that cannot be told; the send never fails for it."""
    try:
        redis = _redis(app)
        instance = redis.info("server").get("run_id") if redis is not None else None
        if instance:
            _record(run_id, instance, retry)
    # Redis or the database out of reach: the run waits, judged by time as one without the record
    except Exception as exc:
        logger.warning("run %s: the Redis holding its task message not recorded: %s", run_id, exc)


def _record(run_id: int, instance: str, retry: str | None) -> None:
    with transaction.atomic():
        run = (
            RetentionRun.objects.select_for_update()
            .filter(pk=run_id, status=RetentionRun.Status.RUNNING)
            .first()
        )
        details = (run.details or {}) if run is not None else {}
        if run is None or "queued_at" in details:
            return  # over, or taken up already: it waits for no message
        retries = details.get("retries") or []
        if (retries[-1].get("retry") if retries else None) != retry:
            return  # it waits for a later message already
        run.details = {**details, QUEUED_IN: instance}
        run.save(update_fields=["details"])


def queued_in(run: RetentionRun) -> str | None:
    """The `run_id` of the Redis the message the run waits for was sent to; None: not known
    (retention.task_records.requeued drops it as the run goes back to the queue)."""
    return (run.details or {}).get(QUEUED_IN)


def broker(app: Any) -> Broker | None:
    """`app`'s broker as it answers now; None when that cannot be told (then nothing is closed).
    Redis out of reach raises one of enrich.redis.client.CONNECTION_ERRORS."""
    redis = _redis(app)
    if redis is None:
        return None
    server, persistence = redis.info("server"), redis.info("persistence")
    if "run_id" not in server or "rdb_last_load_keys_loaded" not in persistence:
        return None  # a Redis before 7.0 does not say what it loaded
    started = datetime.now(UTC) - timedelta(seconds=int(server["uptime_in_seconds"]))
    empty = (
        int(persistence.get("loading", 1)) == 0
        and int(persistence.get("aof_enabled", 1)) == 0
        and int(persistence["rdb_last_load_keys_loaded"]) == 0
    )
    return Broker(server["run_id"], started, empty)


def sent_by(run: RetentionRun) -> datetime | None:
    """When the message the waiting `run` waits for was sent at the latest: its retry before it
    was due (the last `details.retries` entry's `at`), else the message the API queued right
    after recording the run (`started`); None when that cannot be told."""
    retries = (run.details or {}).get("retries") or []
    try:
        sent = datetime.fromisoformat(retries[-1]["at"]) if retries else run.started
    except (KeyError, TypeError, ValueError):
        return None
    return sent + SENT_WITHIN if sent is not None and sent.tzinfo is not None else None


def lost(run: RetentionRun, now: Broker) -> bool:
    """Whether the message the waiting `run` waits for is certainly gone (module docstring)."""
    if not now.empty:
        return False
    held_by = queued_in(run)
    if held_by is not None:
        return held_by != now.instance
    sent = sent_by(run)  # not recorded: a Redis started after the send cannot hold it
    return sent is not None and now.started > sent


def message(run: RetentionRun, now: Broker, then: Callable[[str], str]) -> str:
    """What the run `lost` its message says: when Redis restarted, and what to do (a scheduled
    run: when its work comes next, retention.busy; else `then`, by operation)."""
    retries = (run.details or {}).get("retries") or []
    last = retries[-1] if retries else None
    what = f"its retry ({last.get('retry')}, due {last.get('at')})" if last else "the run"
    waits = WAITS.get(run.operation) if (run.details or {}).get("scheduled") else None
    if waits is not None:
        comes = comes_next(waits)
        said = f"{comes[:1].upper()}{comes[1:]}"
    else:
        said = then(run.operation)
    return LOST.format(when=f"{now.started:%Y-%m-%d %H:%M:%S} UTC", what=what, then=said)
