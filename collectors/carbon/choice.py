"""Which of a site's carbon providers answers for it: one rule for the plan (`GET /api/plan`,
the flexible loads: collectors.pricing.plan_inputs) and `GET /api/carbon/series`.

The site's enabled carbon intensity providers are tried in name order (electricitymaps,
uk_carbon_intensity, watttime), passing over one whose settings are incomplete or that names a
provider this enrich has no adapter for; the first with carbon stored for the time asked is
used (docs/plan.md, "Where the carbon comes from"). Each reads the site's own region
(`carbon_region`), never another site's of the same provider.
"""

from collectors.base import ConfigError
from collectors.pipeline import target_for
from collectors.registry import UnknownProvider
from enrich.models import ProviderConfig, Site
from enrich.redis.cache import ResponseCache
from enrich.redis.client import RedisUnavailable

CARBON = "carbon_intensity"


class Unusable(Exception):
    """A carbon provider config that cannot be read from; the message says what to fix."""


def carbon_configs(site: Site) -> list[ProviderConfig]:
    """The site's enabled carbon intensity providers, in the order they are tried: by name."""
    return list(
        ProviderConfig.objects.filter(site=site, source=CARBON, enabled=True).order_by("provider")
    )


def no_provider(site: Site) -> str:
    """What /api/carbon/series (a 409) and the status page's carbon chart say of a site with
    no carbon provider."""
    return (
        f"Site {site.name!r} has no enabled carbon intensity provider; add one in the admin "
        "(Provider configs)."
    )


def carbon_key(config: ProviderConfig) -> str:
    """The key of the config's target (zone, region, postcode); Unusable when its settings are
    incomplete or it names a provider this enrich does not have (renamed or removed)."""
    try:
        return target_for(config).key
    except ConfigError as exc:
        raise Unusable(f"the {config.provider} settings are incomplete ({exc})") from None
    except UnknownProvider as exc:
        why = str(exc).rstrip(".")
        raise Unusable(f"the carbon intensity provider is set to {config.provider!r}, which "
                       f"this enrich does not have ({why}); choose one in the admin "
                       "(Provider configs)") from None  # fmt: skip


def carbon_region(config: ProviderConfig) -> str:
    """The region tag of the config's points: the one the collector wrote, named by the last
    answer in Redis (UK postcodes are stored under the region's name), else the target's own
    key (an Electricity Maps zone); Unusable as `carbon_key`."""
    key = carbon_key(config)
    try:
        answer = ResponseCache().last_good(config.source, config.provider, key)
    except RedisUnavailable:
        answer = None
    value = answer.value if answer is not None else None
    return str(value.get("region") or key) if isinstance(value, dict) else key
