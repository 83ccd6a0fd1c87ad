"""Fewer garbage collections while a run turns millions of points into objects.

CPython's cyclic collector runs after every 700 new container objects (lists, dicts, samples)
by default, and each run walks the young objects, every tenth one more. A tier run makes
three or more such objects per raw point, almost none of them in a cycle (reference counting
frees them), so with the default the collector took about half of the time spent parsing
CSV answers (a day of the dense home in bench.storage: 82 ms of parsing with the default
threshold, 33 to 45 ms with the collector off). `fewer_collections()` raises that first threshold for the run's duration and puts
it back after; cycles are still found, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation after `young` new objects (not fewer than the threshold
    in force) until the last of the runs using it ends; they may overlap in threads."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(young, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
