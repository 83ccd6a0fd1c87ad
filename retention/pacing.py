"""The interpreter paced for a run that turns millions of points into objects in several threads.

- **Fewer garbage collections.** CPython's cyclic collector runs after every 700 new container
  objects (lists, dicts, samples) by default, and each run walks the young objects, every
  tenth one more. A tier run makes three or more such objects per raw point, almost none of
  them in a cycle (reference counting frees them), so with the default the collector took
  about half of the time spent parsing CSV answers (a day of the dense home in bench.storage:
  82 ms of parsing with the default threshold, 33 to 45 ms with the collector off). The young
  generation's threshold is raised to 50,000; cycles are still found, only less often.
- **Shorter turns.** The run's main thread mostly waits on InfluxDB and PostgreSQL while the
  reader and look-ahead threads parse and aggregate. After each wait it needs the GIL back,
  which a busy thread gives up only when its turn ends (5 ms by default); with 1 ms turns the
  main thread, whose sequence sets the run's pace, waits less (about 2-3 % faster runs of the
  dense home).

`run_pacing()` does both for the run's duration and puts the defaults back after, also when
runs overlap in threads.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
SWITCH_INTERVAL = 0.001  # seconds
_lock = threading.Lock()
_active = 0
_saved: tuple[tuple[int, ...], float] = ((), 0.0)


@contextmanager
def run_pacing() -> Iterator[None]:
    """Collect the youngest generation after YOUNG_THRESHOLD new objects (never more often
    than before) and switch threads every SWITCH_INTERVAL (never less often than before)
    until the last of the runs using it ends."""
    global _active, _saved
    with _lock:
        if _active == 0:
            threshold, interval = gc.get_threshold(), sys.getswitchinterval()
            _saved = (threshold, interval)
            gc.set_threshold(max(YOUNG_THRESHOLD, threshold[0]), *threshold[1:])
            sys.setswitchinterval(min(SWITCH_INTERVAL, interval))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])
