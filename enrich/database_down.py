"""The relational database (DATABASE_URL: PostgreSQL, or the SQLite file) out of reach: a
PostgreSQL that restarts (an update, a backup, a NAS rebooting) refuses connections, or ends the
ones open, for a while. `out_of_reach` tells that apart from a query refused on a live
connection (a lock timeout, a bug). A web request that meets it is answered by `DatabaseDown`
(in MIDDLEWARE) with a 503 saying so, as InfluxDB's and Redis' outages are
(enrich.api.influx_down), in one log line, not Django's "Server Error (500)" and a traceback.
The beat (enrich.beat_scheduler) asks whether it `answers`, and goes on without it. A task fails
with DatabaseUnavailable, said in one line (`task_outage`, around every task:
enrich.deliveries.GuardedTask), as Redis' outage is (enrich.redis.outage); work tried again on a
`Transient` error (the retention runs) meets it as DatabaseUnavailable (`reached`). Each process
opens a new connection at its next request, task or tick once the database answers
(CONN_HEALTH_CHECKS), without a restart."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.http import HttpRequest, HttpResponse

from enrich.errors import Transient

logger = logging.getLogger(__name__)

ERRORS = (OperationalError, InterfaceError)  # django.db's, whatever the database

DOWN = (
    "The database does not answer (PostgreSQL is down, restarting or out of reach); try again "
    "in a minute. The server log names the error."
)


class DatabaseUnavailable(Transient):
    """A task met the database out of reach: its result says so, and Celery logs it without a
    traceback (GuardedTask's `throws`)."""


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def out_of_reach(exc: BaseException) -> bool:
    """Whether `exc` is the database out of reach: one of its ERRORS with the connection gone
    (never opened, or closed by the server or the network)."""
    if not isinstance(exc, ERRORS):
        return False
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False))


def unavailable(exc: BaseException) -> DatabaseUnavailable:
    """The DatabaseUnavailable of `exc`, one of ERRORS `out_of_reach`."""
    return DatabaseUnavailable(f"The database (DATABASE_URL) cannot be reached: {one_line(exc)}")


@contextmanager
def reached(retried: bool = True) -> Iterator[None]:
    """The database out of reach inside the block raises DatabaseUnavailable (a Transient, which
    a retention task tries again in the same run), if the work is `retried`; its other errors,
    and all of them for work not retried (a command's), go through as they are."""
    try:
        yield
    except ERRORS as exc:
        if not (retried and out_of_reach(exc)):
            raise
        raise unavailable(exc) from exc


def answers() -> None:
    """Raise one of ERRORS unless the database answers: the connection, checked (closed when it
    is too old or failed, CONN_HEALTH_CHECKS' SELECT 1), is opened again if need be."""
    close_old_connections()
    connection.cursor().close()


class DatabaseDown:
    """Middleware: a request whose view met the database out of reach gets a 503 saying so (JSON
    on the API, plain text on the pages: enrich.error_pages.answer) and its log one line."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not out_of_reach(exc):
            return None
        from enrich.error_pages import answer  # the admin's and DRF's modules: not in a worker

        logger.error("%s %s: the database cannot be reached: %s", request.method,
                     request.path[:200], one_line(exc))  # fmt: skip
        return answer(request.path_info, 503, "detail", DOWN)


# Since when this process's tasks meet the database out of reach.
_lost_since: datetime | None = None


@contextmanager
def task_outage(name: str) -> Iterator[None]:
    """Run the task `name`. The database out of reach inside fails it with DatabaseUnavailable:
    the first time in this process with an ERROR line holding the whole error, each later time
    with a WARNING line; the first task through that uses the database again says so (INFO)."""
    global _lost_since
    try:
        yield
    except ERRORS as exc:
        if not out_of_reach(exc):
            raise
        if _lost_since is None:
            _lost_since = datetime.now(UTC)
            logger.error("%s: the database (DATABASE_URL) cannot be reached; each task that needs "
                         "it fails, in one line, until it answers again (beat sends the periodic "
                         "ones again when due): %s", name, one_line(exc))  # fmt: skip
        else:
            logger.warning("%s: the database still cannot be reached (since %s UTC); the task "
                           "fails", name, f"{_lost_since:%Y-%m-%d %H:%M:%S}")  # fmt: skip
        raise unavailable(exc) from exc
    if _lost_since is not None and connection.connection is not None:
        _lost_since = None
        logger.info("%s: the database answers again", name)
