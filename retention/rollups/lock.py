"""One refresh or rebuild per materialized view at a time: an enrich.redis RunLock per view.

A thread of the process holding it renews it while the run lives (`RunLock.kept_alive`):
`manage.py refresh_views` and `rebuild_view` run in the command's own process with no time
limit, so no expiry could outlive every live run. After a killed run it frees itself within
its expiry, 5 minutes after the longest hard time limit of the view tasks (the refresh, the
rebuild and the follow-up of entity edits).
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
    if not lock.acquire():
        yield False
        return
    with lock.kept_alive():  # renewed until the block ends, then released
        yield True
