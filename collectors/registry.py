"""Every provider adapter, in one plain list. What a provider needs beyond target() and
fetch() (its own credentials, saving renewed ones, an auth-failure note, work after a write,
a value computed when read) is a method of its adapter class (collectors.base.Adapter)."""

from functools import cache
from typing import Any

from collectors.air_quality.airnow import AirNowAdapter
from collectors.base import Adapter
from collectors.carbon.electricitymaps import ElectricityMapsAdapter
from collectors.carbon.uk_carbon_intensity import UKCarbonIntensityAdapter
from collectors.carbon.watttime import WattTimeAdapter
from collectors.occupancy.google.adapter import GoogleCalendarAdapter
from collectors.pricing.awattar import AwattarAdapter
from collectors.pricing.octopus import OctopusAgileAdapter
from collectors.pricing.tibber import TibberAdapter
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from collectors.smart_meter.home_assistant import HomeAssistantMeterAdapter
from collectors.smart_meter.sense.adapter import SenseAdapter

ADAPTERS: list[type[Adapter]] = [
    WattTimeAdapter,
    ElectricityMapsAdapter,
    UKCarbonIntensityAdapter,
    AwattarAdapter,
    TibberAdapter,
    OctopusAgileAdapter,
    AirNowAdapter,
    GoogleCalendarAdapter,
    EmporiaVueAdapter,
    SenseAdapter,
    HomeAssistantMeterAdapter,
]

BY_KEY: dict[tuple[str, str], type[Adapter]] = {(a.source, a.provider): a for a in ADAPTERS}


class UnknownProvider(LookupError):
    pass


@cache
def adapter_for(source: str, provider: str) -> Adapter:
    """The one instance of the adapter for (source, provider) in this process (adapters keep
    login sessions and endpoint memory between fetches)."""
    try:
        return BY_KEY[(source, provider)]()
    except KeyError:
        known = ", ".join(p for s, p in BY_KEY if s == source) or "none"
        raise UnknownProvider(
            f"No adapter for {source}/{provider}; providers of {source}: {known}."
        ) from None


def unknown_options(sender: Any, config: Any, **_: Any) -> str:
    """Receiver of enrich.models.options_check: the option names of `config` its provider's
    adapter does not read (a typo would be silently ignored), with the ones it reads."""
    adapter = BY_KEY.get((config.source, config.provider))
    if adapter is None:  # ProviderConfig.clean refuses a provider not serving the source
        return ""
    known = adapter.known_options()
    unknown = sorted(set(config.options) - known)
    if not unknown:
        return ""
    name = config.provider
    return (
        f"Unknown option{'s' if len(unknown) > 1 else ''} for {name}: {', '.join(unknown)}. "
        f"{name} reads: {', '.join(sorted(known))}."
    )


def refused_options(sender: Any, config: Any, **_: Any) -> str:
    """Receiver of enrich.models.options_check: what the adapter of `config`'s provider refuses
    in its options' values (Adapter.options_problem: its option parsers' error, the one a run
    with them fails with), e.g. a window_hours of no whole minutes."""
    adapter = BY_KEY.get((config.source, config.provider))
    return adapter.options_problem(config.options) if adapter else ""
