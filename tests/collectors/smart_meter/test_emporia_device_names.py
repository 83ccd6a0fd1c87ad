"""Emporia devices of one name in one account, as docs/providers.md tells them (*What
`GET /api/enrichment/current` and Home Assistant show*): each is listed as
`<name> (<device_gid>)` with its own values, and the total counts the top-level ones only (a
smart plug nested under a Vue is inside that Vue's mains)."""

from datetime import timedelta

from collectors.base import Window
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from tests.collectors.scenarios_smart_meter import (
    EMPORIA_NOW,
    PANEL,
    SITE,
    emporia_credentials,
    emporia_routes,
    two_panels,
)


def current(server) -> dict:
    """The meter's value of one fetch (what /api/enrichment/current serves)."""
    adapter = EmporiaVueAdapter()
    credentials = emporia_credentials(server)
    window = Window(start=EMPORIA_NOW - timedelta(minutes=5), end=EMPORIA_NOW, now=EMPORIA_NOW)
    return adapter.fetch(adapter.target(SITE, credentials), credentials, window).current


def test_a_plug_named_like_its_vue_is_listed_apart_and_not_counted_in_the_total(replay_server):
    """The plug (2345, nested under Vue 1234) renamed "Main panel": two devices of that name,
    each with its own watts, and the total is the Vue's alone, not the Vue's plus the plug's
    (the plug's draw is already in the Vue's mains)."""
    devices = replay_server.load_fixture("emporia/devices.json")
    devices["devices"][0]["devices"][0]["locationProperties"]["deviceName"] = PANEL
    replay_server.add("GET", "/customers/devices", json=devices)  # before the usual routes
    emporia_routes(replay_server)
    value = current(replay_server)
    vue, plug = value["devices"][f"{PANEL} (1234)"], value["devices"][f"{PANEL} (2345)"]
    assert set(value["devices"]) == {f"{PANEL} (1234)", f"{PANEL} (2345)"}
    assert plug["total_power_w"] > 0
    assert value["total_power_w"] == vue["total_power_w"]


def test_two_vues_of_one_name_are_listed_apart_and_both_counted_in_the_total(replay_server):
    two_panels(replay_server)
    value = current(replay_server)
    first, second = value["devices"][f"{PANEL} (1234)"], value["devices"][f"{PANEL} (1235)"]
    assert value["total_power_w"] == first["total_power_w"] + second["total_power_w"]
