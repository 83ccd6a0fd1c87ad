"""The one Redis lock: held by one run at a time, SET NX with an expiry and an owner token.

Only the owner releases or renews it (compare-and-delete / compare-and-expire in one Lua
script each, so a run whose lock expired and was taken by another never deletes the other's).
The expiry is the safety net for a killed worker: a dead run's lock disappears after `ttl`.
A long run calls `renew()` between chunks; `renew()` returning False means the lock was lost
and the run must stop writing (`keep()` raises LockLost instead); `lapsed` says so from then
on, also once the run has taken the lock again. `with lock.taken() as mine:`
tries once without waiting and releases on leaving; `acquire(wait_seconds=30)` waits for a
run that holds it. `with lock.kept_alive():` holds it exactly as long as its process lives: a
thread renews a short expiry, so a long step never loses it and a killed process's lock lapses
within that expiry instead of after the longest a run could take.

Taken inside a Celery task, the lock's value names the task id. A task whose worker died under
it (SIGKILL, out of memory) is delivered again with the same id (acks_late,
task_reject_on_worker_lost) while the dead delivery's lock still lives; that lock is taken
over, not waited for: Celery never runs two deliveries of one task at once (the broker's
visibility timeout outlasts every time limit), so its holder is dead. Waited for, the lock would
skip the work the redelivery exists for until it expired.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from enrich.deliveries import current_task_id
from enrich.errors import Permanent, Transient
from enrich.redis.client import CONNECTION_ERRORS, get_redis, make_key

logger = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Take the lock from an earlier delivery of the same task: its value ends in ARGV[1].
_RECLAIM = """
local held = redis.call('get', KEYS[1])
if held and string.sub(held, -string.len(ARGV[1])) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'px', ARGV[3])
  return held
end
return false
"""


def lock_key(*name: str) -> str:
    """The Redis key of the lock named by these parts: `<prefix>:lock:<part>:<part>...`."""
    return make_key("lock", *name)


# How a lost lock's words (`RunLock.lost`) say that no run holds it now.
NO_HOLDER = "no run holds it now"


class LockLost(Permanent):
    """The run's lock expired and could not be renewed: another run may be doing the work now,
    so this one stops (trying it again would only find the lock taken)."""


class LockGone(Transient):
    """A LockLost naming no holder (`NO_HOLDER`), as a run that can be tried again (a Celery
    task's) raises it (`tried_again`): the run stops all the same (another run may have held the
    lock meanwhile and finished, changing what this one read), but nothing keeps its work from
    going on: tried again later, it takes the lock afresh and reads again what it works on."""


def tried_again(exc: BaseException) -> BaseException:
    """`exc` as a task that tries Transient errors again sees it: a LockLost naming no holder is
    a LockGone, in the same words; anything else, a lock lost to another run included, itself."""
    if isinstance(exc, LockLost) and NO_HOLDER in str(exc):
        return LockGone(str(exc))
    return exc


class RunLock:
    """`RunLock("downsample_hourly", owner="run 12").acquire()`; see the module docstring.

    The name may have several parts (`RunLock("retention", "view", name)`), each escaped into
    the key as by `make_key`.
    """

    def __init__(self, *name: str, owner: str = "", ttl_seconds: float = 600) -> None:
        if not name:
            raise TypeError("RunLock needs a name")
        self.name = ":".join(name)
        self.key = lock_key(*name)
        self.ttl_ms = int(ttl_seconds * 1000)
        # The value says who holds it (shown to the run that finds it taken) and is unique.
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        task_id = current_task_id()
        # The part in brackets is not shown by holder(); it ends in the task id, if any.
        self._task_suffix = f" task {task_id}]" if task_id else None
        self.token = (
            f"{owner or 'unnamed'} since {stamp} [{uuid.uuid4().hex}{self._task_suffix or ']'}"
        )
        self.held = False
        # A renewal found the lock not this run's: held since, it was not held throughout.
        self.lapsed = False

    def acquire(self, wait_seconds: float = 0) -> bool:
        """Take the lock; with `wait_seconds`, keep trying (every 0.1 s) that long first."""
        deadline = time.monotonic() + wait_seconds
        while True:
            self.held = bool(get_redis().set(self.key, self.token, nx=True, px=self.ttl_ms))
            if not self.held and self._task_suffix:
                self.held = self._reclaim()
            if self.held or time.monotonic() >= deadline:
                return self.held
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

    def _reclaim(self) -> bool:
        """Take the lock over from an earlier delivery of this task (see the module docstring)."""
        args = (self._task_suffix, self.token, self.ttl_ms)
        dead = get_redis().eval(_RECLAIM, 1, self.key, *args)
        if dead is None:
            return False
        logger.warning(
            "lock %s taken over from %s: an earlier delivery of this task, whose worker died",
            self.key,
            dead.rsplit(" [", 1)[0],
        )
        return True

    def holder(self) -> str | None:
        """Who holds the lock now (their token without the random part), or None."""
        value = get_redis().get(self.key)
        return None if value is None else value.rsplit(" [", 1)[0]

    def renew(self) -> bool:
        """Extend the expiry; False when this run no longer owns the lock."""
        if not self.held:
            return False
        self.held = bool(get_redis().eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        self.lapsed = self.lapsed or not self.held
        return self.held

    def keep(self) -> None:
        """Renew, or raise LockLost (naming who holds the lock now) when it was lost."""
        if not self.renew():
            raise LockLost(self.lost("this run stopped"))

    def lost(self, stopped: str) -> str:
        """What a run that lost the lock says, `stopped` telling what it did then: who holds it
        now, or that no run does (its key is gone: Redis restarted without it, or it expired
        and nobody took it since; `NO_HOLDER`)."""
        holder = self.holder()
        if holder is None:
            return (
                f"lock {self.key!r} is gone and {NO_HOLDER} (it expired, or Redis restarted "
                f"without it); {stopped}"
            )
        return f"lock {self.key!r} lost to {holder} (it expired); {stopped}"

    def release(self) -> bool:
        """Delete the lock if this run owns it; True when it did."""
        released = bool(get_redis().eval(_RELEASE, 1, self.key, self.token))
        self.held = False
        return released

    @contextmanager
    def taken(self) -> Iterator[bool]:
        """Try once, without waiting: whether this run holds the lock inside the block.

        On leaving, a lock it took is released; a release that fails (the lock expired
        meanwhile, Redis out of reach) is logged, not raised: the work is done either way and
        the expiry frees the lock.
        """
        mine = self.acquire()
        try:
            yield mine
        finally:
            if mine:
                self.release_quietly()

    @contextmanager
    def kept_alive(self, interval: float | None = None) -> Iterator[None]:
        """Hold the lock while the block runs and this process lives: it is taken (if this run
        does not hold it yet, without waiting) and renewed every `interval` seconds (a quarter
        of its expiry by default) by a thread of this process, then released on leaving.

        A renewal that finds the lock gone (a Redis restarted without it) takes it again; one
        that finds it another's (it expired while this process was cut off) logs it and takes
        it once it is free; Redis out of reach is logged and tried again at the next renewal.
        """
        every = self.ttl_ms / 4000 if interval is None else interval
        stop = threading.Event()

        def renewing() -> None:
            while not stop.wait(every):
                self._hold()

        thread = threading.Thread(target=renewing, name=f"lock {self.name} kept", daemon=True)
        self._hold()
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
            self.release_quietly()

    def _hold(self) -> None:
        """Renew the lock, or take it when it is not this run's (see kept_alive)."""
        try:
            had = self.held
            if self.renew() or self.acquire():
                return
            if had:
                logger.warning("lock %s lost to %s (it expired)", self.key, self.holder())
        except CONNECTION_ERRORS as exc:
            logger.warning("lock %s not renewed: Redis is out of reach: %s", self.key, exc)

    def release_quietly(self) -> None:
        """Release the lock if this run holds it, logging instead of raising what stops it: a
        lock that expired meanwhile, or Redis out of reach (the lock then expires by itself).
        For a `finally` whose work is done or failed either way."""
        if not self.held:
            return
        try:
            released = self.release()
        except Exception as exc:
            logger.warning("lock %s not released (it expires by itself): %s", self.key, exc)
            return
        if not released:
            logger.warning("lock %s not released: it expired meanwhile", self.key)
