"""The relational database (DATABASE_URL: PostgreSQL, or the SQLite file) out of reach: a
PostgreSQL that restarts (an update, a backup, a NAS rebooting) refuses connections, or ends the
ones open, for a while. `out_of_reach` tells that apart from a query refused on a live
connection (a lock timeout, a bug). A web request that meets it is answered by `DatabaseDown`
(in MIDDLEWARE) with a 503 saying so, as InfluxDB's and Redis' outages are
(enrich.api.influx_down), in one log line, not Django's "Server Error (500)" and a traceback.
The beat (enrich.beat_scheduler) asks whether it `answers`, and goes on without it.
Each process opens a new connection at its next request or tick once the database answers
(CONN_HEALTH_CHECKS), without a restart."""

import logging

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

ERRORS = (OperationalError, InterfaceError)  # django.db's, whatever the database

DOWN = (
    "The database does not answer (PostgreSQL is down, restarting or out of reach); try again "
    "in a minute. The server log names the error."
)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def out_of_reach(exc: BaseException) -> bool:
    """Whether `exc` is the database out of reach: one of its ERRORS with the connection gone
    (never opened, or closed by the server or the network)."""
    if not isinstance(exc, ERRORS):
        return False
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False))


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
