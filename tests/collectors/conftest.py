import pytest

from enrich.models import ProviderConfig, Site
from tests.collectors.sense_feed import FeedServer, realtime_session
from tests.support.isolation import own_storage


@pytest.fixture(autouse=True)
def fast_http(settings):
    """Real retries and backoff, kept short: one retry after 10 ms, a 5 s timeout."""
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_TIMEOUT_SECONDS = 5.0


class Clock:
    """A hand-moved monotonic clock, so expiry (tokens, lookups kept a day) is tested without
    waiting: move `clock.now` forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def feed():
    """A local Sense realtime feed answering one realtime session (tests/collectors/sense_feed)."""
    with FeedServer() as server:
        server.script(realtime_session())
        yield server


@pytest.fixture
def isolated(settings):
    """Own InfluxDB database and Redis key prefix per test (pipeline tests)."""
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    with own_storage(settings, "pipe") as ts:
        yield ts


@pytest.fixture
def electricitymaps_config(replay_server):
    """A Berlin site collecting carbon intensity from Electricity Maps (a provider with
    history) through the replay server, every 15 minutes."""
    site = Site.objects.create(name="Berlin", latitude=52.52, longitude=13.405, grid_region="DE")
    return ProviderConfig.objects.create(
        site=site,
        source="carbon_intensity",
        provider="electricitymaps",
        interval_seconds=900,
        api_key="test-em-token-abc",
        options={"base_url": replay_server.url + "/v3"},
    )
