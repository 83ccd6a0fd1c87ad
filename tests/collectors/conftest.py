import pytest

from tests.collectors.sense_feed import FeedServer, realtime_session


@pytest.fixture(autouse=True)
def fast_http(settings):
    """Real retries and backoff, kept short: one retry after 10 ms, a 5 s timeout."""
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def feed():
    """A local Sense realtime feed answering one realtime session (tests/collectors/sense_feed)."""
    with FeedServer() as server:
        server.script(realtime_session())
        yield server
