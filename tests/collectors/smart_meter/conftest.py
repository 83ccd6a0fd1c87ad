import pytest

from enrich.redis.client import CONNECTION_ERRORS
from tests.support.meter_days import forget_schedules


@pytest.fixture(autouse=True)
def no_schedules_of_other_tests() -> None:
    """The meters' schedules kept in Redis (collectors/smart_meter/shared.py) by an earlier test
    that shares this test's key prefix (no `isolated`), on a hand-moved clock, would hold for an
    account of a replay server on the same port: forgotten before each test."""
    try:
        forget_schedules()
    except CONNECTION_ERRORS:
        pass  # the tests that need Redis say so themselves
