"""The price chart's step lines in a real browser: a slot's price holds until the slot's end,
so every stepped series (price, cheapest window, plan) is drawn to the last slot's end with the
last slot's value, and the legend at that end names the last slot, not one more. aWATTar's
quarter-hour slots (as since Oct 2025), the last three hours the cheapest, so the cheapest 3 h
window and the plan (no loads: a 3 h load, by price only) both lie in the last slots. The
cursor over a slot's second half names that slot, not the next one (the nearest point)."""

from datetime import timedelta

import pytest

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.status_home import awattar_site

pytestmark = BROWSER_TEST
QUARTER = timedelta(minutes=15)
EUR_PER_MWH = [200.0] * 4 + [50.0] * 11 + [42.0]  # the last slot alone at 42


@pytest.fixture
def quarter_hours(isolated, replay_server, read_clock, settings):
    """A site with 16 aWATTar quarter-hour slots from the running one; returns them as the
    replay server answered them."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    payload = replay_server.load_fixture("awattar/marketdata_hourly.json")
    first = read_clock.replace(minute=read_clock.minute // 15 * 15, second=0, microsecond=0)
    starts = [int((first + i * QUARTER).timestamp() * 1000) for i in range(len(EUR_PER_MWH))]
    payload["data"] = [
        {**payload["data"][0], "start_timestamp": ms, "end_timestamp": ms + 900_000,
         "marketprice": price}
        for ms, price in zip(starts, EUR_PER_MWH, strict=True)
    ]  # fmt: skip
    replay_server.add("GET", "/v1/marketdata", json=payload)
    awattar_site(replay_server, "Flat", read_clock)
    return payload["data"]


@pytest.fixture
def page(live_server, quarter_hours, browser):
    """The status page of the site with `quarter_hours`, loaded."""
    open_as_reader(browser, live_server.url)
    return browser


# The price chart `u` and values(): its legend's values (slot, price, cheapest, plan).
CHART = (
    "var u = Status.charts.prices; function values() { return Array.from("
    "  u.root.querySelectorAll('.u-legend .u-value'), function (e) { return e.textContent; }); }"
)


def test_every_step_series_ends_at_the_last_slots_end(page, quarter_hours):
    drawn = page.execute_script(
        CHART + "var n = u.data[0].length;"
        "function legend(i) { u.setLegend({idx: i}); return values(); }"
        "return {x: u.data[0], series: u.data.slice(1).map(function (s) { return s[n - 1]; }),"
        "        previous: u.data.slice(1).map(function (s) { return s[n - 2]; }),"
        "        legend: [legend(n - 2), legend(n - 1)]};"
    )
    ends = [slot["end_timestamp"] / 1000 for slot in quarter_hours]
    starts = [slot["start_timestamp"] / 1000 for slot in quarter_hours]
    # One point per slot start, then the last slot's end.
    assert drawn["x"] == [*starts, ends[-1]]
    # Price, cheapest 3 h window and plan all hold the last slot's price to its end.
    assert drawn["series"] == [0.042, 0.042, 0.042]
    assert drawn["previous"] == [0.042, 0.042, 0.042]
    # The legend at the end point shows the last slot (its start to its end), as at its start.
    at_start, at_end = drawn["legend"]
    assert at_end == at_start and at_end[1:] == ["0.042"] * 3, drawn["legend"]
    assert page.find_element("id", "price-chart").get_attribute("data-points") == "16"


def test_the_legend_names_the_slot_under_the_cursor(page, quarter_hours):
    shown = page.execute_script(
        CHART
        + "function legend(at) { u.setCursor({left: u.valToPos(at, 'x'), top: 10}); return values(); }"
        "function span(slot) { return Status.span(new Date(slot.start_timestamp).toISOString(),"
        "  new Date(slot.end_timestamp).toISOString()); }"
        "var s = arguments[0], n = s.length;"
        "return {legend: [legend(s[3].start_timestamp / 1000 + 600), legend(s[n - 1].end_timestamp / 1000)],"
        "        spans: [span(s[3]), span(s[n - 1])]};",
        quarter_hours,
    )
    # 10 min into the last slot at 200 EUR/MWh (the next one is at 50): that slot, 0.2 EUR/kWh,
    # outside the cheapest window and the plan, which begin with the next slot: no value, "—"
    # (uPlot showed "").
    assert shown["legend"][0] == [shown["spans"][0], "0.2", "—", "—"], shown
    # At the chart's end (the closing point): the last slot, in the window and the plan.
    assert shown["legend"][1] == [shown["spans"][1], "0.042", "0.042", "0.042"], shown
