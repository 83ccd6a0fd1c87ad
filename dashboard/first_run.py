"""What the setup form does: create the site and its providers, collect once at once, and
check that Home Assistant's InfluxDB answers."""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from collectors import pipeline
from collectors.carbon import common as carbon
from collectors.models import CollectorRun
from collectors.pricing import slots as prices
from enrich.bootstrap import proxied
from enrich.influx import (
    InfluxAuthError,
    InfluxCertificateError,
    TimeseriesError,
    configured_credentials,
    connect,
)
from enrich.models import DEFAULT_INTERVAL_SECONDS, ProviderConfig, Site
from enrich.wording import counted, listed

from .choices import offer

# What the points of each measurement the offered providers write are, in the order the page
# names them: "1 current price and 48 price slots written". It said "49 points written", read
# as 49 measured values, where 48 are the published prices of the slots ahead.
WRITTEN_AS = {
    prices.MEASUREMENT: "current price",
    prices.FORECAST_MEASUREMENT: "price slot",
    carbon.MEASUREMENT: "intensity value",
    carbon.FORECAST_MEASUREMENT: "forecast slot",
}


@dataclass(frozen=True)
class FirstCollection:
    provider: str
    status: str
    points_written: int
    error: str
    by_measurement: dict[str, int] = field(default_factory=dict)

    def status_label(self) -> str:
        """The run's status as the admin's collector runs say it ("API had no data")."""
        return CollectorRun.Status(self.status).label

    def written(self) -> str:
        """What the run wrote, in words: "1 current price and 48 price slots"."""
        return points_in_words(self.by_measurement) or counted(self.points_written, "point")


def points_in_words(by_measurement: Mapping[str, int]) -> str:
    """The points of each measurement counted as WRITTEN_AS names them (another measurement:
    "N <measurement> points"), joined "a, b and c"; "" when there are none."""
    order = [m for m in WRITTEN_AS if m in by_measurement]
    order += sorted(m for m in by_measurement if m not in WRITTEN_AS)
    parts = [counted(by_measurement[m], WRITTEN_AS.get(m, f"{m} point")) for m in order]
    return listed(parts)


def create_site(data: dict, pricing_region: str) -> Site:
    """The site and one provider config per chosen provider. PROVIDER_BASE_URLS (a proxy, or
    a local replay server) becomes the configs' `base_url` option."""
    with transaction.atomic():
        site = Site.objects.create(
            name=data["name"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            timezone=data["timezone"],
            grid_region=data["grid_region"],
            pricing_region=pricing_region,
        )
        for provider in data["providers"]:
            source = offer(provider).source
            ProviderConfig.objects.create(
                site=site,
                source=source,
                provider=provider,
                interval_seconds=DEFAULT_INTERVAL_SECONDS[source],
                api_key=data["electricitymaps_key"] if provider == "electricitymaps" else "",
                options=proxied(provider),
            )
    return site


def _collect(config: ProviderConfig) -> FirstCollection:
    try:
        outcome = pipeline.collect(config)
    finally:
        connection.close()  # this thread's own database connection
    # A failure's message alone: the page said "TransientError: ...", a class name that means
    # nothing to a person; the run's record (the admin, the API) keeps it. The message's
    # leading provider is the page's already ("First collection of awattar: failed. awattar:").
    said = outcome.said.removeprefix(f"{config.provider}: ")
    return FirstCollection(config.provider, outcome.status, outcome.points_written,
                           said, outcome.by_measurement)  # fmt: skip


def collect_now(site: Site) -> list[FirstCollection]:
    """One collection per provider of the site, here and now (not waiting for beat): the
    pipeline as the worker runs it, so the run is recorded and values are cached. The
    providers are asked side by side, so a slow or unreachable one (5 s timeout, retries)
    delays the page by its own time only, within the web server's request timeout."""
    configs = list(site.providers.select_related("site").order_by("source", "provider"))
    if not configs:
        return []
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        return list(pool.map(_collect, configs))


@dataclass(frozen=True)
class InfluxCheck:
    ok: bool
    message: str


def check_influxdb(url: str, database: str) -> InfluxCheck:
    """Does an InfluxDB answer at `url`, and does it hold `database`? The configured
    credentials are used when `url` is the configured one; the home's CA (INFLUXDB_CA_CERT)
    for any https:// URL."""
    same = url.rstrip("/") == settings.INFLUXDB_URL.rstrip("/")
    credentials = configured_credentials() if same else {}
    ca_cert = settings.INFLUXDB_CA_CERT
    try:
        gateway = connect(
            url, settings.INFLUXDB_VERSION, timeout=5.0, ca_cert=ca_cert, **credentials
        )
    except ValueError as exc:  # e.g. ftp://, which the form's URL field lets through
        return InfluxCheck(False, f"{url} cannot be an InfluxDB URL: {exc}")
    version = ""
    try:
        version = gateway.ping()
        databases = gateway.databases()
    except InfluxAuthError as exc:  # it answered /ping: it is there, but asks for credentials
        return InfluxCheck(False, _refused(url, version, same, exc))
    except InfluxCertificateError as exc:  # it answers, over TLS, with a certificate not trusted
        return InfluxCheck(
            False, f"{exc} enrich reads INFLUXDB_CA_CERT from the environment: set it in .env "
            "and restart (make run), then test again.",
        )  # fmt: skip
    except TimeseriesError as exc:
        return InfluxCheck(False, f"No InfluxDB answers at {url}: {exc}")
    finally:
        gateway.close()
    if database not in databases:
        listed = ", ".join(databases) or "none"
        return InfluxCheck(
            False,
            f"InfluxDB {version} answers at {url}, but it has no database {database!r} "
            f"(it has: {listed}). Home Assistant's InfluxDB integration names it in its "
            "configuration (`database:`, default home_assistant).",
        )
    return InfluxCheck(True, f"InfluxDB {version} answers at {url} and holds {database!r}.")


def _refused(url: str, version: str, same: bool, exc: InfluxAuthError) -> str:
    said = f"InfluxDB {version} answers at {url}, but refused".replace("  ", " ")
    said += " to list its databases"
    if same:
        return f"{said} with the configured credentials: {exc}"
    return (
        f"{said} without credentials: enrich sends INFLUXDB_USERNAME and INFLUXDB_PASSWORD "
        "(2.x: INFLUXDB_TOKEN) only to INFLUXDB_URL. Set them with INFLUXDB_URL in .env and "
        "restart (make run), then test again."
    )


def settings_note(url: str, database: str) -> str:
    """enrich reads these from the environment only: say how to keep them."""
    if url.rstrip("/") == settings.INFLUXDB_URL.rstrip("/") and (
        database == settings.HA_INFLUXDB_DATABASE
    ):
        return ""
    return (
        "enrich reads Home Assistant's InfluxDB from the environment: to use this one, set "
        f"INFLUXDB_URL={url} and HA_INFLUXDB_DATABASE={database} in .env and restart "
        "(make run). Until then it keeps using "
        f"{settings.INFLUXDB_URL} / {settings.HA_INFLUXDB_DATABASE}."
    )
