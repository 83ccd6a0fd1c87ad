"""Provider settings a fuzz run found crashing the pipeline or silently misread, through the
real pipeline (PostgreSQL, Redis, InfluxDB; each provider's API on the replay server, Sense's
feed on its local websocket server): each is now a failed, not transient, run whose error
names the setting, refused before any call. Without the checks they raised out of `collect`
(ValueError, TypeError, ZeroDivisionError, OverflowError), failed saying something else, or
ran with the setting misread."""

from dataclasses import asdict, replace

import pytest

from collectors import pipeline, registry
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_air_quality import SCENARIOS as AIR_QUALITY
from tests.collectors.scenarios_carbon import SCENARIOS as CARBON
from tests.collectors.scenarios_pricing import SCENARIOS as PRICING
from tests.collectors.scenarios_smart_meter import SCENARIOS as SMART_METER

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("fresh_adapters"),
]
SCENARIOS = {**AIR_QUALITY, **CARBON, **PRICING, **SMART_METER}
SOURCE = {provider: source for source, provider in registry.BY_KEY}


@pytest.fixture
def fresh_adapters(isolated):
    """Adapters without the logins and sessions earlier tests left in them."""
    registry.adapter_for.cache_clear()
    yield isolated
    registry.adapter_for.cache_clear()


def refused(server, provider: str, *, site: dict | None = None, **options) -> CollectorRun:
    """Collect `provider`'s scenario (its answers served) with `options` (and `site` fields)
    changed; the run it recorded, checked to be a failure not worth retrying, with no call."""
    site_info, credentials, now = SCENARIOS[provider](server)
    username = options.pop("username", credentials.username)
    config = ProviderConfig.objects.create(
        site=Site.objects.create(**asdict(replace(site_info, **(site or {})))),
        source=SOURCE[provider],
        provider=provider,
        interval_seconds=300,
        username=username,
        password=credentials.password,
        api_key=credentials.api_key,
        options={**credentials.options, **options},
    )
    outcome = pipeline.collect(config, now=now)
    run = CollectorRun.objects.get()
    assert (outcome.status, run.status, outcome.transient) == ("failed", "failed", False)
    assert run.error.startswith("ConfigError: "), run.error
    assert server.calls() == []
    return run


@pytest.mark.parametrize("grid_region", ["²", "١٢", "1²"])
def test_a_grid_region_of_other_digits_than_0_9_is_refused_naming_it(replay_server, grid_region):
    # "²".isdigit() is true and int() refuses it; int("١٢") reads region 12.
    run = refused(replay_server, "uk_carbon_intensity", site={"grid_region": grid_region})
    assert f"cannot use grid region {grid_region!r}" in run.error and "GRID_REGION" in run.error


@pytest.mark.parametrize("zip_code", ["١٢٣٤٥", "９８１０４"])
def test_a_zip_code_of_other_digits_than_0_9_is_refused_naming_it(replay_server, zip_code):
    # \d matched Arabic-Indic and full-width digits, sent to AirNow as the zip code.
    run = refused(replay_server, "airnow", zip_code=zip_code)
    assert f"zip_code {zip_code!r} is not a 5-digit US ZIP code" in run.error


@pytest.mark.parametrize("provider", sorted(PRICING))
@pytest.mark.parametrize("hours", [1e-9, "1e-320", 0.0166])
def test_a_window_hours_under_a_minute_is_refused_naming_it(replay_server, provider, hours):
    # Under a minute the cheapest_hours search divided by a window of no time at all.
    run = refused(replay_server, provider, window_hours=hours)
    assert f"options.window_hours {hours!r} is not valid" in run.error
    assert "at least a minute" in run.error
