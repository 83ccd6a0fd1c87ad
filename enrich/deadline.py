"""How long a web request may still wait for Redis and InfluxDB.

gunicorn kills the worker of a request that runs past WEB_TIMEOUT: its client gets a dropped
connection (a proxy's bare 502), not the 503 that says which service does not answer. A Redis
or InfluxDB that takes connections but never answers (a paused container, an InfluxDB thrashing
on a small server) made each call wait its own timeout, and redis-py tried each command three
times. So `request_deadline` (first in MIDDLEWARE) gives each request WAITING_SHARE of
WEB_TIMEOUT for its waits on those services, the rest staying for answering without them; the
doors (enrich.redis.connection, enrich.influx.gateway, the archive's S3 module) wait at most
`wait_at_most()` for each call, and a service that did not answer in time (`missed()`) fails at once for the rest of the
request: a request asking Redis five times waits once. Outside a request (Celery workers,
commands) nothing is capped: each call waits its own timeout.
"""

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse

WAITING_SHARE = 2 / 3


class NoAnswer(Exception):
    """The service did not answer within the request's time; each door raises it as its own
    "does not answer" error (redis-py's TimeoutError, InfluxUnavailable)."""


@dataclass
class _Request:
    ends: float  # time.monotonic() by which the request's waits on services end
    silent: set[str] = field(default_factory=set)  # the services that did not answer in time


_current: ContextVar[_Request | None] = ContextVar("request_deadline", default=None)


def wait_at_most(service: str, timeout: float | None) -> float | None:
    """`timeout` (None: no limit of its own), or the time the current request has left for
    `service` when shorter; NoAnswer when it has none left, or `service` did not answer earlier
    in it."""
    request = _current.get()
    if request is None:
        return timeout
    if service in request.silent:
        raise NoAnswer(f"{service} did not answer earlier in this request")
    left = request.ends - time.monotonic()
    if left <= 0:
        raise NoAnswer(f"this request had no time left to wait for {service} (WEB_TIMEOUT)")
    return left if timeout is None else min(timeout, left)


def missed(service: str) -> None:
    """`service` did not answer in time: it fails at once for the rest of the current request."""
    request = _current.get()
    if request is not None:
        request.silent.add(service)


def request_deadline(get_response: Callable[[HttpRequest], HttpResponse]):
    """Middleware: each request's waits on Redis and InfluxDB end within WEB_TIMEOUT."""

    def middleware(request: HttpRequest) -> HttpResponse:
        ends = time.monotonic() + settings.WEB_TIMEOUT * WAITING_SHARE
        token = _current.set(_Request(ends))
        try:
            return get_response(request)
        finally:
            _current.reset(token)

    return middleware
