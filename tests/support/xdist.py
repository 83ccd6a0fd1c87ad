"""A Redis database of its own for each pytest-xdist worker (`make test` runs `pytest -n N`).

PostgreSQL needs nothing: pytest-django names each worker's test database `test_<name>_gw<K>`.
InfluxDB databases, MQTT topics and Redis key prefixes of the tests are already random per
test. What is left is Redis as a whole: the Celery workers the tests start share the broker's
queues (`celery`, `unacked`, results), and some tests scan or delete every key under the
deployment's prefix. So worker `gw<K>` uses database N+K, where N is REDIS_URL's database
(`redis://127.0.0.1:6379/12` -> workers on 12, 13, 14, ...), for everything that reads
settings or the environment: the Celery broker and result backend, and the Celery workers,
crash-test processes and other child processes the tests start.
"""

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Redis's default `databases` setting; scripts/services.sh starts Redis with it.
DEFAULT_DATABASES = 16


def worker_number() -> int | None:
    """K of the xdist worker `gw<K>` this process is, or None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else None


def database_of(url: str) -> int:
    """The database number a Redis URL selects (path `/N`, or `?db=N`; default 0)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "db" in query:
        return int(query["db"])
    path = parts.path.strip("/")
    return int(path) if parts.scheme != "unix" and path else 0


def with_database(url: str, database: int) -> str:
    """The same Redis URL selecting `database` instead."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix" or "db" in query:
        query["db"] = str(database)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{database}"))


def worker_redis_url(url: str, worker: int, workers: int, databases: int) -> str:
    """The REDIS_URL of worker `worker`; refuses a range past the server's last database."""
    first = database_of(url)
    if first + workers > databases:
        raise ValueError(
            f"{workers} pytest-xdist workers need Redis databases {first}..{first + workers - 1}, "
            f"but this Redis has databases 0..{databases - 1}: give REDIS_URL a lower database "
            f"number (e.g. /{max(databases - workers, 0)}) or run fewer workers (-n)."
        )
    return with_database(url, first + worker)


def redis_databases(url: str) -> int:
    """How many databases the Redis at `url` has (its `databases` setting)."""
    from enrich.redis.client import CONNECTION_ERRORS, get_redis

    try:
        return int(get_redis(url).config_get("databases")["databases"])
    except (*CONNECTION_ERRORS, KeyError):  # tests needing Redis say so; CONFIG may be off
        return DEFAULT_DATABASES


def isolate_worker(workers_asked: int | None) -> str | None:
    """Point this xdist worker's settings, Celery app and environment at its own Redis
    database; returns the new REDIS_URL (None outside xdist). Called from pytest_configure,
    before any test or fixture runs; in the controller (`workers_asked`: its -n) it only
    checks that the databases exist, so a bad REDIS_URL fails once, before workers start."""
    from django.conf import settings

    worker = worker_number()
    if worker is None:
        if workers_asked:
            url = settings.REDIS_URL
            worker_redis_url(url, workers_asked - 1, workers_asked, redis_databases(url))
        return None

    from config.celery import app

    shared = settings.REDIS_URL
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", worker + 1))
    own = worker_redis_url(shared, worker, workers, redis_databases(shared))
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if getattr(settings, name) == shared:
            setattr(settings, name, own)
        if os.environ.get(name) == shared:
            os.environ[name] = own
    os.environ["REDIS_URL"] = own  # child processes read it (CELERY_* follow unless set)
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.result_backend = settings.CELERY_RESULT_BACKEND
    return own
