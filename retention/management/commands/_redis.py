"""What a retention command says when Redis, the store of its run's lock, is out of reach, or
when that lock expired under its run and another run took it (the archive's, a tier's, a
view's)."""

from django.core.management.base import CommandError

from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import NO_HOLDER, LockLost
from retention.archive.lock import LOCK, LOCK_SECONDS
from retention.rollups import lock as views


def redis_gone(exc: RedisUnavailable, done: str, rest: str) -> CommandError:
    """The RedisUnavailable message (naming REDIS_URL and how to start Redis), what the command
    did that stays (`done`, a sentence), and to run it again once Redis is back, which does
    `rest`."""
    return CommandError(f"{exc} {done} Run this command again once Redis is back: it {rest}.")


def lock_lost(
    lock: str,
    exc: LockLost | str,
    during: str,
    slow: str,
    risk: str,
    done: str,
    rest: str,
    wait: str = "that run has finished",
) -> CommandError:
    """One paragraph for a run whose `lock` ("The archive's lock") was lost `during` its work
    ("the restore"): the LockLost (or its message, as the run recorded it) naming who holds it
    now, why it could expire (`slow`: "a step took longer than the lock's 10 minutes") and what
    the run holding it may do (`risk`: "may write or delete the same rows"), what the command
    did that stays (`done`, a sentence), and to run it again once that run has finished (`wait`),
    which does `rest`. A lock no run holds (its key gone: Redis restarted without it, or it expired
    and nobody took it since) has no run to wait for: run it again. The run stops either way:
    another run may have held the lock meanwhile and finished, changing what this run was about
    to delete or write from what it read before."""
    if NO_HOLDER in str(exc):
        return CommandError(
            f"{lock} was lost during {during}: {exc}. {done} Run this command again: it {rest}."
        )
    return CommandError(
        f"{lock} was lost during {during}: {exc} ({slow}; the run holding it now {risk}). "
        f"{done} Run this command again once {wait}: it {rest}."
    )


def archive_lock_lost(exc: LockLost, during: str, slow: str, risk: str, done: str, rest: str):
    """`lock_lost` for the archive's lock (retention.archive.lock), renewed between steps: one
    step (`slow`: "a file took longer to read") outlasted its expiry, and the run holding it now
    may do `risk` ("replace or delete the files a restore reads")."""
    slow = f"{slow} than the lock's {LOCK_SECONDS // 60} minutes"
    return lock_lost(LOCK, exc, during, slow, f"may {risk}", done, rest)


def view_lock_lost(
    exc: LockLost, name: str, during: str, done: str, rest: str, **wait: str
) -> CommandError:
    """`lock_lost` for the lock of the view `name` (retention.rollups.lock), renewed by a thread
    of this process: it could not reach Redis for longer than the lock's expiry (a lock no run
    holds it takes back: `ViewLock.keep`)."""
    slow = f"this process could not renew it for longer than its {views.LOCK_SECONDS // 60} minutes"
    what = views.lock_what(name)
    return lock_lost(what, exc, during, slow, "computes the view", done, rest, **wait)


def view_locks_lost(lost: dict[str, LockLost], during: str, done: str, rest: str):
    """`view_lock_lost` for the views whose locks were lost (`lost`: view -> its LockLost): the
    first one another run holds (else the first) said in full, each other in its own words."""
    held = [name for name, exc in lost.items() if NO_HOLDER not in str(exc)]
    first = (held or list(lost))[0]
    too = [f"{views.lock_what(name)} was lost too: {exc}." for name, exc in lost.items()
           if name != first]  # fmt: skip
    done = " ".join([*too, done])
    wait = "those runs have finished" if len(held) > 1 else "that run has finished"
    return view_lock_lost(lost[first], first, during, done, rest, wait=wait)
