"""Settings of Redis and of Celery on it (read by config.settings): the broker, the time limits
and the visibility timeout derived from them, the poison-task limit."""

from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.environment import (
    celery_url,
    number,
    redis_database_problem,
    server_url_problem,
    text,
)
from config.url_options import broker_options_problem, redis_options_problem

# --- Redis: broker, caches, budgets, locks -----------------------------------------------
REDIS_URL = text("REDIS_URL", default="redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://"
    )
# Else every cache, lock and budget failed at its first use ("Port out of range"), or the web
# app used database 0 and the workers none ("/abc").
if problem := server_url_problem(REDIS_URL, REDIS_URL.partition(":")[0]) or (
    redis_database_problem(REDIS_URL)
):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL.split('@')[-1]!r} is not usable: {problem} (e.g. "
        "redis://127.0.0.1:6379/0)."
    )
# An option redis-py does not take, or a value it cannot read, failed at the first use of Redis.
if problem := redis_options_problem(REDIS_URL):
    raise ImproperlyConfigured(f"REDIS_URL is not usable: {problem}.")
# Keys of this deployment live under this prefix, so several deployments can share a Redis.
REDIS_KEY_PREFIX = text("REDIS_KEY_PREFIX", default="enrich")

# --- Celery ------------------------------------------------------------------------------
# Celery knows no unix:// URL: the same Redis socket and database as its redis+socket:// form.
_socket = urlsplit(REDIS_URL) if REDIS_URL.startswith("unix://") else None
if _socket and (_socket.netloc or set(parse_qs(_socket.query)) - {"db"}):
    raise ImproperlyConfigured(
        "REDIS_URL names a Unix socket with a login or options: set CELERY_BROKER_URL and "
        "CELERY_RESULT_BACKEND too, e.g. redis+socket:///run/redis.sock?virtual_host=0."
    )
_db = parse_qs(_socket.query).get("db", ["0"])[-1] if _socket else ""
_celery_redis = f"redis+socket://{_socket.path}?virtual_host={_db}" if _socket else REDIS_URL
# Celery's result store takes no rediss:// URL without ssl_cert_reqs (every worker stopped at its
# start: "A rediss:// URL must have parameter ssl_cert_reqs"): it gets redis-py's default said.
if REDIS_URL.startswith("rediss://") and "ssl_cert_reqs" not in parse_qs(urlsplit(REDIS_URL).query):
    _bare = REDIS_URL.rstrip("?&")
    _celery_redis = f"{_bare}{'&' if '?' in _bare else '?'}ssl_cert_reqs=required"
CELERY_BROKER_URL = celery_url(
    "CELERY_BROKER_URL", _celery_redis, "kombu.transport.TRANSPORT_ALIASES"
)
# kombu takes none of redis-py's options but a few TLS ones: every worker, beat and task sent
# stopped on a traceback ("unexpected keyword argument 'socket_timeout'").
if (problem := broker_options_problem(CELERY_BROKER_URL)) and not text("CELERY_BROKER_URL"):
    raise ImproperlyConfigured(
        f"REDIS_URL is not usable as Celery's broker, which takes it while CELERY_BROKER_URL is "
        f"empty: {problem}. Set CELERY_BROKER_URL to the URL without it, e.g. "
        "redis://127.0.0.1:6379/0."
    )
if problem:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL is not usable: {problem}.")
CELERY_RESULT_BACKEND = celery_url(
    "CELERY_RESULT_BACKEND", _celery_redis, "celery.app.backends.BACKEND_ALIASES"
)
CELERY_TASK_SOFT_TIME_LIMIT = number("CELERY_TASK_SOFT_TIME_LIMIT", 300, at_least=1)
CELERY_TASK_TIME_LIMIT = number("CELERY_TASK_TIME_LIMIT", 360, at_least=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT, so a task can "
        "clean up before it is killed."
    )
# (soft, hard) time limits in seconds of the tasks allowed longer than the default above; the
# tasks read theirs from here, so the broker's visibility timeout is derived from them.
TASK_TIME_LIMITS: dict[str, tuple[int, int]] = {
    "retention.archive": (3 * 3600, 3 * 3600 + 300),
    "retention.restore": (3600, 3600 + 300),
    "retention.refresh_views": (2 * 3600, 2 * 3600 + 300),
    "retention.rebuild_view": (2 * 3600, 2 * 3600 + 300),
    "retention.follow_view_edits": (2 * 3600, 2 * 3600 + 300),
    "retention.downsample_hourly": (3300, 3500),
    "retention.downsample_daily": (3300, 3500),
    "retention.discover_entities": (600, 660),
    "retention.record_unavailable": (600, 660),
    "retention.record_metrics": (600, 660),
    "retention.settle_storage": (300, 360),
}
# Redis redelivers a task it has not seen acknowledged within the visibility timeout (acks_late:
# acknowledged when it ends), so it must outlast the longest run or a running task would be
# started a second time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(
        [CELERY_TASK_TIME_LIMIT, *(hard for _, hard in TASK_TIME_LIMITS.values())]
    )
    + 600
}
# A task whose worker dies under it (out of memory, killed) is delivered again; after this many
# redeliveries it is recorded as failed instead of run (enrich.deliveries).
TASK_MAX_REDELIVERIES = number("TASK_MAX_REDELIVERIES", 3)
if TASK_MAX_REDELIVERIES < 0:
    raise ImproperlyConfigured(
        f"TASK_MAX_REDELIVERIES={TASK_MAX_REDELIVERIES} must be 0 or more redeliveries."
    )
