"""A carbon scenario (tests/collectors/scenarios_carbon.py) as a stored site and provider
config, for the tests that run the real pipeline and beat's minute tasks on it."""

from collectors.base import Credentials, SiteInfo
from collectors.ha_mqtt.entities import carbon_states, source_entry
from enrich.models import ProviderConfig, Site
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_carbon


def stored_config(
    site_info: SiteInfo, credentials: Credentials, provider: str, **options
) -> ProviderConfig:
    """The scenario's site and its carbon provider config (`options` added to its own)."""
    site = Site.objects.create(name=site_info.name, latitude=site_info.latitude,
                               longitude=site_info.longitude, timezone=site_info.timezone,
                               grid_region=site_info.grid_region)  # fmt: skip
    return ProviderConfig.objects.create(site=site, source="carbon_intensity", provider=provider,
                                         username=credentials.username,
                                         password=credentials.password,
                                         api_key=credentials.api_key,
                                         options={**credentials.options, **options})  # fmt: skip


def watttime_config(replay_server, replies=None, **options) -> ProviderConfig:
    """The WattTime scenario's site and provider config (its answers from the replay server)."""
    site_info, credentials, _ = scenarios_carbon.watttime(replay_server, replies)
    return stored_config(site_info, credentials, "watttime", **options)


def served(api) -> dict:
    """The carbon entry of GET /api/enrichment/current (one provider)."""
    [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"]["providers"]
    return entry


def states(config: ProviderConfig) -> dict:
    """The Home Assistant carbon entities of `config`'s answer, by entity key."""
    return {s.spec.key: s for s in carbon_states(source_entry([config], ResponseCache()))}
