"""Run a collection in a thread of its own while the replay server holds an answer, so a test
can change the database meanwhile, as a user in the admin does while a worker fetches."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_holding(
    call: Callable[[], Any], asked: Callable[[], bool], meanwhile: Callable[[], Any],
    held: threading.Event, timeout: float = 20,
) -> Any:  # fmt: skip
    """`call()`'s result; `meanwhile()` runs once `asked()` (the held request arrived), then
    `held` is set and the answer goes out. What `call` raises is raised here."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["result"] = call()
        except Exception as exc:
            done["raised"] = exc
        finally:
            connection.close()  # the thread's own connection

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + timeout
    try:
        while not asked():
            assert time.monotonic() < deadline, "the held request never came"
            time.sleep(0.02)
        meanwhile()
    finally:
        held.set()
        worker.join(timeout)
    if "raised" in done:
        raise done["raised"]
    return done["result"]
