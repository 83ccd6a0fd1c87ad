"""Every provider adapter, in one explicit table: (source, provider) -> "module:Class".

Imported lazily, so one broken provider module cannot stop the others from loading.
"""

from functools import cache
from importlib import import_module

from collectors.base import Adapter

ADAPTERS: dict[tuple[str, str], str] = {
    ("carbon_intensity", "watttime"): "collectors.carbon.watttime:WattTimeAdapter",
    (
        "carbon_intensity",
        "electricitymaps",
    ): "collectors.carbon.electricitymaps:ElectricityMapsAdapter",
    (
        "carbon_intensity",
        "uk_carbon_intensity",
    ): "collectors.carbon.uk_carbon_intensity:UKCarbonIntensityAdapter",
    ("electricity_pricing", "awattar"): "collectors.pricing.awattar:AwattarAdapter",
    ("electricity_pricing", "tibber"): "collectors.pricing.tibber:TibberAdapter",
    ("electricity_pricing", "octopus"): "collectors.pricing.octopus:OctopusAgileAdapter",
    ("air_quality", "airnow"): "collectors.air_quality.airnow:AirNowAdapter",
    ("occupancy", "google_calendar"): "collectors.occupancy.google.adapter:GoogleCalendarAdapter",
    ("smart_meter", "emporia_vue"): "collectors.smart_meter.emporia_vue:EmporiaVueAdapter",
    ("smart_meter", "sense"): "collectors.smart_meter.sense:SenseAdapter",
    (
        "smart_meter",
        "home_assistant",
    ): "collectors.smart_meter.home_assistant:HomeAssistantMeterAdapter",
}

# Called after a fresh answer was written: (target, result) -> None. For work that needs our
# infrastructure (e.g. remembering AQI categories in Redis), which adapters must not touch.
AFTER_WRITE: dict[str, str] = {
    "air_quality": "collectors.air_quality.categories:note_category_change",
    "smart_meter": "collectors.smart_meter.watch:after_write",
}

# Sources whose current value is computed when asked instead of served from the cached answer:
# source -> "module:function", called as function(config, target, cached answer or None) ->
# the entry's "value", "time", "stale", "fetched_at", "age_seconds" (and "message").
CURRENT_AT_READ: dict[str, str] = {
    "electricity_pricing": "collectors.pricing.now:current_value",
}


class UnknownProvider(LookupError):
    pass


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


@cache
def adapter_for(source: str, provider: str) -> Adapter:
    try:
        path = ADAPTERS[(source, provider)]
    except KeyError:
        known = ", ".join(p for s, p in ADAPTERS if s == source) or "none"
        raise UnknownProvider(
            f"No adapter for {source}/{provider}; providers of {source}: {known}."
        ) from None
    return _load(path)()


def after_write_hook(source: str):
    path = AFTER_WRITE.get(source)
    return _load(path) if path else None


def current_at_read_hook(source: str):
    path = CURRENT_AT_READ.get(source)
    return _load(path) if path else None


# Providers whose credentials do not live in ProviderConfig's own fields (e.g. OAuth tokens in
# enrich.models.OAuthConnection): (source, provider) -> "module:function", called as
# function(config, fetching=bool) -> Credentials. With fetching=False it only reads the
# database (dispatch, the API); with fetching=True (right before fetch) it may also renew
# tokens, and raises enrich.http errors like a fetch would.
CREDENTIALS: dict[tuple[str, str], str] = {
    ("occupancy", "google_calendar"): "collectors.occupancy.google.tokens:calendar_credentials",
}

# Providers whose adapter may renew its credentials during a fetch (google-auth renews an
# access token on a 401): (source, provider) -> "module:function", called as
# function(config, previous, renewed) with the Credentials the fetch started with and the
# renewed ones (same shape), as soon as the adapter reports them (Credentials.report_renewed),
# also when the fetch fails afterwards. It saves them where CREDENTIALS reads them, so the next
# run, on any worker, starts from the renewed ones.
CREDENTIALS_RENEWED: dict[tuple[str, str], str] = {
    ("occupancy", "google_calendar"): "collectors.occupancy.google.tokens:save_renewed_credentials",
    ("smart_meter", "sense"): "collectors.smart_meter.common:save_session",
    ("smart_meter", "emporia_vue"): "collectors.smart_meter.common:save_session",
}

# Called when a collection failed with an AuthError: (config, error, started_with) -> None,
# e.g. to mark an OAuth connection "needs reconnect" unless it was reconnected since the fetch
# started with the Credentials `started_with` (None: the failure came while getting them). It
# may set `error.already_reported = True` once the failure was reported at ERROR, so the
# pipeline repeats it at WARNING only.
AUTH_FAILED: dict[tuple[str, str], str] = {
    ("occupancy", "google_calendar"): "collectors.occupancy.google.tokens:note_auth_failure",
}


def credentials_hook(source: str, provider: str):
    path = CREDENTIALS.get((source, provider))
    return _load(path) if path else None


def credentials_renewed_hook(source: str, provider: str):
    path = CREDENTIALS_RENEWED.get((source, provider))
    return _load(path) if path else None


def auth_failure_hook(source: str, provider: str):
    path = AUTH_FAILED.get((source, provider))
    return _load(path) if path else None
