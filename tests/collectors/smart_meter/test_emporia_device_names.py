"""Emporia devices of one name in one account, as docs/providers.md tells them (*What
`GET /api/enrichment/current` and Home Assistant show*): each is listed as
`<name> (<device_gid>)` with its own values, and the total counts the top-level ones only (a
smart plug nested under a Vue is inside that Vue's mains)."""

from tests.collectors.scenarios_smart_meter import PANEL, two_panels
from tests.collectors.smart_meter.test_emporia_answers import (  # noqa: F401 (fixture)
    devices_answer,
    fast_retries,
    fetch,
    set_in,
)


def test_a_plug_named_like_its_vue_is_listed_apart_and_not_counted_in_the_total(replay_server):
    """The plug (2345, nested under Vue 1234) renamed "Main panel": two devices of that name,
    each with its own watts, and the total is the Vue's alone, not the Vue's plus the plug's
    (the plug's draw is already in the Vue's mains)."""
    name = (0, "devices", 0, "locationProperties", "deviceName")
    devices_answer(replay_server, set_in(name, PANEL))
    current = fetch(replay_server).current
    vue, plug = current["devices"][f"{PANEL} (1234)"], current["devices"][f"{PANEL} (2345)"]
    assert set(current["devices"]) == {f"{PANEL} (1234)", f"{PANEL} (2345)"}
    assert plug["total_power_w"] > 0
    assert current["total_power_w"] == vue["total_power_w"]


def test_two_vues_of_one_name_are_listed_apart_and_both_counted_in_the_total(replay_server):
    two_panels(replay_server)
    current = fetch(replay_server).current
    first, second = current["devices"][f"{PANEL} (1234)"], current["devices"][f"{PANEL} (1235)"]
    assert current["total_power_w"] == first["total_power_w"] + second["total_power_w"]
