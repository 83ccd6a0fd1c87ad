"""redis-py's connections, each wait for Redis capped by the web request's time left
(enrich.deadline): a Redis that takes connections but never answers costs a request one wait,
after which every command of that request, redis-py's own retries included, fails at once with
redis-py's TimeoutError, which every caller already reads as Redis out of reach. Outside a
request they are redis-py's connections as they are."""

from functools import cache
from urllib.parse import urlsplit

import redis
from redis.utils import SENTINEL

from enrich.deadline import NoAnswer, missed, wait_at_most

SERVICE = "Redis"


def _wait_at_most(timeout: float | None) -> float | None:
    try:
        return wait_at_most(SERVICE, timeout)
    except NoAnswer as exc:
        raise redis.exceptions.TimeoutError(str(exc)) from None


class _WithinRequest:
    """Mixed into redis-py's connection classes (TCP, TLS, Unix socket) and kombu's (within_request)."""

    socket_timeout: float | None
    socket_connect_timeout: float | None

    def connect_check_health(self, *args, **kwargs):
        _wait_at_most(self.socket_connect_timeout)
        try:
            return super().connect_check_health(*args, **kwargs)
        except redis.exceptions.TimeoutError:
            missed(SERVICE)
            raise

    def send_packed_command(self, *args, **kwargs):
        _wait_at_most(self.socket_timeout)
        return super().send_packed_command(*args, **kwargs)

    def read_response(self, *args, timeout=SENTINEL, **kwargs):
        left = _wait_at_most(self.socket_timeout)
        if timeout is SENTINEL and left != self.socket_timeout:  # the request's time is shorter
            timeout = left
        try:
            return super().read_response(*args, timeout=timeout, **kwargs)
        except redis.exceptions.TimeoutError:
            missed(SERVICE)
            raise


# redis-py's connection class of each URL scheme (redis:// and others: TCP).
_BY_SCHEME = {"rediss": redis.SSLConnection, "unix": redis.UnixDomainSocketConnection}


def connection_for(url: str) -> type[redis.Connection]:
    """The connection class for `url`, as redis-py picks it from the scheme, its waits capped."""
    return within_request(_BY_SCHEME.get(urlsplit(url).scheme, redis.Connection))


@cache
def within_request(connection_class: type[redis.Connection]) -> type[redis.Connection]:
    """`connection_class` (one of redis-py's, or a subclass: kombu's) with its waits capped as
    the module says; one class for each."""
    return type(connection_class.__name__, (_WithinRequest, connection_class), {})
