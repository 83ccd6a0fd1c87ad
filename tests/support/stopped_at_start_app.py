"""The project's Celery app, whose worker is sent a signal (STOP_AT_START, e.g. SIGTERM) by
itself as it gets ready: after its pool and consumer started, before its event loop begins, as
a Ctrl-C under `make run` in the worker's first seconds (during mingle) lands. A worker started
with `celery -A tests.support.stopped_at_start_app`; the project's own workers never do."""

import os
import signal

from celery.signals import worker_ready

from tests.support.prefork_app import app

__all__ = ("app",)


@worker_ready.connect
def _stop_at_start(**kwargs) -> None:
    os.kill(os.getpid(), signal.Signals[os.environ["STOP_AT_START"]])
