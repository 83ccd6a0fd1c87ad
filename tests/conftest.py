"""Fixtures shared by all tests."""

from collections.abc import Iterator

import pytest

from enrich.redis_client import CONNECTION_ERRORS, get_redis, make_key
from tests.support.replay import ReplayServer


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
