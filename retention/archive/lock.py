"""The archive's Redis lock: one archive run (or index rebuild) at a time.

It expires after LOCK_SECONDS, so a killed run's lock frees itself; a live run renews it
(`renew()`) between every phase and step, planning included, so it never expires under it.
`renew()` raises when the lock was lost meanwhile: the run stops instead of working beside
another. A dry run takes no lock (`take=False`): the scheduled run is never skipped for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from enrich.redis.client import get_redis, key_prefix

logger = logging.getLogger(__name__)

LOCK_SECONDS = 900


def archive_lock_key() -> str:
    return f"{key_prefix()}:lock:retention:archive"


class ArchiveLock:
    def __init__(self, take: bool = True) -> None:
        self._lock = get_redis().lock(archive_lock_key(), timeout=LOCK_SECONDS) if take else None

    def acquire(self) -> bool:
        return self._lock is None or bool(self._lock.acquire(blocking=False))

    def renew(self) -> None:
        """Back to a full LOCK_SECONDS; LockNotOwnedError when another run holds it now."""
        if self._lock is not None:
            self._lock.reacquire()

    def release(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.release()
        except Exception as exc:  # expired meanwhile: nothing left to release
            logger.warning("archive lock: %s", exc)


@contextmanager
def archive_lock(*, take: bool = True) -> Iterator[ArchiveLock | None]:
    """The run's lock (None when another run holds it); with take=False nothing is locked."""
    lock = ArchiveLock(take)
    acquired = lock.acquire()
    try:
        yield lock if acquired else None
    finally:
        if acquired:
            lock.release()
