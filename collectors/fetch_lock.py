"""One run at a time fetches a target: a Redis lock per (source, provider, target).

Two collects of one target can run at once: a backlog of dispatches (collect tasks do not
expire), a task's retry meeting the next beat, a first-run collection next to a worker's. The
run that holds the lock fetches; another finds it held and makes no call (no duplicate call,
no budget taken twice), and a run that gets the lock just after a fetch finished sees that
fetch's fresh answer (the pipeline checks the cache again once it holds the lock).

    <prefix>:lock:collect:<source>:<provider>:<target>  expires after LOCK_SECONDS
"""

import logging

from enrich.redis.client import CONNECTION_ERRORS, reachable
from enrich.redis.lock import RunLock

logger = logging.getLogger("collectors")

# Past the collect task's time limit (150 s): a killed worker's lock frees itself after that.
LOCK_SECONDS = 180


def lock_for(source: str, provider: str, target: str) -> RunLock:
    return RunLock("collect", source, provider, target, owner="a collect run",
                   ttl_seconds=LOCK_SECONDS)  # fmt: skip


def acquire(lock: RunLock) -> bool:
    """Take the lock without waiting; False when another run holds it."""
    with reachable("The collect lock"):
        return lock.acquire()


def release(lock: RunLock) -> None:
    """Release a lock this run holds; one Redis cannot release now frees itself by expiring."""
    if not lock.held:
        return
    try:
        lock.release()
    except CONNECTION_ERRORS as exc:
        logger.warning("collect: lock %s not released (it expires by itself): %s", lock.key, exc)
