"""The API's 503 when InfluxDB cannot be reached: the client learns what cannot be read and why
(InfluxDB does not answer), never InfluxDB's address (INFLUXDB_URL, host:port), which the
server log keeps. The InfluxDB of these tests is a port nothing listens on."""

import logging
from datetime import UTC, datetime

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from enrich import influx
from enrich.models import ProviderConfig, Site
from retention.models import Entity
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.ports import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

SERIES = "entity_id=sensor.fridge_power&start=2026-05-01T00:00:00Z&end=2026-05-02T00:00:00Z"


@pytest.fixture
def influx_gone(settings):
    """InfluxDB's address (host:port) where nothing listens, a site with a price and a carbon
    provider, and an entity in the registry."""
    address = f"127.0.0.1:{free_port()}"
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = f"http://{address}", 1.0
    influx.reset_timeseries()
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                               pricing_region="DE", grid_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                  provider="electricitymaps", api_key="test-em-token")  # fmt: skip
    Entity.objects.create(entity_id="sensor.fridge_power", kind="power", layout="official",
                          measurement="W")  # fmt: skip
    yield address
    influx.reset_timeseries()


@pytest.mark.parametrize(
    ("path", "unreadable"),
    [
        ("/api/carbon/series", "The carbon data"),
        ("/api/pricing/slots", "The price data"),
        ("/api/pricing/windows?hours=1", "The price data"),
        ("/api/plan?hours=1", "The stored data"),
        (f"/api/series?{SERIES}", "The series"),
        ("/retention/metrics", "Storage metrics"),
    ],
)
def test_a_503_says_influxdb_does_not_answer_without_its_address(
    influx_gone, staff, caplog, path, unreadable
):
    # Was "The carbon data cannot be read: Cannot reach InfluxDB at http://127.0.0.1:…":
    # an internal address shown to any API client.
    with caplog.at_level(logging.ERROR):
        answer = staff.get(path)
    assert answer.status_code == 503, answer.content
    assert list(answer.json()) == ["detail"]
    detail = answer.json()["detail"]
    assert detail.startswith(f"{unreadable} cannot be read: InfluxDB does not answer")
    assert "try again later" in detail
    port = influx_gone.split(":")[1]
    assert "127.0.0.1" not in detail and port not in detail and "http" not in detail
    # The server log keeps the address for whoever runs enrich.
    assert any(influx_gone in record.getMessage() for record in caplog.records)


def answered_without(client, path: str, address: str, caplog) -> dict:
    """The 200 `client` gets at `path`: without `address` (host:port), which the log keeps."""
    with caplog.at_level(logging.ERROR):
        answer = client.get(path)
    assert answer.status_code == 200, answer.content
    shown, port = answer.content.decode(), address.rsplit(":", 1)[1]
    assert "127.0.0.1" not in shown and port not in shown and "://" not in shown, shown
    assert any(address in record.getMessage() for record in caplog.records)
    return answer.json()


INFLUX_DOWN = ("InfluxDB does not answer (it is down, starting or overloaded); try again later. "
               "The server log names the address tried")  # fmt: skip
REDIS_DOWN = ("Redis does not answer (it is down, starting, or refuses the connection); try "
              "again later. The server log names the address tried.")  # fmt: skip


def test_the_current_price_says_influxdb_does_not_answer_without_its_address(
    influx_gone, staff, caplog
):
    # Was "the stored prices cannot be read: Cannot reach InfluxDB at http://127.0.0.1:…" in a
    # 200 any signed-in user reads, the status page shows and Home Assistant is sent.
    answer = answered_without(staff, "/api/enrichment/current", influx_gone, caplog)
    [price] = answer["sources"]["electricity_pricing"]["providers"]
    assert price["message"] == f"the stored prices cannot be read: {INFLUX_DOWN}; no answer yet"


def test_the_current_answer_says_redis_does_not_answer_without_its_address(
    influx_gone, staff, settings, caplog
):
    # Was "... cannot reach Redis at REDIS_URL=redis://127.0.0.1:…/0 (Error 111 connecting
    # to 127.0.0.1:….)" as the carbon entry's message and the price's budget error.
    address = f"127.0.0.1:{free_port()}"
    settings.REDIS_URL = f"redis://{address}/0"  # the response cache's Redis
    answer = answered_without(staff, "/api/enrichment/current", address, caplog)
    [carbon] = answer["sources"]["carbon_intensity"]["providers"]
    assert carbon["message"] == f"the last answer cannot be read: {REDIS_DOWN}"
    [price] = answer["sources"]["electricity_pricing"]["providers"]
    assert price["budget"] == {
        "spec": "100/day",
        "error": f"The API budget of awattar cannot be read: {REDIS_DOWN}",
    }


def test_a_provider_s_last_run_says_influxdb_failed_without_its_address(
    influx_gone, staff, replay_server
):
    # The run's error and message ("InfluxUnavailable: Cannot reach InfluxDB at http://127.0.0.1:
    # …") were shown as recorded; the admin's collector runs keep them whole.
    site = Site.objects.get()
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    answer = replay_server.load_fixture("airnow/observation_current.json")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    pipeline.collect(config, now=datetime(2026, 10, 8, 10, 40, tzinfo=UTC))
    run = CollectorRun.objects.get()
    assert (run.status, influx_gone in run.error) == ("failed", True), run.error

    shown = staff.get("/api/enrichment/current")
    [airnow] = shown.json()["sources"]["air_quality"]["providers"]
    error, message = airnow["last_run"]["error"], airnow["last_run"]["message"]
    assert error.startswith("InfluxUnavailable: Cannot reach InfluxDB at [hidden] while "), error
    assert message.startswith("Cannot reach InfluxDB at [hidden] while "), message
    assert message.endswith("Check INFLUXDB_URL and that influxd is running."), message
    text, port = shown.content.decode(), influx_gone.split(":")[1]
    assert "127.0.0.1" not in text and port not in text, text


def test_the_storage_figures_say_influxdb_does_not_answer_without_its_address(
    influx_gone, staff, caplog
):
    # Was "InfluxDB's sizes could not be read: Cannot reach InfluxDB at http://127.0.0.1:…" in
    # GET /retention/stats, which the status page's storage panel shows any signed-in user.
    stats = answered_without(staff, "/retention/stats", influx_gone, caplog)
    assert stats["current_db_size_gb"] == {
        "value": None,
        "unit": "GB",
        "reason": f"InfluxDB's sizes cannot be read: {INFLUX_DOWN}.",
    }
