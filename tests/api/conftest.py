"""Fixtures of the API tests: storage of the test's own, and the plan tests' site with its
prices and carbon collected, and their signed-in client; a staff client, throttle counts of
the test's own and a site with room to send many values for the bad-input tests."""

import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from config.celery import app
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_carbon, scenarios_pricing
from tests.support import isolation, schema_install
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
def many_reads(settings):
    """A read throttle that lets a test ask at every slot edge of a day or two."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


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


@pytest.fixture
def home(settings, tmp_path) -> Iterator[Site]:
    """One site (so `site` may be left out), an archive target (so an archive or restore that
    were wrongly let through would run), throttles that let each test send all its values.
    Tasks queued meanwhile are taken off the broker's queues after the test: no worker runs
    them here, and a later test's worker would (as in tests/retention/rollups/conftest.py)."""
    settings.ARCHIVE_LOCAL_DIR, settings.S3_ARCHIVE_BUCKET = tmp_path / "archive", ""
    rates = {"anon": "1000/minute", "user": "1000/minute", "trigger": "1000/hour",
             "token": "1000/minute"}  # fmt: skip
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    yield Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    app.control.purge()


@pytest.fixture
def install(collected, replay_server, settings, tmp_path):
    """The schema tests' populated install (tests.support.schema_install) and its signed-in
    read-only client: (client, what fills the queries' `{site}`, `{run}`, ... in)."""
    return schema_install.populated(collected, replay_server, settings, tmp_path)
