"""First start: fill the Site and provider settings from the PRD's environment variables.

Runs only while the database holds no site, so what is later edited in the admin is never
overwritten by the environment. A variable with a wrong value stops it with a message naming
the variable.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from enrich.models import (
    DEFAULT_INTERVAL_SECONDS,
    SOURCES,
    ProviderConfig,
    Site,
    in_words,
    is_zone_name,
)
from enrich.numerals import decimal
from enrich.readings import tag_problem
from enrich.wording import listed

# The meters METER_USERNAME / METER_PASSWORD log in to (Home Assistant's takes HA_URL as its
# base_url and HA_TOKEN as its token).
CLOUD_METERS = ("emporia_vue", "sense")


@dataclass(frozen=True)
class PlannedProvider:
    source: str
    provider: str
    username: str = ""
    api_key: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    options: dict = field(default_factory=dict)
    # What the admin must still give it before a run can succeed ("" = nothing).
    still_needs: str = ""


def _home_assistant_meter() -> PlannedProvider:
    """The meter's base_url and token are HA_URL and HA_TOKEN, Home Assistant's for discovery
    too (it got neither: its first run failed asking for options.base_url, HA_URL set or not).
    Which sensors to read no variable says: the admin names them, as `still_needs` tells."""
    url = settings.HA_URL or settings.PROVIDER_BASE_URLS.get("home_assistant", "")
    token = settings.HA_TOKEN
    needs = ["options total_entity (the whole-home power sensor) and/or circuits"]
    if not url:
        needs.append("options base_url (HA_URL is not set), e.g. http://homeassistant.local:8123")
    if not token:
        needs.append("a long-lived access token as its API key (HA_TOKEN is not set)")
    return PlannedProvider(
        "smart_meter",
        "home_assistant",
        api_key=token,
        options={"base_url": url} if url else {},
        still_needs="; ".join(needs),
    )


def _coordinate(name: str, low: float, high: float) -> float:
    """Written in the digits 0-9, as the admin and the setup form read a position (float()
    reads LATITUDE="١٢" or "1_2" as 12)."""
    raw = getattr(settings, name)
    value = decimal(raw.strip())
    if value is None:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number in the digits 0-9, e.g. 51.5.")
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}={raw} is outside {low}..{high}.")
    return value


def _fits(variable: str, value: str, model: type, name: str) -> str:
    """`value` of `variable` when the model's field `name` holds it (a longer one was a
    DataError traceback); the value itself is not said: a password may follow it."""
    limit = model._meta.get_field(name).max_length
    if len(value) > limit:
        raise ImproperlyConfigured(
            f"{variable} is {len(value)} characters long: at most {limit} fit."
        )
    return value


def _provider(variable: str, source: str, value: str) -> str:
    name = value.strip().lower()
    if name not in SOURCES[source]:
        raise ImproperlyConfigured(
            f"{variable}={value!r} is no {in_words(source)} provider; use one of: "
            f"{', '.join(SOURCES[source])}."
        )
    return name


def _watttime_credentials() -> tuple[str, str]:
    if settings.WATTTIME_USERNAME:
        user = _fits("WATTTIME_USERNAME", settings.WATTTIME_USERNAME, ProviderConfig, "username")
        return user, settings.WATTTIME_PASSWORD
    # WattTime issues 30-minute tokens from a username and password, so the PRD's
    # WATTTIME_API_TOKEN is read as "username:password".
    user, sep, password = settings.WATTTIME_API_TOKEN.partition(":")
    if not sep or not user or not password:
        raise ImproperlyConfigured(
            "WATTTIME_API_TOKEN must be 'username:password' of your WattTime account "
            "(WattTime hands out 30-minute tokens on login); or set WATTTIME_USERNAME and "
            "WATTTIME_PASSWORD."
        )
    told = "WATTTIME_API_TOKEN's username (before the colon)"
    return _fits(told, user, ProviderConfig, "username"), password


def plan_providers() -> list[PlannedProvider]:
    """What the environment asks for, validated; nothing is written."""
    s = settings
    planned: list[PlannedProvider] = []
    carbon = s.CARBON_PROVIDER
    if not carbon:
        if s.WATTTIME_USERNAME or s.WATTTIME_API_TOKEN:
            carbon = "watttime"
        elif s.ELECTRICITYMAPS_API_KEY:
            carbon = "electricitymaps"
    if carbon:
        carbon = _provider("CARBON_PROVIDER", "carbon_intensity", carbon)
        if carbon == "watttime":
            user, password = _watttime_credentials()
            planned.append(
                PlannedProvider("carbon_intensity", carbon, username=user, password=password)
            )
        elif carbon == "electricitymaps":
            planned.append(
                PlannedProvider("carbon_intensity", carbon, api_key=s.ELECTRICITYMAPS_API_KEY)
            )
        else:
            planned.append(PlannedProvider("carbon_intensity", carbon))
    if s.PRICING_PROVIDER:
        pricing = _provider("PRICING_PROVIDER", "electricity_pricing", s.PRICING_PROVIDER)
        planned.append(PlannedProvider("electricity_pricing", pricing, api_key=s.PRICING_API_KEY))
    if s.AIRNOW_API_KEY:
        planned.append(PlannedProvider("air_quality", "airnow", api_key=s.AIRNOW_API_KEY))
    if s.GOOGLE_CLIENT_ID:
        planned.append(PlannedProvider("occupancy", "google_calendar"))
    for meter in filter(None, (m.strip() for m in s.METER_TYPE.split(","))):
        meter = _provider("METER_TYPE", "smart_meter", meter)
        if meter in CLOUD_METERS:
            user = _fits("METER_USERNAME", s.METER_USERNAME, ProviderConfig, "username")
            login = {"username": user, "password": s.METER_PASSWORD}
            planned.append(PlannedProvider("smart_meter", meter, **login))
        elif meter == "home_assistant":  # the account is the cloud meters' only: a token
            planned.append(_home_assistant_meter())
        else:  # a meter of SOURCES this function was not taught to make
            made = ", ".join(CLOUD_METERS) + " and home_assistant"
            raise ImproperlyConfigured(
                f"METER_TYPE={meter!r}: the first start creates {made} meters only; add the "
                f"{meter} meter in the admin (Provider configs)."
            )
    return planned


def bootstrap_from_environment() -> tuple[Site, list[str]] | None:
    """Create the first site and its providers, and say what the admin must still give a
    provider before it can run; None when a site exists or nothing is set."""
    if Site.objects.exists():
        return None
    planned = plan_providers()
    # GOOGLE_CLIENT_ID is the OAuth client of every site's calendar, set for a site made on the
    # setup page too: alone it asks for no site (the start failed once that site was deleted).
    asked = [p for p in planned if p.provider != "google_calendar"]
    if not (settings.LATITUDE or settings.LONGITUDE or asked):
        return None
    if not (settings.LATITUDE and settings.LONGITUDE):
        raise ImproperlyConfigured(
            "LATITUDE and LONGITUDE are both needed to create the first site "
            "(decimal degrees, e.g. LATITUDE=52.52 LONGITUDE=13.40)."
        )
    for variable, name in (("SITE_NAME", "name"), ("GRID_REGION", "grid_region"),
                           ("PRICING_REGION", "pricing_region")):  # fmt: skip
        _fits(variable, getattr(settings, variable), Site, name)
    if problem := tag_problem(settings.SITE_NAME):  # the meters write it as a tag
        raise ImproperlyConfigured(
            f"SITE_NAME={settings.SITE_NAME!r}: InfluxDB tags cannot hold {problem}."
        )
    if not is_zone_name(settings.TIME_ZONE):
        raise ImproperlyConfigured(
            f"TIME_ZONE={settings.TIME_ZONE!r} is not an IANA time zone name."
        )
    with transaction.atomic():
        site = Site.objects.create(
            name=settings.SITE_NAME,
            latitude=_coordinate("LATITUDE", -90, 90),
            longitude=_coordinate("LONGITUDE", -180, 180),
            timezone=settings.TIME_ZONE,
            grid_region=settings.GRID_REGION,
            pricing_region=settings.PRICING_REGION,
        )
        created = [
            ProviderConfig.objects.create(
                site=site,
                source=p.source,
                provider=p.provider,
                interval_seconds=DEFAULT_INTERVAL_SECONDS[p.source],
                username=p.username,
                api_key=p.api_key,
                password=p.password,
                options=_options(p),
            )
            for p in planned
        ]
    notes = [note for p, config in zip(planned, created, strict=True) if (note := _note(p, config))]
    if unused := _unused(planned):
        notes.append(f"Not used, as no provider created takes them: {listed(unused)}.")
    return site, notes


def _unused(planned: list[PlannedProvider]) -> list[str]:
    """The account variables set that no planned provider takes, and why: a Tibber token
    without PRICING_PROVIDER was dropped in silence."""
    s, providers = settings, {p.provider for p in planned}
    carbon = next((p.provider for p in planned if p.source == "carbon_intensity"), "")
    unused = []
    for name, set_ in (
        ("electricitymaps", s.ELECTRICITYMAPS_API_KEY),
        ("watttime", s.WATTTIME_USERNAME or s.WATTTIME_API_TOKEN),
    ):
        if set_ and carbon != name:
            variables = "ELECTRICITYMAPS_API_KEY" if name == "electricitymaps" else "WATTTIME_*"
            why = f"the carbon provider is {carbon}" if carbon else "no carbon provider"
            unused.append(f"{variables} ({why}: set CARBON_PROVIDER={name} to use it)")
    if s.PRICING_API_KEY and not s.PRICING_PROVIDER:
        unused.append("PRICING_API_KEY (PRICING_PROVIDER is not set)")
    if (s.METER_USERNAME or s.METER_PASSWORD) and not providers & set(CLOUD_METERS):
        unused.append(
            f"METER_USERNAME and METER_PASSWORD (METER_TYPE names no {' or '.join(CLOUD_METERS)})"
        )
    return unused


def proxied(provider: str) -> dict:
    """The options giving `provider` its PROVIDER_BASE_URLS root as `base_url` (a proxy, a
    replay server), {} without one: the first start's providers and the setup page's."""
    url = settings.PROVIDER_BASE_URLS.get(provider)
    return {"base_url": url} if url else {}


def _options(planned: PlannedProvider) -> dict:
    """Its options, `proxied` (`make run` bootstraps first, so a proxy set in .env reached no
    provider); the Home Assistant meter keeps HA_URL, Home Assistant's own address."""
    return {**proxied(planned.provider), **planned.options}


def _note(planned: PlannedProvider, config: ProviderConfig) -> str:
    """What a created provider still needs before a run can succeed, as the admin says it
    after a save ("" when nothing): a Tibber token, a region or a Google connection left out
    was created in silence, and only its first run failed."""
    name = f"{planned.provider} ({in_words(planned.source)})"
    if planned.still_needs:
        return f"{name} runs once you give it, in the admin (Provider configs): " + (
            f"{planned.still_needs}."
        )
    problem = config.collect_problem()
    return f"{name} cannot collect yet: {problem}" if problem else ""
