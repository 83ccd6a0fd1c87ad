"""One refresh or rebuild per materialized view at a time: a Redis lock per view.

It expires 5 minutes after the longest hard time limit of the view tasks (the refresh and the
rebuild run only in workers), so it outlives any live run and frees itself after a killed one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from enrich.redis.client import get_redis, key_prefix

logger = logging.getLogger(__name__)

LOCK_SECONDS = (
    max(
        settings.TASK_TIME_LIMITS[t][1]
        for t in ("retention.refresh_views", "retention.rebuild_view")
    )
    + 300
)


def view_lock_key(name: str) -> str:
    return f"{key_prefix()}:lock:retention:view:{name}"


@contextmanager
def view_lock(name: str) -> Iterator[bool]:
    """Whether this process holds the view's lock (False: another run is busy with it)."""
    lock = get_redis().lock(view_lock_key(name), timeout=LOCK_SECONDS)
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except Exception as exc:  # expired meanwhile: nothing left to release
                logger.warning("view %s lock: %s", name, exc)
