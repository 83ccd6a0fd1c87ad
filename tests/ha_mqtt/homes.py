"""A site with real collections behind it: UK carbon intensity and AirNow through the replay
server (tests/fixtures), hourly aWATTar price slots written to the test's InfluxDB, and a Home
Assistant meter (or an Emporia Vue) collected through the pipeline from replayed answers."""

import json
from datetime import UTC, datetime, timedelta

from collectors import clock, pipeline
from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import FlexibleLoad
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from enrich.redis.client import get_redis
from tests.collectors import scenarios_air_quality, scenarios_carbon
from tests.support.replay import load_fixture
from tests.support.stored_prices import slot_readings

# Hourly prices from the start of the current UTC hour (H): H-1..H+1 0.30, H+2 0.12,
# H+3 0.08, H+4 0.10, H+5 0.20, then 0.30 up to H+29. Cheapest 2 h: H+3..H+5 (0.09 average).
PRICES = {2: 0.12, 3: 0.08, 4: 0.10, 5: 0.20}
# Rising from H: H and H+1 0.01, H+2 0.02, H+3 0.03, H+4 0.04, H+5 0.05, then 0.30. Two hours
# from any moment of H..H+4 cost less than any two whole hours after it: running now is best.
RISING = {0: 0.01, 1: 0.01, 2: 0.02, 3: 0.03, 4: 0.04, 5: 0.05}


def hour_start() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def write_prices(database: str, anchor: datetime) -> None:
    get_timeseries().write(database, slot_readings(anchor, prices=PRICES))


def collect(config: ProviderConfig, scenario, **options) -> pipeline.Outcome:
    """Run the real pipeline for `config` against the scenario's replayed answers (`options`
    override the scenario's provider options)."""
    from tests.support.replay import ReplayServer

    with ReplayServer() as server:
        site_info, credentials, now = scenario(server)
        config.options = {**credentials.options, "base_url": server.url, **options}
        config.api_key = credentials.api_key or config.api_key
        config.username = credentials.username or config.username
        config.password = credentials.password or config.password
        config.save(update_fields=["options", "api_key", "username", "password"])
        if site_info.grid_region:  # the region the scenario's answers are for
            config.site.grid_region = site_info.grid_region
            config.site.save()
        return pipeline.collect(config, now=now)


def states(subscriber, topics, site) -> dict[str, str]:
    """{entity key: state} of the site's entities on the broker."""
    base = f"{topics.root}/site_{site.pk}/"
    return {
        t[len(base) : -len("/state")]: p
        for t, p in subscriber.messages.items()
        if t.startswith(base) and t.endswith("/state")
    }


def shown(subscriber, base: str) -> str | None:
    """The state of the entity at topic `base` as Home Assistant shows it: None while
    unavailable."""
    if subscriber.messages.get(f"{base}/availability") != "online":
        return None
    return subscriber.messages.get(f"{base}/state")


def ha_state(entity: str, watts: float | None, when: datetime) -> dict:
    """HA's answer for a power sensor in W (tests/fixtures/home_assistant), reported at
    `when`; None: the sensor is unavailable."""
    stamp = when.isoformat()
    return load_fixture("home_assistant/state_standby_w.json") | {
        "entity_id": entity,
        "state": "unavailable" if watts is None else str(watts),
        "last_changed": stamp,
        "last_reported": stamp,
        "last_updated": stamp,
    }


class HaMeter:
    """One site's Home Assistant meter (device tag `home`, the default), collected every 5
    minutes through the pipeline from `start` on; `entities` maps circuit names to sensors."""

    TOTAL = "sensor.home_power"
    EVERY = timedelta(minutes=5)

    def __init__(self, server, site: Site, entities: dict[str, str], start: datetime) -> None:
        self.server, self.site, self.entities, self.now = server, site, entities, start
        self.config = ProviderConfig.objects.create(
            site=site, source="smart_meter", provider="home_assistant",
            interval_seconds=300, api_key="ha-long-lived-token-xyz",
        )  # fmt: skip

    def run(
        self,
        watts: dict[str, float | None],
        total: float | None = 2000.0,
        since: dict[str, datetime] | None = None,
    ) -> None:
        """One collection: the circuits configured now and their power, and the whole home's
        (None: unavailable), reported by HA 30 s before the run; `since`: circuits whose state
        HA has held unchanged since then (its time in HA's answer)."""
        circuits = {name: self.entities[name] for name in watts}
        self.config.options = {
            "base_url": self.server.url, "total_entity": self.TOTAL, "circuits": circuits
        }  # fmt: skip
        self.config.save()
        reported = self.now - timedelta(seconds=30)
        for name, entity, power in [
            ("", self.TOTAL, total),
            *((n, self.entities[n], w) for n, w in watts.items()),
        ]:
            reply = ha_state(entity, power, (since or {}).get(name, reported))
            self.server.add("GET", f"/api/states/{entity}", json=reply, times=1)
        assert pipeline.collect(self.config, now=self.now).status == "ok"
        self.now += self.EVERY


def emporia_vue(server, site: Site, *minutes: dict) -> ProviderConfig:
    """An Emporia Vue config of `site` whose account answers (replayed) with
    tests/fixtures/emporia, its minute usage at 14:05, 14:10, ... being `minutes` in turn."""
    from tests.collectors import scenarios_smart_meter as scenarios

    credentials = scenarios.emporia_credentials(server)
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="emporia_vue", interval_seconds=300,
        username=credentials.username, password=credentials.password,
        options=dict(credentials.options),
    )  # fmt: skip
    scenarios.cognito_answers(server, "challenge", "tokens", times=1)
    server.add("GET", "/customers/devices", json=server.load_fixture("emporia/devices.json"))
    day = server.load_fixture("emporia/usage_1day.json")
    scenarios.answer_app_api(server, {**scenarios.USAGE, "scale": "1D"}, json=day)
    chart = server.load_fixture("emporia/chart_usage_live.json")
    scenarios.answer_app_api(server, {"apiMethod": "getChartUsage"}, json=chart)
    for n, answer in enumerate(minutes):
        instant = f"2026-05-01T14:{5 + 5 * n:02d}:00.000Z"
        scenarios.answer_app_api(
            server, {**scenarios.MINUTE_USAGE, "instant": instant}, json=answer
        )
    return config


def home(name: str = "Home", **fields) -> Site:
    return Site.objects.create(
        name=name,
        latitude=51.4769,
        longitude=-0.8636,
        pricing_region="DE",
        **{"timezone": "Europe/London", **fields},
    )


def berlin_calendar(settings) -> Site:
    """A Berlin site whose Google Calendar (tests/support/google: the workday, climbing
    18:00-20:00) was fetched at tests.support.google.NOW, and not since."""
    from tests.support.google import NOW, connect, workday_pages
    from tests.support.replay import ReplayServer

    site = home()
    site.timezone = "Europe/Berlin"
    site.save()
    config = ProviderConfig.objects.create(
        site=site, source="occupancy", provider="google_calendar"
    )
    connect(config, expires_in=timedelta(hours=1))
    with ReplayServer() as google:
        settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = "id", "secret"
        settings.GOOGLE_TOKEN_URI = google.url_for("/token")
        settings.GOOGLE_API_BASE = google.url
        workday_pages(google)
        assert pipeline.collect(config, now=NOW).status == "ok"
    return site


def carbon(site: Site) -> ProviderConfig:
    config = ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="uk_carbon_intensity"
    )
    assert collect(config, scenarios_carbon.uk_carbon_intensity).status == "ok"
    return config


def airnow_config(site: Site) -> ProviderConfig:
    return ProviderConfig.objects.create(
        site=site, source="air_quality", provider="airnow", api_key="test-airnow-key-123"
    )


def air_quality(site: Site) -> ProviderConfig:
    config = airnow_config(site)
    assert collect(config, scenarios_air_quality.airnow).status == "ok"
    return config


def pricing(site: Site, database: str, anchor: datetime) -> ProviderConfig:
    """aWATTar for `site`, its price slots stored from the hour `anchor` (`write_prices`)."""
    write_prices(database, anchor)
    return ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="awattar"
    )


def utc_home(database: str, anchor: datetime, prices=PRICES, count: int = 31) -> Site:
    """The site "Home" on UTC with aWATTar slots H-1 .. H-1+count stored."""
    site = home()
    site.timezone = "UTC"
    site.save()
    get_timeseries().write(database, slot_readings(anchor, prices=prices)[:count])
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    return site


def load(site: Site, anchor: datetime, **options) -> FlexibleLoad:
    """A 2-hour load that must end by H+6."""
    return FlexibleLoad.objects.create(
        site=site, name=options.pop("name", "Dishwasher"), hours=options.pop("hours", 2),
        deadline=(anchor + 6 * timedelta(hours=1)).time(), **options,
    )  # fmt: skip


def published(subscriber, topics, site: Site, key: str) -> tuple[str, dict, str]:
    """(state, attributes, availability) of one entity, once all three arrived."""
    base = f"{topics.root}/site_{site.pk}/{key}"
    parts = [f"{base}/state", f"{base}/attributes", f"{base}/availability"]
    assert subscriber.wait_for(lambda m: all(p in m for p in parts)), sorted(subscriber.messages)
    state, attributes, availability = (subscriber.messages[p] for p in parts)
    return state, json.loads(attributes), availability


def publication(broker, topics, subscriber, now: datetime, monkeypatch) -> list[tuple[str, str]]:
    """Publish for `now` (the publisher's and the read-time answers' clock) and return the
    (topic, payload) of every state and attributes message it sent, in order."""
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    start = len(subscriber.log)
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert subscriber.caught_up(broker)
    return [
        (topic, payload)
        for topic, payload, _ in subscriber.log[start:]
        if topic.endswith(("/state", "/attributes"))
    ]


def store_carbon(
    site: Site, database: str, anchor: datetime, values: dict, until: int, since: int = -1
) -> str:
    """An Electricity Maps forecast, one hourly slot from H+since (H-1) to H+until: `values`
    by hour offset, 300 g otherwise. Returns the region it is stored under."""
    config = ProviderConfig.objects.create(
        site=site, source="carbon_intensity", provider="electricitymaps", api_key="em-key-1"
    )
    region = pipeline.target_for(config).key
    tags = {"provider": "electricitymaps", "region": region}
    fields = {
        h: {GCO2_KWH: float(values.get(h, 300)), "slot_minutes": 60.0} for h in range(since, until)
    }
    readings = [
        Reading(FORECAST_MEASUREMENT, f, anchor + timedelta(hours=h), tags)
        for h, f in fields.items()
    ]
    get_timeseries().write(database, readings)
    return region


def redis_data_lost(settings) -> None:
    """Redis restarted without its data: the cached answers and the record of what was
    published are gone (the broker still retains what was published)."""
    redis = get_redis()
    for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        redis.delete(key)
