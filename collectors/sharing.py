"""Provider configs that share a target: dispatch sends one collect per (provider, target)
under the first (lowest-id) config; the fetch asks for what every config sharing it asks for
(Adapter.combined_options), since the answer is shared by all of them anyway."""

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from collectors import pipeline
from collectors.base import Adapter, ConfigError, Credentials, SiteInfo
from collectors.registry import UnknownProvider, adapter_for
from enrich.crypto import UnreadableSecret
from enrich.models import ProviderConfig

# What a target depends on: the site's SiteInfo and the config's stored credentials.
_ROW_FIELDS = ("id", "provider", "username", "api_key", "password", "options", "session",
               *(f"site__{name}" for name in pipeline.SITE_FIELDS))  # fmt: skip


def whole(config_id: int) -> ProviderConfig:
    return ProviderConfig.objects.select_related("site").get(pk=config_id)


def keyed_rows(source: str, provider: str | None = None) -> Iterator[tuple[int, str, Any]]:
    """(config id, provider, target key or the ConfigError/UnknownProvider it raised) of each
    enabled config of an enabled site, lowest id first.

    Thousands of sites share a few targets, so the configs are read as plain rows (no model
    instance, no timestamps) and the target computed from them; only a config whose
    credentials come from elsewhere (an adapter with its own credentials()), are unreadable or
    hold a saved session, or whose target fails, is loaded whole and goes through
    `pipeline.target_for`."""
    rows = ProviderConfig.objects.filter(source=source, enabled=True, site__enabled=True)
    if provider is not None:
        rows = rows.filter(provider=provider)
    for config_id, provider_, *row in rows.order_by("id").values_list(*_ROW_FIELDS):
        try:
            key = _target_key(source, provider_, *row)
            if key is None:
                key = pipeline.target_for(whole(config_id)).key
        except (ConfigError, UnknownProvider) as exc:
            yield config_id, provider_, exc
            continue
        yield config_id, provider_, key


def _target_key(source, provider, username, api_key, password, options, session, *site):
    """The target key from a config's row; None when the row alone cannot tell (see
    keyed_rows). Raises what the adapter raises for a bad configuration."""
    adapter = adapter_for(source, provider)
    if type(adapter).credentials is not Adapter.credentials or session:
        return None
    if isinstance(api_key, UnreadableSecret) or isinstance(password, UnreadableSecret):
        return None  # target_for names the row and field
    plain = pipeline.stored_credentials(username, password, api_key, options, {})
    return adapter.target(SiteInfo(*site), plain).key


def others_options(config: ProviderConfig, key: str) -> list[Mapping[str, Any]]:
    """The options of the other collectable configs whose target is `key` (the run's)."""
    ids = [
        config_id
        for config_id, _, found in keyed_rows(config.source, config.provider)
        if found == key and config_id != config.pk
    ]
    options = ProviderConfig.objects.filter(pk__in=ids).values_list("options", flat=True)
    return [found for found in options if isinstance(found, dict)]


def shared(config: ProviderConfig, key: str, creds: Credentials) -> Credentials:
    """The credentials of a fetch asking for what every config sharing its target asks."""
    adapter = adapter_for(config.source, config.provider)
    own = creds.options  # its additive names are among the adapter's options (the admin's)
    if all(own.get(name) == ranks[-1] for name, ranks in adapter.additive.items()):
        return creds  # it asks for the most already (or nothing adds to this provider's fetch)
    others = others_options(config, key)
    if not others:
        return creds
    return replace(creds, options=dict(adapter.combined_options(creds.options, others)))
