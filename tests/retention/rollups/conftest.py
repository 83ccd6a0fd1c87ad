"""Fixtures of the materialized-view tests: view locks under a prefix of the test's own, an
enrichment database for the prices and carbon the views read, and for the tests of the
follow-up of registry changes on a real worker: empty Celery queues, a broker out of reach."""

import uuid
from collections.abc import Iterator

import pytest

from config.celery import app
from tests.support.isolation import fresh_database
from tests.support.ports import free_port


@pytest.fixture(autouse=True)
def own_locks(settings):
    """A Redis key prefix of this test's own: the view locks of another (or a killed) test
    run must not make this one's refreshes skip."""
    settings.REDIS_KEY_PREFIX = f"test-views-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def enrich_db(settings) -> Iterator[str]:
    """A fresh enrichment database (prices, carbon) named by INFLUXDB_DATABASE."""
    settings.ENERGY_FLAT_TARIFF = None
    settings.ENERGY_FLAT_TARIFF_CURRENCY = "EUR"
    settings.TIME_ZONE = "UTC"
    with fresh_database("enrich") as settings.INFLUXDB_DATABASE:
        yield settings.INFLUXDB_DATABASE


@pytest.fixture
def empty_queues() -> Iterator[None]:
    """No task left in the broker by an earlier test (one that failed before its worker ran
    what it queued) runs in this test's worker, and none of this test's outlives it."""
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def broker_down(request) -> Iterator[None]:
    """Celery's broker URL pointing where nothing listens (the pools made again around it;
    the queues emptied while it is reachable)."""
    request.getfixturevalue("empty_queues")
    given = app.conf.broker_url

    def use(url: str) -> None:
        # Celery keeps the connection and producer pools of the URL it first used.
        app._pool = None
        setattr(app.amqp, "_producer_pool", None)  # noqa: B010  (vulture: set, never read here)
        app.conf.broker_url = url

    use(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        use(given)
