"""`celery beat` (config.celery's app.Beat) that stops when told to (SIGTERM, SIGINT), promptly.

Celery's own handler saves the schedule inside the signal handler, that is in the middle of
whatever the beat is doing when the signal comes, and then raises SystemExit there. Interrupting
a database query, it waits forever for that query's connection (psycopg's lock, held by the
query it interrupted); elsewhere its SystemExit can get lost on the way out; either way the beat
goes on (sending tasks, in the second case) until it is killed: `docker stop` waits 10 s, then
SIGKILL, and so does systemd.

Here the handler only asks the beat to stop. Asleep between ticks, the beat stops at once (the
SystemExit its loop handles); within a tick, at its end (enrich.beat_scheduler.Scheduler.tick
calls stop_if_asked). The loop then saves the schedule, where nothing else is half done.
"""

import threading
from types import FrameType

from celery import beat, platforms
from celery.apps import beat as beat_app

_asked = threading.Event()


def stop_if_asked() -> None:
    """Raise SystemExit (the beat's loop saves the schedule and ends) if a signal asked to stop."""
    if _asked.is_set():
        raise SystemExit()


class Beat(beat_app.Beat):
    def install_sync_handler(self, service: beat.Service) -> None:
        def stop(_signum: int, frame: FrameType | None) -> None:
            _asked.set()
            if frame is not None and frame.f_code is beat.Service.start.__code__:
                raise SystemExit()  # in the loop itself (asleep): nothing is half done

        platforms.signals.update(SIGTERM=stop, SIGINT=stop)
