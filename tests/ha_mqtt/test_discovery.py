"""One site, one Home Assistant device: the exact discovery configs and states that reach a
real Mosquitto broker, with the values enrich collected (UK Carbon Intensity and AirNow through
the replay server) and the prices stored in InfluxDB."""

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.ha_mqtt.publisher import publish_all
from retention.models import RetentionRun
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL, Subscriber
from tests.support import ha_rules
from tests.support.ha_discovery import expected_config
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

SENSORS = {
    "carbon_intensity", "carbon_intensity_forecast_1h", "carbon_intensity_forecast_24h",
    "electricity_price", "cheapest_window_start", "cheapest_window_end",
    "aqi", "aqi_category",
    "storage_raw", "storage_hourly", "storage_daily", "storage_enrichment", "storage_archive",
    "last_retention_run", "last_retention_run_status",
}  # fmt: skip


@pytest.fixture
def anchor() -> datetime:
    """The hour the price slots are stored from; the tests publish for a moment in it."""
    return homes.hour_start()


@pytest.fixture
def site(topics, settings, anchor):
    home = homes.home()
    homes.carbon(home)
    homes.air_quality(home)
    homes.pricing(home, settings.INFLUXDB_DATABASE, anchor)
    return home


def test_each_entity_has_its_exact_discovery_config(topics, subscriber, broker, site):
    assert publish_all(broker, topics) == {"status": "ok", "entities": 16, "removed": 0}
    node = f"{topics.root}_site_{site.pk}"
    configs = {f"{topics.discovery_prefix}/sensor/{node}/{k}/config" for k in SENSORS}
    configs.add(f"{topics.discovery_prefix}/binary_sensor/{node}/peak_period/config")
    assert subscriber.wait_for(lambda m: configs <= set(m))
    published = {t for t in subscriber.messages if t.startswith(topics.discovery_prefix)}
    assert published == configs

    def config(component: str, key: str) -> dict:
        return json.loads(
            subscriber.messages[f"{topics.discovery_prefix}/{component}/{node}/{key}/config"]
        )

    assert config("sensor", "carbon_intensity") == expected_config(
        topics, site, "carbon_intensity", "Carbon intensity",
        state_class="measurement", unit_of_measurement="gCO2/kWh", icon="mdi:molecule-co2",
        suggested_display_precision=0,  # whole grams on the dashboard; the state keeps all
    )  # fmt: skip
    assert config("sensor", "electricity_price") == expected_config(
        topics, site, "electricity_price", "Electricity price",
        state_class="measurement", unit_of_measurement="EUR/kWh", icon="mdi:cash",
    )  # fmt: skip
    assert config("sensor", "cheapest_window_start") == expected_config(
        topics, site, "cheapest_window_start", "Cheapest window start", device_class="timestamp"
    )
    assert config("binary_sensor", "peak_period") == expected_config(
        topics, site, "peak_period", "Peak period",
        payload_on="ON", payload_off="OFF", icon="mdi:cash-clock",
    )  # fmt: skip
    assert config("sensor", "aqi") == expected_config(
        topics, site, "aqi", "Air quality index", device_class="aqi", state_class="measurement",
        suggested_display_precision=0,
    )  # fmt: skip
    assert config("sensor", "aqi_category") == expected_config(
        topics, site, "aqi_category", "Air quality category", device_class="enum",
        options=["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy",
                 "Very Unhealthy", "Hazardous"],
    )  # fmt: skip
    assert config("sensor", "storage_raw") == expected_config(
        topics, site, "storage_raw", "Storage raw", device_class="data_size",
        state_class="measurement", unit_of_measurement="B", entity_category="diagnostic",
    )  # fmt: skip
    assert config("sensor", "last_retention_run_status") == expected_config(
        topics, site, "last_retention_run_status", "Last retention run status",
        device_class="enum", entity_category="diagnostic",
        options=["running", "ok", "failed"],  # the states it publishes (test_enum_options)
    )  # fmt: skip

    # Retained: a subscriber arriving later (Home Assistant restarting) gets every config.
    late = Subscriber(MQTT_TEST_URL, f"{topics.discovery_prefix}/#")
    try:
        assert late.wait_for(lambda m: set(m) == configs)
        assert all(retained for _, _, retained in late.log)
    finally:
        late.stop()


@pytest.fixture
def ha_database(settings):
    """Home Assistant's database, existing and empty (the tiers live in it too)."""
    with fresh_database("ha") as name:
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = name
        yield name


def test_states_are_what_enrich_collected_and_computed(
    topics, subscriber, broker, site, anchor, ha_database
):
    now = anchor + timedelta(minutes=20)  # in the hour the slots were stored for
    publish_all(broker, topics, now=now)
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/last_retention_run/attributes" in m)
    state = {
        t[len(base) + 1 : -len("/state")]: p
        for t, p in subscriber.messages.items()
        if t.startswith(base) and t.endswith("/state")
    }
    hour = anchor
    assert state == {
        # UK Carbon Intensity fixture: RG10's 12:00 half hour (266, a forecast) and the
        # forecast slots covering 13:00 and 12:00 the next day.
        "carbon_intensity": "266.0",
        "carbon_intensity_forecast_1h": "188.0",
        "carbon_intensity_forecast_24h": "97.0",
        # Price slots: 0.30 now; nothing in the next 24 h is dearer, so this is peak.
        "electricity_price": "0.3",
        "peak_period": "ON",
        # Cheapest 2 h: H+3 (0.08) and H+4 (0.10).
        "cheapest_window_start": (hour + timedelta(hours=3)).isoformat(),
        "cheapest_window_end": (hour + timedelta(hours=5)).isoformat(),
        # AirNow fixture: the worst pollutant's AQI, 62, is "Moderate" (category 2).
        "aqi": "62.0",
        "aqi_category": "Moderate",
        "storage_raw": "0",  # Home Assistant's database exists and is empty: a measured 0
        "storage_hourly": "0",
        "storage_daily": "0",
        "storage_enrichment": state["storage_enrichment"],
        "storage_archive": "0",
    }
    assert int(state["storage_enrichment"]) > 0  # measured by InfluxDB, the test's database
    window = json.loads(subscriber.messages[f"{base}/cheapest_window_start/attributes"])
    assert window["average_price"] == pytest.approx(0.09)
    # No saving against running 2 h from now: that moves with every minute of hour H
    # (GET /api/pricing/windows gives it for the moment asked).
    assert "saving_vs_now" not in window
    assert (window["hours"], window["unit"]) == (2.0, "EUR/kWh")
    assert subscriber.wait_for(lambda m: m.get(topics.status) == "online")


def test_stale_values_stay_shown_and_say_so(topics, subscriber, broker, site):
    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/aqi/availability" in m)
    # The AirNow answer was fetched on 2026-10-08 (the fixture's time): long past its 1 h TTL.
    attributes = json.loads(subscriber.messages[f"{base}/aqi/attributes"])
    assert attributes["stale"] is True
    assert attributes["fetched_at"] == "2026-10-08T10:40:00+00:00"  # the age is from this
    assert attributes["data_time"] == "2026-10-08T10:00:00+00:00"  # the observation hour
    assert "age_seconds" not in attributes  # it would change at every publication
    assert attributes["provider"] == "airnow"
    assert subscriber.messages[f"{base}/aqi/availability"] == "online"
    assert subscriber.messages[f"{base}/aqi/state"] == "62.0"


def test_an_entity_without_a_value_is_unavailable_until_it_has_one(
    topics, subscriber, broker, site
):
    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}/last_retention_run"
    assert subscriber.wait_for(lambda m: f"{base}/availability" in m)
    assert subscriber.messages[f"{base}/availability"] == "offline"
    assert f"{base}/state" not in subscriber.messages
    assert json.loads(subscriber.messages[f"{base}/attributes"]) == {
        "reason": "no retention run has been recorded yet"
    }
    finished = datetime(2026, 12, 1, 2, 4, 30, tzinfo=UTC)
    RetentionRun.objects.create(
        operation="downsample_hourly",
        status="ok",
        started=finished - timedelta(minutes=4),
        finished=finished,
        records_processed=1200,
        records_deleted=1100,
    )
    publish_all(broker, topics)
    assert subscriber.wait_for(
        lambda m: m.get(f"{base}/availability") == m.get(f"{base}_status/availability") == "online"
    )
    assert subscriber.messages[f"{base}/state"] == "2026-12-01T02:04:30+00:00"
    assert subscriber.messages[f"{base}_status/state"] == "ok"
    details = json.loads(subscriber.messages[f"{base}/attributes"])
    assert (details["operation_type"], details["records_deleted"]) == ("downsample_hourly", 1100)


def test_a_misnamed_home_assistant_database_makes_the_raw_storage_unavailable(
    topics, subscriber, broker, site, settings
):
    """HA_INFLUXDB_DATABASE naming a database InfluxDB does not have measures nothing: the
    entity is unavailable and says why, instead of showing 0 B."""
    missing = f"{settings.INFLUXDB_DATABASE}_typo"
    settings.HA_INFLUXDB_DATABASE = missing
    settings.TIER_DATABASE = settings.INFLUXDB_DATABASE  # exists: its tiers are measured
    publish_all(broker, topics)
    base = f"{topics.root}/site_{site.pk}"
    assert subscriber.wait_for(lambda m: f"{base}/storage_hourly/availability" in m)
    assert subscriber.wait_for(lambda m: f"{base}/storage_raw/attributes" in m)
    assert subscriber.messages[f"{base}/storage_raw/availability"] == "offline"
    assert f"{base}/storage_raw/state" not in subscriber.messages
    reason = json.loads(subscriber.messages[f"{base}/storage_raw/attributes"])["reason"]
    assert f"InfluxDB has no database {missing!r} (HA_INFLUXDB_DATABASE)" in reason
    assert subscriber.messages[f"{base}/storage_hourly/availability"] == "online"
    assert subscriber.messages[f"{base}/storage_hourly/state"] == "0"


def _device(topics, subscriber, broker) -> dict:
    """The device of a home's published config (its storage size's)."""
    site = homes.home()
    publish_all(broker, topics)
    assert subscriber.caught_up(broker)
    node = f"{topics.root}_site_{site.pk}"
    config_topic = f"{topics.discovery_prefix}/sensor/{node}/storage_raw/config"
    config = json.loads(subscriber.messages[config_topic])
    assert not ha_rules.config_problems("sensor", config)
    return config["device"]


def test_the_device_says_enrichs_version_and_links_to_the_status_page(
    topics, subscriber, broker, settings
):
    # Home Assistant's device page showed no software version and no "Visit" link.
    settings.GOOGLE_REDIRECT_URI = "https://enrich.example.org/oauth/google/callback"
    device = _device(topics, subscriber, broker)
    with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as file:
        assert device["sw_version"] == tomllib.load(file)["project"]["version"]
    assert device["configuration_url"] == "https://enrich.example.org/"


def test_the_device_has_no_link_where_the_public_address_is_unknown(
    topics, subscriber, broker, settings
):
    settings.GOOGLE_REDIRECT_URI, settings.CSRF_TRUSTED_ORIGINS = "", []
    device = _device(topics, subscriber, broker)
    assert "configuration_url" not in device
    assert device["sw_version"]
