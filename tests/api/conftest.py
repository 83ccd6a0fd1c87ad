"""Fixtures of the API tests: storage of the test's own, and the plan tests' site with its
prices and carbon collected, and their signed-in client; a staff client and throttle counts of
the test's own for the bad-input tests."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_carbon, scenarios_pricing
from tests.support import isolation
from tests.support.plan import NOW


@pytest.fixture
def own_storage(settings):
    """An InfluxDB database and a Redis key prefix of this test's own; yields the database."""
    with isolation.own_storage(settings, "api"):
        yield settings.INFLUXDB_DATABASE


@pytest.fixture
def collected(own_storage, replay_server, monkeypatch):
    """The plan tests' site, Twyford: Octopus Agile (region C) and UK Carbon Intensity (RG10)
    collected from their documented payloads at NOW (tests/support/plan.py), the clock at NOW."""
    scenarios_pricing.octopus(replay_server)
    scenarios_carbon.uk_carbon_intensity(replay_server)
    site = Site.objects.create(name="Twyford", latitude=51.48, longitude=-0.86,
                               timezone="Europe/London", pricing_region="C",
                               grid_region="RG10 9XX")  # fmt: skip
    options = {"base_url": replay_server.url}
    for source, provider in (("electricity_pricing", "octopus"), ("carbon_intensity",
                                                                   "uk_carbon_intensity")):  # fmt: skip
        config = ProviderConfig.objects.create(site=site, source=source, provider=provider,
                                               options=options)  # fmt: skip
        assert pipeline.collect(config, now=NOW).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return site


@pytest.fixture
def own_throttle_counts(settings):
    """Rate-limit counters of this test's own (the bad-input tests send many requests)."""
    settings.REDIS_KEY_PREFIX = f"test-bad-input-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def staff() -> APIClient:
    """A client signed in as a new staff user (may trigger work)."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("ops", is_staff=True))
    return client


@pytest.fixture
def api():
    """A client signed in as a new user (the plan tests')."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("planner"))
    return client
