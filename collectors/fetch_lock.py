"""One run at a time fetches a target: a Redis lock per (source, provider, target).

Two collects of one target can run at once: a backlog of dispatches (collect tasks do not
expire), a task's retry meeting the next beat, a first-run collection next to a worker's. The
run that holds the lock fetches; another finds it held and makes no call (no duplicate call,
no budget taken twice), and a run that gets the lock just after a fetch finished sees that
fetch's fresh answer (the pipeline checks the cache again once it holds the lock).

The minute task that writes served points (collectors.served_points) holds the same lock
while it checks and writes a target's points, so no fetch writes in between (its point would
be written over); a collect finding the lock held by it waits for it rather than skip.

    <prefix>:lock:collect:<source>:<provider>:<target>  expires after LOCK_SECONDS
"""

import time

from enrich.redis.client import reachable
from enrich.redis.lock import RunLock

# Past the collect task's time limit (150 s): a killed worker's lock frees itself after that.
LOCK_SECONDS = 180
# Past the minute task's time limit (55 s, collectors.tasks): it never holds a lock longer.
SERVED_SECONDS = 60
SERVED_OWNER = "the minute task writing served points"


def lock_for(source: str, provider: str, target: str) -> RunLock:
    return RunLock("collect", source, provider, target, owner="a collect run",
                   ttl_seconds=LOCK_SECONDS)  # fmt: skip


def served_lock_for(source: str, provider: str, target: str) -> RunLock:
    """The lock as the minute task takes it, for a read and a write to InfluxDB."""
    return RunLock("collect", source, provider, target, owner=SERVED_OWNER,
                   ttl_seconds=SERVED_SECONDS)  # fmt: skip


def acquire(lock: RunLock) -> bool:
    """Take the lock; False when another run holds it. Held by the minute task, it is waited
    for (milliseconds; at most until it expires): a collect that skipped would lose its cycle."""
    with reachable("The collect lock"):
        deadline = time.monotonic() + SERVED_SECONDS
        while not lock.acquire():
            holder = lock.holder()  # None: released meanwhile, try again
            if holder is not None and not holder.startswith(SERVED_OWNER):
                return False
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def take(lock: RunLock) -> bool:
    """Take the lock without waiting; False when another run holds it."""
    with reachable("The collect lock"):
        return lock.acquire()
