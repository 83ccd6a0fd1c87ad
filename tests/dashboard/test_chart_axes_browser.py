"""The status page's charts with a single point each, in a real browser: a fresh install's
first daily storage measurement, one price slot (at 0 EUR/kWh), one measured carbon value
(123.456789 gCO2/kWh).
uPlot widens a lone moment to 1000 days (an axis of years) and a flat 0 to 0..100; the page
shows the day measured with a day either side, labelled by dates, the slot and the carbon value
with an hour either side, and prices of 0 between -0.1 and 0.1 EUR/kWh."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from retention.schema import METRICS_MEASUREMENT
from retention.stats import metrics
from retention.timeutil import floor_day
from tests.dashboard.browser import BROWSER_TEST, dates, log_in
from tests.support.chromium import wait_for
from tests.support.status_home import collect_all, hour_of, register_electricitymaps

pytestmark = BROWSER_TEST
DAY = timedelta(days=1)
LATEST_CARBON = 123.456789  # gCO2/kWh, more decimals than the page shows


@pytest.fixture
def first_day(settings, isolated, replay_server, read_clock):
    """A site collected once: one aWATTar slot (this hour, 0 EUR/MWh) and Electricity Maps'
    latest value without a forecast; storage measured once, today. Returns the UTC day."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    payload = replay_server.load_fixture("awattar/marketdata_hourly.json")
    start = hour_of(read_clock)
    payload["data"] = [{**payload["data"][0], "marketprice": 0.0,
                        "start_timestamp": int(start.timestamp() * 1000),
                        "end_timestamp": int((start + timedelta(hours=1)).timestamp() * 1000)}]  # fmt: skip
    replay_server.add("GET", "/v1/marketdata", json=payload)
    register_electricitymaps(replay_server, read_clock, latest=LATEST_CARBON)
    site = Site.objects.create(name="New flat", latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin", grid_region="DE", pricing_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar",
                                  options={"base_url": replay_server.url})  # fmt: skip
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider="electricitymaps",
                                  api_key="em-demo-token", options={"base_url": replay_server.url})  # fmt: skip
    assert collect_all(site, read_clock) == {"awattar": "ok", "electricitymaps": "ok"}
    day = floor_day(datetime.now(UTC))
    metrics.record_metrics(day + timedelta(hours=4, minutes=15))
    return day


def drawn(browser, name: str) -> dict:
    """The chart's scales as drawn (epoch seconds on x) and its time axis' labels."""
    return browser.execute_script(
        "var u = Status.charts[arguments[0]]; return {x: [u.scales.x.min, u.scales.x.max],"
        " y: [u.scales.y.min, u.scales.y.max], labels: u.axes[0]._values};",
        name,
    )


def labels_outside(browser, name: str) -> list[str]:
    """The chart's time axis labels not wholly on its canvas (uPlot cuts them off there), as
    each is drawn: centred on its tick, as wide as its widest line in the axis' font."""
    return browser.execute_script(
        "var u = Status.charts[arguments[0]], a = u.axes[0], r = uPlot.pxRatio, ctx = u.ctx;"
        " ctx.save(); ctx.font = a.font[0];"
        " var out = a._splits.map(function (s, i) {"
        "   var x = u.bbox.left / r + u.valToPos(s, 'x');"
        "   var w = Math.max.apply(null, a._values[i].split('\\n').map(function (t) {"
        "     return ctx.measureText(t).width / r; }));"
        "   return x - w / 2 < 0 || x + w / 2 > u.width ? a._values[i] : null; });"
        " ctx.restore(); return out.filter(function (v) { return v !== null; });",
        name,
    )


def test_single_points_get_an_axis_around_them(
    live_server, first_day, browser, read_clock, settings
):
    from selenium.webdriver.common.by import By

    User.objects.create_user("reader", password="read-only-password")
    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")
    day = first_day.timestamp()
    storage = drawn(browser, "storage")
    assert storage["x"] == [day - 86400, day + 86400]
    assert storage["labels"] == dates(browser, first_day - DAY, first_day, first_day + DAY)
    # Each label whole, the last one too (it was cut at the canvas' edge: "Sun, De").
    assert {name: labels_outside(browser, name) for name in ("storage", "prices", "carbon")} == {
        "storage": [],
        "prices": [],
        "carbon": [],
    }
    summary = browser.find_element(By.ID, "storage-summary").text
    # One of each: "1 daily measurement", not "1 daily measurements" (nor slots, values).
    assert summary.startswith("1 daily measurement;"), summary

    hour = hour_of(read_clock).timestamp()
    prices = drawn(browser, "prices")
    assert prices["x"] == [hour - 3600, hour + 2 * 3600]  # the slot drawn to its end
    assert prices["y"] == [-0.1, 0.1]
    assert browser.find_element(By.ID, "price-summary").text.startswith("1 price slot from")
    carbon = drawn(browser, "carbon")
    assert carbon["x"] == [hour - 3600, hour + 3600]  # Electricity Maps' latest: this hour
    # The latest value rounded as the Now table shows it (4 decimals at most), not as stored.
    latest = browser.execute_script(
        "return Status.time(arguments[0]);", hour_of(read_clock).isoformat()
    )
    assert browser.find_element(By.ID, "carbon-summary").text == (
        f"electricitymaps (DE): 1 measured value over 24 h, latest 123.4568 gCO2/kWh at {latest};"
        " 0 forecast values ahead."
    )
    now = browser.find_element(By.CSS_SELECTOR, "tr[data-provider=electricitymaps] td.value")
    assert now.text == "123.4568 gCO2/kWh"

    # Two measurements of one day (one stamped when it was taken): the same days around them.
    later = first_day + timedelta(hours=4, minutes=15)
    again = Reading(METRICS_MEASUREMENT, {"raw_size_bytes": 4096}, later)
    get_timeseries().write(settings.INFLUXDB_DATABASE, [again])
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    storage = drawn(browser, "storage")
    assert storage["x"] == [day - 86400, later.timestamp() + 86400]
    assert storage["labels"] == dates(browser, first_day - DAY, first_day, first_day + DAY)
    assert browser.find_element(By.ID, "storage-summary").text.startswith("2 daily measurements;")
