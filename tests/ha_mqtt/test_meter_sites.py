"""Each site's smart meter entities show that site's own meter: two homes whose Home Assistant
meters are both the device `home` (the default), collected through the real pipeline (HA's
REST API replayed), the phantom loads stored as the after-write hook stores them, published to
the real broker. Before, the circuits and phantom loads were read back by provider and device
name only, so both homes showed whichever home's value was newest."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors.circuit_keys import MQTT_SCOPE
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import CircuitKey
from collectors.smart_meter.common import MEASUREMENT
from collectors.tasks import configs_by_target
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import Reading
from tests.collectors import scenarios_smart_meter as scenarios
from tests.ha_mqtt import homes

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
HEAT_PUMP = {"Heat pump": "sensor.heat_pump_power"}
KEYS = ("power", "phantom_load_home", "circuit_home_heat_pump_power")
FURNACE = "circuit_main_panel_furnace"


def phantom(site, watts: float, night: datetime) -> Reading:
    """The phantom load as the after-write hook stores it: on the meter's own series."""
    tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant"}
    return Reading(MEASUREMENT, {"phantom_load_w": watts}, night, tags | {"site": site.name})


def test_two_homes_with_a_meter_named_home_each_show_their_own_watts(
    topics, subscriber, broker, settings, replay_server
):
    north = homes.HaMeter(replay_server, homes.home("North"), HEAT_PUMP, T0)
    # South's answers are a minute newer: InfluxDB's last() over both homes picked South's.
    south = homes.HaMeter(replay_server, homes.home("South"), HEAT_PUMP, T0 + timedelta(minutes=1))
    north.run({"Heat pump": 920.0}, total=1843.6)
    south.run({"Heat pump": 150.0}, total=400.0)
    # 03:30 in London, North's night before South's.
    get_timeseries().write(
        settings.INFLUXDB_DATABASE,
        [
            phantom(north.site, 212.0, datetime(2026, 4, 30, 2, 30, tzinfo=UTC)),
            phantom(south.site, 35.0, datetime(2026, 5, 1, 2, 30, tzinfo=UTC)),
        ],
    )

    publish_all(broker, topics)

    def shown(site) -> dict[str, str]:
        return {k: v for k, v in homes.states(subscriber, topics, site).items() if k in KEYS}

    assert subscriber.wait_for(lambda m: len(shown(north.site)) == len(shown(south.site)) == 3)
    assert shown(north.site) == {
        "power": "1843.6",
        "phantom_load_home": "212.0",
        "circuit_home_heat_pump_power": "920.0",
    }
    assert shown(south.site) == {
        "power": "400.0",
        "phantom_load_home": "35.0",
        "circuit_home_heat_pump_power": "150.0",
    }


# --- Emporia: two Vues named alike in one account, and one account in two sites ---

PANEL = scenarios.PANEL


def emporia(site) -> ProviderConfig:
    """An Emporia config polled every 5 minutes (the window scenarios_smart_meter.CHART asks)."""
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="emporia_vue", interval_seconds=300
    )


def emporia_phantom(site, gid: str, watts: float, night: datetime) -> Reading:
    tags = {"meter_type": "emporia_vue", "device": PANEL, "provider": "emporia_vue"}
    tags |= {"site": site.name, "device_gid": gid}
    return Reading(MEASUREMENT, {"phantom_load_w": watts}, night, tags)


def hashed(key: str, *names: str) -> str:
    """The suffixed key (8 hex digits of the names) of an entity whose plain key is held."""
    return f"{key}_{hashlib.sha256(chr(0).join(names).encode()).hexdigest()[:8]}"


def test_two_vues_named_alike_in_one_account_show_each_their_own_watts(
    topics, subscriber, broker, settings
):
    """Before, one entity showed one Vue's furnace or the other's (InfluxDB's last() over both)
    and the whole home counted one Vue only. The Vue there first keeps the entities the
    site had (their keys, given before enrich read the gid, are handed over)."""
    site = homes.home()
    for key, names in (("phantom_load_main_panel", [PANEL]), (FURNACE, [PANEL, "Furnace"])):
        CircuitKey.objects.create(site=site, scope=MQTT_SCOPE, key=key, owner=json.dumps(names))
    config = emporia(site)
    assert homes.collect(config, scenarios.two_panels).status == "ok"
    get_timeseries().write(
        settings.INFLUXDB_DATABASE,
        [
            emporia_phantom(site, "1234", 310.0, datetime(2026, 5, 1, 8, 30, tzinfo=UTC)),
            emporia_phantom(site, "1235", 45.0, datetime(2026, 5, 1, 8, 31, tzinfo=UTC)),
        ],
    )

    publish_all(broker, topics)
    second_phantom = hashed("phantom_load_main_panel", PANEL, "1235")
    second_furnace = hashed(FURNACE, PANEL, "Furnace", "1235")
    wanted = {
        "power": "1416.0",  # 1116 W + 300 W
        "phantom_load_main_panel": "310.0",
        second_phantom: "45.0",
        f"{FURNACE}_power": "432.0",
        f"{second_furnace}_power": "180.0",
    }

    def shown(messages) -> dict[str, str | None]:
        found = homes.states(subscriber, topics, site)
        return {key: found.get(key) for key in wanted}

    subscriber.wait_for(lambda m: shown(m) == wanted)
    assert shown(subscriber.messages) == wanted
    attributes = json.loads(
        subscriber.messages[f"{topics.root}/site_{site.pk}/{second_furnace}_power/attributes"]
    )
    assert (attributes["device"], attributes["device_gid"]) == (PANEL, "1235")
    # The keys given before name their Vue now: the other Vue never takes them.
    owners = dict(CircuitKey.objects.filter(site=site).values_list("key", "owner"))
    assert json.loads(owners[FURNACE]) == [PANEL, "Furnace", "1234"]
    assert json.loads(owners["phantom_load_main_panel"]) == [PANEL, "", "1234"]
    # GET /api/enrichment/current: each Vue, and the whole home as both Vues.
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("viewer"))
    body = client.get(f"/api/enrichment/current?site={site.pk}").json()
    [entry] = body["sources"]["smart_meter"]["providers"]
    assert entry["value"]["total_power_w"] == pytest.approx(1416.0)
    assert {
        name: (d["device_gid"], d["total_power_w"]) for name, d in entry["value"]["devices"].items()
    } == {
        "Main panel (1234)": ("1234", pytest.approx(1116.0)),
        "Main panel (1235)": ("1235", pytest.approx(300.0)),
        "Office plug": ("2345", pytest.approx(126.0)),  # in the first Vue's mains
    }


def test_an_account_two_sites_name_shows_its_meter_in_both(topics, subscriber, broker):
    """Collected once, under the first site's config (its points carry that site's name): the
    other site's entities read the same series."""
    first, second = homes.home("First"), homes.home("Second")
    config = emporia(first)
    assert homes.collect(config, scenarios.emporia).status == "ok"
    ProviderConfig.objects.create(
        site=second, source="smart_meter", provider="emporia_vue",
        username=config.username, password=config.password, options=config.options,
    )  # fmt: skip
    assert configs_by_target("smart_meter") == {("emporia_vue", config.username.lower()): config}

    publish_all(broker, topics)
    furnace = f"{FURNACE}_power"
    assert subscriber.wait_for(
        lambda m: all(furnace in homes.states(subscriber, topics, s) for s in (first, second))
    )
    for site in (first, second):
        found = homes.states(subscriber, topics, site)
        assert (found["power"], found[furnace]) == ("1116.0", "432.0")
