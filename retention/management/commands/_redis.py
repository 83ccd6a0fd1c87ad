"""What a retention command says when Redis, the store of its run's lock, is out of reach, or
when that lock expired under its run and another run took it (the archive's, a tier's, a
view's)."""

from django.core.management.base import CommandError

from enrich.redis.client import RedisUnavailable
from enrich.redis.lock import LockLost
from retention.archive.lock import LOCK, LOCK_SECONDS
from retention.rollups import lock as views


def redis_gone(exc: RedisUnavailable, done: str, rest: str) -> CommandError:
    """The RedisUnavailable message (naming REDIS_URL and how to start Redis), what the command
    did that stays (`done`, a sentence), and to run it again once Redis is back, which does
    `rest`."""
    return CommandError(f"{exc} {done} Run this command again once Redis is back: it {rest}.")


def lock_lost(
    lock: str, exc: LockLost | str, during: str, why: str, done: str, rest: str
) -> CommandError:
    """One paragraph for a run whose `lock` ("The archive's lock") was lost `during` its work
    ("the restore"): the LockLost (or its message, as the run recorded it) naming who holds it
    now, why it could expire and what that run may do (`why`), what the command did that stays
    (`done`, a sentence), and to run it again once that run has finished, which does `rest`."""
    return CommandError(
        f"{lock} was lost during {during}: {exc} ({why}). {done} Run this command again once "
        f"that run has finished: it {rest}."
    )


def archive_lock_lost(exc: LockLost, during: str, slow: str, risk: str, done: str, rest: str):
    """`lock_lost` for the archive's lock (retention.archive.lock), renewed between steps: one
    step (`slow`: "a file took longer to read") outlasted its expiry, and the run holding it now
    may do `risk` ("replace or delete the files a restore reads")."""
    why = f"{slow} than the lock's {LOCK_SECONDS // 60} minutes; the run holding it now may {risk}"
    return lock_lost(LOCK, exc, during, why, done, rest)


def view_lock_lost(exc: LockLost, name: str, during: str, done: str, rest: str) -> CommandError:
    """`lock_lost` for the lock of the view `name` (retention.rollups.lock), renewed by a thread
    of this process: it could not reach Redis for longer than the lock's expiry."""
    why = (
        f"this process could not renew it for longer than its {views.LOCK_SECONDS // 60} "
        "minutes; the run holding it now computes the view"
    )
    return lock_lost(views.lock_what(name), exc, during, why, done, rest)
