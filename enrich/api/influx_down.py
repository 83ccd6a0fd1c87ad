"""InfluxDB (or Redis) cannot be read: what cannot be read and why, in words an API client and
the status page's reader can act on, without the service's address (INFLUXDB_URL, REDIS_URL,
host and port), database or query; the whole error, address included, goes to the server log
for whoever runs enrich. `influx_down` answers it as the API's 503; `unreadable` says it
where an answer goes on without the data (GET /api/enrichment/current, GET /api/plan/loads).
Within `gathered()` the errors are kept for the caller instead of logged one by one: the Home
Assistant publication and the minute tasks read every site's data each minute and say an outage
once, when it starts, and once when it ends (`turned`)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from rest_framework.response import Response

from enrich.addresses import DATABASES
from enrich.influx import (
    InfluxAuthError,
    InfluxCertificateError,
    InfluxPrivilegeError,
    InfluxQueryError,
    InfluxUnavailable,
    TimeseriesError,
)
from enrich.redis.client import RedisUnavailable, get_redis

logger = logging.getLogger(__name__)

# What `turned` answers: the reads failed for the first time (or with another kind of error),
# or they succeed again after failing.
DOWN, BACK = "down", "back"

_gathering: ContextVar[list[Exception] | None] = ContextVar("influx_down_gathering", default=None)


@contextmanager
def gathered() -> Iterator[list[Exception]]:
    """Within: the read errors `unreadable` (and `kept`) meet go to the list given, not the log."""
    found: list[Exception] = []
    token = _gathering.set(found)
    try:
        yield found
    finally:
        _gathering.reset(token)


def kept(exc: Exception) -> bool:
    """Whether a `gathered()` block took `exc` (its caller then logs nothing of it)."""
    found = _gathering.get()
    if found is not None:
        found.append(exc)
    return found is not None


def turned(key: str, problem: Exception | None) -> str:
    """DOWN when `problem` is the first error of its kind since the reader whose state Redis
    keeps at `key` last read InfluxDB, BACK when it reads it again (no `problem`) after failing,
    "" otherwise: its caller logs the outage once when it starts and once when it ends, not at
    each failed read of each minute, however many workers meet it (they share the state)."""
    redis = get_redis()
    if problem is None:
        return BACK if redis.delete(key) else ""
    kind = type(problem).__name__
    return DOWN if redis.set(key, kind, get=True) != kind else ""


# What a 503 says of each outage or refusal: the first class the error is (a privilege error is
# an auth error too).
WHY = (
    (InfluxUnavailable, "InfluxDB does not answer (it is down, starting or overloaded); try again "
     "later. The server log names the address tried."),
    (RedisUnavailable, "Redis does not answer (it is down, starting, or refuses the connection); "
     "try again later. The server log names the address tried."),
    (InfluxCertificateError, "InfluxDB's TLS certificate could not be verified (INFLUXDB_CA_CERT "
     "names the home's own certificate authority); the server log says why."),
    (InfluxPrivilegeError, "InfluxDB refused enrich's user a privilege this read needs; the "
     "server log names it."),
    (InfluxAuthError, "InfluxDB refused enrich's credentials; the server log says more."),
)  # fmt: skip


def _why(exc: TimeseriesError | RedisUnavailable) -> str:
    said = next((words for kind, words in WHY if isinstance(exc, kind)), "")
    if not said and isinstance(exc, InfluxQueryError):
        said = _missing(exc)
    return said or "InfluxDB refused the read; the server log says why."


def _missing(exc: InfluxQueryError) -> str:
    """What InfluxDB says it does not have (a database; a retention policy, a tier's), naming the
    setting that names the database, not the database itself ("" for another refusal)."""
    setting = next((s for s in DATABASES if getattr(settings, s, "") == exc.database), "")
    where = f"the database {setting} names" if setting else "the database asked for"
    check = f"check {setting}" if setting else "check the database asked for"
    said = exc.server_message
    if said.startswith("database not found"):
        return (f"InfluxDB does not have {where}; {check}, and whether the database was dropped. "
                "The server log names it.")  # fmt: skip
    if said.startswith("retention policy not found: "):
        policy = said.removeprefix("retention policy not found: ")
        return (f"InfluxDB has no retention policy {policy} in {where}; {check}, and whether the "
                "policy was dropped. The server log names the database.")  # fmt: skip
    return ""


def unreadable(what: str, exc: TimeseriesError | RedisUnavailable) -> str:
    """The sentence "`what` cannot be read: <why>" ("The carbon data"); `exc` is logged whole
    (or gathered)."""
    if not kept(exc):
        logger.error("%s cannot be read: %s", what, exc)
    return f"{what} cannot be read: {_why(exc)}"


def influx_down(what: str, exc: TimeseriesError) -> Response:
    """The 503 saying `what` cannot be read (`unreadable`)."""
    return Response({"detail": unreadable(what, exc)}, status=503)
