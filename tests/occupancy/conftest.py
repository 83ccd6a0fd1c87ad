"""Google's endpoints played by the local replay server; a site and its calendar provider;
Redis keys and an InfluxDB database per test."""

import uuid

import pytest

from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis
from tests.support.isolation import fresh_database

CLIENT_ID = "123-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-client-secret"


@pytest.fixture
def google(settings, replay_server):
    """Settings pointing every Google endpoint at the replay server."""
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = CLIENT_SECRET
    settings.GOOGLE_REFRESH_TOKEN = ""
    settings.GOOGLE_REDIRECT_URI = ""
    settings.GOOGLE_AUTH_URI = replay_server.url_for("/o/oauth2/auth")
    settings.GOOGLE_TOKEN_URI = replay_server.url_for("/token")
    settings.GOOGLE_API_BASE = replay_server.url
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.REDIS_KEY_PREFIX = f"test-oauth-{uuid.uuid4().hex[:10]}"
    yield replay_server
    redis = get_redis()
    for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        redis.delete(key)


@pytest.fixture
def site(db):
    return Site.objects.create(
        name="Berlin flat", latitude=52.52, longitude=13.405, timezone="Europe/Berlin"
    )


@pytest.fixture
def calendar(site):
    return ProviderConfig.objects.create(
        site=site, source="occupancy", provider="google_calendar", interval_seconds=900
    )


@pytest.fixture
def influx(settings, google):
    with fresh_database("occ") as settings.INFLUXDB_DATABASE:
        yield get_timeseries()
