"""Provider settings the tests create often: AirNow for a site, pointed at the replay server;
a provider whose API is out of reach; the admin's "Clear secrets" of a config."""

from __future__ import annotations

import json

from enrich.models import ProviderConfig, Site
from tests.support.replay import unused_url


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


def unreachable(site: Site, source: str, provider: str) -> ProviderConfig:
    """An enabled configuration of `site` whose calls find nothing listening (connection
    refused), as a first start without internet."""
    return ProviderConfig.objects.create(
        site=site, source=source, provider=provider, options={"base_url": unused_url()}
    )


def clear_secrets(client, config: ProviderConfig):
    """The admin's change form of `config` saved with "Clear secrets" ticked, as `client` sees
    it after the redirect (its messages in the page)."""
    data = {
        "site": config.site_id,
        "source": config.source,
        "provider": config.provider,
        "enabled": "on" if config.enabled else "",
        "interval_seconds": str(config.interval_seconds),
        "username": config.username,
        "api_key": "",
        "password": "",
        "options": json.dumps(config.options),
        "clear_secrets": "on",
    }
    url = f"/admin/enrich/providerconfig/{config.pk}/change/"
    return client.post(url, data, follow=True)
