"""Fixtures of the tests that queue Celery tasks: empty queues, a broker out of reach. Import
them into the conftest (or test module) that uses them."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from config.celery import app
from tests.support.ports import free_port


@pytest.fixture
def empty_queues() -> Iterator[None]:
    """No task left in the broker by an earlier test (one that failed before its worker ran
    what it queued) runs in this test's worker, and none of this test's outlives it."""
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def broker_down(request) -> Iterator[None]:
    """Celery's broker URL pointing where nothing listens (the queues emptied while it is
    reachable)."""
    request.getfixturevalue("empty_queues")
    with broker_at(f"redis://127.0.0.1:{free_port()}/0"):
        yield


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Celery's broker URL `url` in the block (the pools made again around it), e.g. a Redis
    of the test's own (tests.support.redis_server)."""
    given = app.conf.broker_url
    _use(url)
    try:
        yield
    finally:
        _use(given)


def _use(url: str) -> None:
    # Celery keeps the connection and producer pools of the URL it first used.
    app._pool = None
    setattr(app.amqp, "_producer_pool", None)  # noqa: B010  (vulture: set, never read here)
    app.conf.broker_url = url
