"""One refresh or rebuild per materialized view at a time: an enrich.redis RunLock per view.

It expires 5 minutes after the longest hard time limit of the view tasks (the refresh, the
rebuild and the follow-up of entity edits run only in workers), so it outlives any live run
and frees itself after a killed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from enrich.redis.lock import RunLock, lock_key

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


def _lock_name(view: str) -> tuple[str, ...]:
    return ("retention", "view", view)


def view_lock_key(name: str) -> str:
    return lock_key(*_lock_name(name))


@contextmanager
def view_lock(name: str) -> Iterator[bool]:
    """Whether this process holds the view's lock (False: another run is busy with it)."""
    lock = RunLock(*_lock_name(name), owner=f"view {name}", ttl_seconds=LOCK_SECONDS)
    with lock.taken() as mine:
        yield mine
