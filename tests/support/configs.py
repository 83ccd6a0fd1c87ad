"""Provider settings the tests create often: AirNow for a site, pointed at the replay server."""

from __future__ import annotations

from enrich.models import ProviderConfig, Site


def airnow(
    site: Site, base_url: str, api_key: str = "k", options: dict | None = None, **fields
) -> ProviderConfig:
    """An enabled AirNow configuration of `site` whose calls go to `base_url` (`options`: more
    provider options)."""
    return ProviderConfig.objects.create(
        site=site,
        source="air_quality",
        provider="airnow",
        api_key=api_key,
        options={"base_url": base_url, **(options or {})},
        **fields,
    )
