"""Fixtures shared by all tests."""

from collections.abc import Iterator

import pytest
from django.conf import settings

from enrich.redis.client import CONNECTION_ERRORS, get_redis, make_key
from tests.support.chromium import SharedChromium
from tests.support.databases import django_db_keepdb  # noqa: F401  (fixture)
from tests.support.flush import delete_on_flush
from tests.support.isolation import created_unowned, unowned_default
from tests.support.replay import ReplayServer
from tests.support.xdist import isolate_worker

UNOWNED = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`make test` runs `pytest -n N`) each worker gets its own Redis
    database, so the workers' Celery queues and key scans never meet (tests/support/xdist.py).
    A transactional test's database is emptied with DELETE (tests/support/flush.py).
    INFLUXDB_DATABASE and the other default databases name databases no test owns
    (tests/support/isolation.py)."""
    delete_on_flush()
    config.stash[UNOWNED] = unowned_default(settings)
    try:
        isolate_worker(getattr(config.option, "numprocesses", None))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(autouse=True)
def no_default_database(request) -> Iterator[None]:
    """A test that created a default InfluxDB database (INFLUXDB_DATABASE, HA_INFLUXDB_DATABASE,
    ... with no database of its own) fails, named: a later test there would pass only after it."""
    yield
    created = created_unowned(request.config.stash[UNOWNED])
    if created:
        pytest.fail(
            f"{request.node.nodeid} created the default InfluxDB database of "
            f"{', '.join(created)} (left unset): give it a database of its own "
            "(tests/support/isolation.py)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def project_celery_app(request) -> Iterator[None]:
    """A test that left another Celery app current (Celery(...) is made current unless
    set_as_current=False) fails, named: the project's tasks (shared_task) are sent by the current
    app, so every later test's would go to that app's broker and result store."""
    yield
    from celery import current_app

    from config.celery import app

    left = current_app._get_current_object()
    if left is not app:
        app.set_current()  # the next tests send as they should
        pytest.fail(
            f"{request.node.nodeid} left the Celery app {left.main!r} current: make it with "
            "set_as_current=False",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[None]:
    """Django's default hasher, PBKDF2 at 1,000,000 rounds, costs about half a second of CPU per
    password made or checked, and the tests make hundreds (every admin and token fixture): it
    was a fifth of the suite's CPU time. In the test process passwords are hashed with MD5, as
    Django's testing docs advise; the default hashers follow it, so a password that a child
    process (a command, a worker) hashed as a deployment does can still be checked here."""
    from django.conf import global_settings
    from django.test import override_settings

    md5 = "django.contrib.auth.hashers.MD5PasswordHasher"
    quick = override_settings(PASSWORD_HASHERS=[md5, *global_settings.PASSWORD_HASHERS])
    quick.enable()
    yield
    quick.disable()


@pytest.fixture(scope="session", autouse=True)
def fresh_api_throttles() -> None:
    """API throttle counts outlive a run in Redis (keyed by user id, which a new test database
    hands out again): forget an earlier run's, so this run is not throttled by them."""
    try:
        redis = get_redis()
        for key in redis.scan_iter(match=make_key("ratelimit") + ":api-*", count=1000):
            redis.delete(key)
    except CONNECTION_ERRORS:
        pass  # the tests that need Redis say so themselves


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A fresh local HTTP server replaying scripted API answers (see tests/support/replay.py)."""
    with ReplayServer() as server:
        yield server


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> Iterator[SharedChromium]:
    """The one headless Chromium of this test process, started by its first browser test."""
    shared = SharedChromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield shared
    shared.quit()


@pytest.fixture
def browser(chromium):
    """Headless Chromium as if started for the test: a new window of a user context of the
    test's own (the occupancy and dashboard browser tests; tests/support/chromium.py)."""
    yield chromium.fresh()
    chromium.forget()
