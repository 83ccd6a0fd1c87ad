"""Dispatch reads provider configs as rows: the same targets as `pipeline.target_for` gives
for each whole config, in a number of database queries that does not grow with the sites."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db

# (source, provider, grid_region, pricing_region, api_key)
REGIONS = [
    ("carbon_intensity", "uk_carbon_intensity", "13", "", ""),
    ("carbon_intensity", "uk_carbon_intensity", "12", "", ""),
    ("carbon_intensity", "electricitymaps", "DE", "", "em-key"),
    ("carbon_intensity", "electricitymaps", "", "", "em-key"),  # by coordinates
    ("electricity_pricing", "octopus", "", "C", ""),
    ("electricity_pricing", "awattar", "", "AT", ""),
]


def make_sites(first: int, count: int) -> None:
    for n in range(first, first + count):
        source, provider, grid, pricing, key = REGIONS[n % len(REGIONS)]
        site = Site.objects.create(
            name=f"home {n}", latitude=50 + (n % 3) * 0.5, longitude=8.0, timezone="Europe/Berlin",
            grid_region=grid, pricing_region=pricing,
        )  # fmt: skip
        ProviderConfig.objects.create(site=site, source=source, provider=provider, api_key=key)


def expected(source: str) -> dict[tuple[str, str], int]:
    """What the whole-config path chooses: the first config (by id) per target."""
    chosen: dict[tuple[str, str], int] = {}
    for config in ProviderConfig.objects.filter(source=source).order_by("id"):
        chosen.setdefault((config.provider, pipeline.target_for(config).key), config.pk)
    return chosen


@pytest.mark.parametrize("source", ["carbon_intensity", "electricity_pricing"])
def test_targets_from_rows_equal_the_whole_configs_targets(isolated, source):
    make_sites(0, 60)
    with CaptureQueriesContext(connection) as few:
        chosen = tasks.configs_by_target(source)
    assert {target: config.pk for target, config in chosen.items()} == expected(source)
    assert all(config.site.name.startswith("home") for config in chosen.values())
    make_sites(60, 180)  # four times the sites, the same targets
    with CaptureQueriesContext(connection) as more:
        again = tasks.configs_by_target(source)
    assert {t: c.pk for t, c in again.items()} == {t: c.pk for t, c in chosen.items()}
    assert len(more.captured_queries) == len(few.captured_queries) <= 3


def test_a_config_with_a_saved_session_or_a_bad_target_goes_the_whole_way(isolated):
    site = Site.objects.create(name="meter home", latitude=52.5, longitude=13.4)
    with_session = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="sense", username="me@example.org",
        password="secret", session='{"access_token": "t", "monitor_id": 7}',
    )  # fmt: skip
    without_login = ProviderConfig.objects.create(
        site=Site.objects.create(name="no login", latitude=52.5, longitude=13.4),
        source="smart_meter", provider="sense",
    )  # fmt: skip
    chosen = tasks.configs_by_target("smart_meter")
    assert list(chosen.values()) == [with_session]
    assert list(chosen) == [("sense", pipeline.target_for(with_session).key)]
    failed = CollectorRun.objects.get(status="failed")
    assert failed.target == f"site:{without_login.site_id}"
    assert "e-mail and password" in failed.error
