"""The one place that builds Redis clients and key names (settings REDIS_URL, REDIS_KEY_PREFIX).

Named ``redis_client`` so it does not shadow the ``redis`` package.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from django.conf import settings
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from enrich.errors import Transient
from enrich.redis.connection import connection_for

# Errors meaning "Redis cannot be reached", as opposed to a bug in a command.
CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisUnavailable(RuntimeError, Transient):
    """Redis cannot be reached; the message names the URL and what to do."""

    def __init__(self, url: str, cause: BaseException | str, what: str = "Redis") -> None:
        self.url = redacted_url(url)
        advice = (
            "Start Redis (`make services` or `scripts/services.sh redis`) or correct REDIS_URL."
        )
        if "certificate verify failed" in str(cause):  # rediss:// with the home's own CA
            advice = (
                "Its TLS certificate could not be verified: where the home signs it, give that "
                "CA's PEM file in REDIS_URL (rediss://…?ssl_ca_certs=/path/to/ca.pem)."
            )
        self.message = (
            f"{what} is unavailable: cannot reach Redis at REDIS_URL={self.url} ({cause}). {advice}"
        )
        # Its args are what it is made from, not its message: a copy made from them (pickled, or
        # read back from Celery's result store) is whole, so a task declaring it (`throws`)
        # logs it as expected, without a traceback.
        super().__init__(self.url, str(cause), what)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:  # as Celery's log line of a failed task shows it
        return f"{type(self).__name__}({self.message!r})"


def redis_url() -> str:
    return settings.REDIS_URL


@contextmanager
def reachable(what: str) -> Iterator[None]:
    """`with reachable("The rate limit memory"):` Redis out of reach inside becomes a
    RedisUnavailable naming `what` (a Transient: the task tries again later)."""
    try:
        yield
    except CONNECTION_ERRORS as exc:
        raise RedisUnavailable(redis_url(), exc, what) from exc


def key_prefix() -> str:
    return settings.REDIS_KEY_PREFIX


def get_redis(url: str | None = None) -> redis.Redis:
    """A client for ``url`` (default: settings.REDIS_URL), shared within the process."""
    return _client(url or redis_url())


@lru_cache(maxsize=16)
def _client(url: str) -> redis.Redis:
    # One pool per URL. redis-py pools notice a fork and reconnect, so this is safe in Celery's
    # prefork workers. A down Redis fails within a second or two, not after ten retries; one that
    # does not answer, within a web request's time (enrich.redis.connection).
    return redis.Redis.from_url(
        url,
        connection_class=connection_for(url),
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
    )


def own_redis(url: str | None = None) -> redis.Redis:
    """A client of its own for ``url`` (default: settings.REDIS_URL), asking once, within a
    second: for a signal handler, which may interrupt the process's shared client mid-command
    (its pool's lock held), and must not hold up a stop."""
    return redis.Redis.from_url(
        url or redis_url(), decode_responses=True, socket_connect_timeout=1, socket_timeout=1
    )


def key_part(part: str) -> str:
    """Escape one key part deterministically: keeps letters, digits and ``_.-~``.

    ``:`` (our separator), spaces, commas and anything else become %XX, so
    "SW1A 1AA" -> "SW1A%201AA" and "51.5,-0.12" -> "51.5%2C-0.12" and parts never collide.
    """
    part = str(part)
    if not part:
        raise ValueError("A Redis key part must not be empty.")
    return quote(part, safe="")


def make_key(*parts: str, prefix: str | None = None) -> str:
    """``<prefix>:<part>:<part>...`` with every part escaped by :func:`key_part`."""
    return ":".join([prefix if prefix is not None else key_prefix(), *map(key_part, parts)])


def redacted_url(url: str) -> str:
    """The URL without its password, fit for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
