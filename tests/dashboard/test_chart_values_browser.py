"""What the status page's price and carbon charts draw, in a real browser. Missing data: hours
without a carbon value (the collector failed, InfluxDB was down) and price slots missing
between known ones are gaps in the drawn lines, and the summaries read aloud say where, not a
line drawn through the hours nobody measured, nor a price held across slots nobody priced.
Units: each chart's value axis names the unit the API gives, as its legend does. Screen
readers: each chart is an image named by its heading and described by its summary."""

import colorsys
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.status_home import awattar_site, hour_of

pytestmark = BROWSER_TEST
HOUR = timedelta(hours=1)
MISSING_CARBON = range(8, 13)  # hours back with no value stored: 5 h, 12 h to 8 h ago
EUR_PER_MWH = [100.0, 110.0, 120.0, None, None, 90.0, 80.0, 70.0]  # slots 3 and 4 unknown


@pytest.fixture
def holes(settings, isolated, replay_server, read_clock):
    """A Berlin site with aWATTar's hourly slots from this hour but two missing, and 24 h of
    hourly Electricity Maps values but five hours missing, then 6 h of forecast but the 4th."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    first = hour_of(read_clock)
    payload = replay_server.load_fixture("awattar/marketdata_hourly.json")
    payload["data"] = [
        {**payload["data"][0], "marketprice": price,
         "start_timestamp": int((first + i * HOUR).timestamp() * 1000),
         "end_timestamp": int((first + (i + 1) * HOUR).timestamp() * 1000)}
        for i, price in enumerate(EUR_PER_MWH) if price is not None
    ]  # fmt: skip
    replay_server.add("GET", "/v1/marketdata", json=payload)
    site = awattar_site(replay_server, "Patchy", read_clock)
    site.grid_region = "DE"  # the zone its carbon points are stored under (tagged region DE)
    site.save()
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider="electricitymaps",
                                  api_key="em-demo-token", options={"base_url": replay_server.url})  # fmt: skip
    tags = {"provider": "electricitymaps", "region": "DE"}
    measured = [
        Reading(MEASUREMENT, {GCO2_KWH: 300.0 + back}, first - back * HOUR, tags)
        for back in range(23, -1, -1)
        if back not in MISSING_CARBON
    ]
    forecast = [
        Reading(FORECAST_MEASUREMENT, {GCO2_KWH: 250.0 + ahead}, first + ahead * HOUR, tags)
        for ahead in (1, 2, 3, 5, 6)
    ]
    isolated.write(settings.INFLUXDB_DATABASE, [*measured, *forecast])
    return first


# What a series draws between two moments (epoch seconds): whether uPlot's line runs through
# them, i.e. no null lies between the two points and the series does not span gaps.
SPANS = (
    "function spans(u, si, from, to) { var x = u.data[0], y = u.data[si], i = x.indexOf(from),"
    "  j = x.indexOf(to); if (i < 0 || j < 0) return 'not drawn';"
    "  if (u.series[si].spanGaps) return true;"
    "  return y.slice(i, j + 1).every(function (v) { return v !== null && v !== undefined; }); }"
)


def test_missing_carbon_hours_are_a_gap(live_server, holes, browser):
    page = browser
    open_as_reader(page, live_server.url)
    before = (holes - 13 * HOUR).timestamp()  # the last value before the hole
    after = (holes - 7 * HOUR).timestamp()  # the first after it
    drawn = page.execute_script(
        SPANS + "var u = Status.charts.carbon; return {hole: spans(u, 1, arguments[0], arguments[1]),"
        " whole: spans(u, 1, arguments[1], arguments[2]), forecast: spans(u, 2, arguments[3], arguments[4]),"
        " forecastHole: spans(u, 2, arguments[4], arguments[5])};",
        before, after, holes.timestamp(), (holes + HOUR).timestamp(), (holes + 3 * HOUR).timestamp(),
        (holes + 5 * HOUR).timestamp(),
    )  # fmt: skip
    # No line from 13 h ago to 7 h ago, nor in the forecast from +3 h to +5 h; the values either
    # side are drawn as lines as before.
    assert drawn == {"hole": False, "whole": True, "forecast": True, "forecastHole": False}
    summary = page.find_element("id", "carbon-summary").text
    # Which series has no value there: the measured one here, the forecast after +3 h (it said
    # "No value between" for both, so a hole in the forecast read as one in the measurements).
    # An end on its start's day is its time only, as every span on the page.
    between = page.execute_script(
        "return arguments[0].map(function (p) { return Status.span(new Date(p[0] * 1000).toISOString(),"
        " new Date(p[1] * 1000).toISOString(), ' and '); });",
        [[before, after], [(holes + 3 * HOUR).timestamp(), (holes + 5 * HOUR).timestamp()]],
    )
    assert summary.endswith(
        f"5 forecast values ahead. No measured value between {between[0]}."
        f" No forecast between {between[1]}."
    ), summary
    assert "19 measured values over 24 h" in summary
    assert page.find_element("id", "carbon-chart").get_attribute("data-points") == "24"


def test_missing_price_slots_are_a_gap(live_server, holes, browser):
    page = browser
    open_as_reader(page, live_server.url)
    slot = [(holes + i * HOUR).timestamp() for i in range(len(EUR_PER_MWH) + 1)]
    drawn = page.execute_script(
        SPANS + "var u = Status.charts.prices, s = arguments[0];"
        "function legend(at) { u.setCursor({left: u.valToPos(at, 'x'), top: 10});"
        "  return u.root.querySelector('.u-legend .u-value').textContent; }"
        "return {hole: spans(u, 1, s[2], s[5]), before: spans(u, 1, s[0], s[2]),"
        " after: spans(u, 1, s[5], s[8]), stepEnd: u.data[0].indexOf(s[3]) >= 0,"
        " legend: [legend(s[2] + 1800), legend(s[4]), legend(s[5] + 60)],"
        " spans: [Status.span(new Date(s[2] * 1000).toISOString(), new Date(s[3] * 1000).toISOString()),"
        "  Status.span(new Date(s[5] * 1000).toISOString(), new Date(s[6] * 1000).toISOString())]};",
        slot,
    )
    # The price of 02:00-03:00 is drawn to 03:00 (the hole's start), then nothing to 05:00.
    assert drawn["hole"] is False and drawn["stepEnd"] is True
    assert drawn["before"] is True and drawn["after"] is True
    # The legend names the slot either side, and no slot in the hole (uPlot's "--", as outside
    # the slots).
    assert drawn["legend"] == [drawn["spans"][0], "--", drawn["spans"][1]], drawn
    chart = page.find_element("id", "price-chart")
    assert chart.get_attribute("data-points") == "6"
    summary = page.find_element("id", "price-summary").text
    gap = page.execute_script(
        "return Status.span(new Date(arguments[0] * 1000).toISOString(),"
        " new Date(arguments[1] * 1000).toISOString());",
        slot[3],
        slot[5],
    )
    assert f"No price from {gap}." in summary, summary


def test_the_value_axes_name_the_apis_units(live_server, holes, browser, django_user_model):
    open_as_reader(browser, live_server.url)
    api_reader = APIClient()
    api_reader.force_authenticate(django_user_model.objects.create_user("api"))
    units = {
        "prices": api_reader.get("/api/pricing/slots").json()["unit"],
        "carbon": api_reader.get("/api/carbon/series", {"hours": 24}).json()["unit"],
    }
    assert units == {"prices": "EUR/kWh", "carbon": "gCO2/kWh"}
    drawn = browser.execute_script(
        "return {prices: Status.charts.prices.axes[1].label,"
        " carbon: Status.charts.carbon.axes[1].label};"
    )
    assert drawn == units


def test_each_chart_image_has_a_name_and_its_summary(live_server, holes, browser):
    # role="img" with a description but no name: a screen reader announced "image" and nothing
    # else until it read the description (axe: role-img-alt).
    open_as_reader(browser, live_server.url)
    document = browser.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    read = {}
    for chart in ("price", "carbon", "storage"):
        node = browser.execute_cdp_cmd(
            "DOM.querySelector", {"nodeId": document, "selector": f"#{chart}-chart"}
        )["nodeId"]
        [ax] = browser.execute_cdp_cmd(
            "Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False}
        )["nodes"]
        summary = browser.find_element("id", f"{chart}-summary").text
        read[chart] = (
            ax["role"]["value"],
            ax["name"]["value"],
            ax["description"]["value"] == summary,
        )
    assert read == {
        "price": ("image", "Electricity prices", True),
        "carbon": ("image", "Grid carbon intensity", True),
        "storage": ("image", "Bytes per tier", True),
    }


def berlin_carbon_site(name: str) -> dict[str, str]:
    """A Berlin site whose carbon provider is Electricity Maps (zone DE); the tags of its points."""
    site = Site.objects.create(name=name, latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin", grid_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider="electricitymaps",
                                  api_key="em-demo-token")  # fmt: skip
    return {"provider": "electricitymaps", "region": "DE"}


@pytest.fixture
def hourly_measured_half_hourly_forecast(settings, isolated, read_clock):
    """A site whose carbon provider stored a value every hour of the last 12 h and a forecast
    every half hour of the next 24 h (a finer forecast than the measurements)."""
    tags = berlin_carbon_site("Fine forecast")
    first = hour_of(read_clock)
    half = timedelta(minutes=30)
    isolated.write(
        settings.INFLUXDB_DATABASE,
        [Reading(MEASUREMENT, {GCO2_KWH: 300.0}, first - n * HOUR, tags) for n in range(12)]
        + [Reading(FORECAST_MEASUREMENT, {GCO2_KWH: 200.0}, first + n * half, tags)
           for n in range(2, 50)],
    )  # fmt: skip
    return first


def test_measurements_coarser_than_the_forecast_are_no_gaps(
    live_server, hourly_measured_half_hourly_forecast, browser
):
    first = hourly_measured_half_hourly_forecast
    open_as_reader(browser, live_server.url)
    ends = [(first - 11 * HOUR).timestamp(), first.timestamp()]
    ahead = [(first + HOUR).timestamp(), (first + 24.5 * HOUR).timestamp()]
    drawn = browser.execute_script(
        SPANS + "var u = Status.charts.carbon, a = arguments;"
        "return [spans(u, 1, a[0][0], a[0][1]), spans(u, 2, a[1][0], a[1][1])];",
        ends, ahead,
    )  # fmt: skip
    # Each series drawn whole: every hour measured, every half hour forecast.
    assert drawn == [True, True]
    assert "No value" not in browser.find_element("id", "carbon-summary").text


@pytest.fixture
def first_measured_value(settings, isolated, read_clock):
    """A site in its first minutes: one measured carbon value, this hour's, and a forecast every
    half hour of the next 24 h (UK Carbon Intensity's first collection stores just that)."""
    tags = berlin_carbon_site("New home")
    first = hour_of(read_clock)
    half = timedelta(minutes=30)
    isolated.write(
        settings.INFLUXDB_DATABASE,
        [Reading(MEASUREMENT, {GCO2_KWH: 266.0}, first, tags)]
        + [Reading(FORECAST_MEASUREMENT, {GCO2_KWH: 120.0}, first + n * half, tags)
           for n in range(48)],
    )  # fmt: skip
    return first


def test_a_lone_measured_value_is_drawn(live_server, first_measured_value, browser):
    """The summary said "1 measured value over 24 h, latest 266 gCO2/kWh", and the chart showed
    only the forecast: a value with no neighbour is a line of no length. It is drawn as a dot
    of the measured series' colour."""
    open_as_reader(browser, live_server.url)
    summary = browser.find_element("id", "carbon-summary").text
    assert "1 measured value over 24 h, latest 266 gCO2/kWh" in summary
    at_value = browser.execute_script(
        "var u = Status.charts.carbon;"
        "var x = u.valToPos(arguments[0], 'x', true), y = u.valToPos(266, 'y', true);"
        "var p = u.ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;"
        "return '#' + Array.from(p.slice(0, 3), function (c) {"
        " return c.toString(16).padStart(2, '0'); }).join('');",
        first_measured_value.timestamp(),
    )  # fmt: skip
    assert at_value == browser.execute_script("return Status.color('carbon');")


def rgb(colour: str) -> tuple[int, int, int]:
    """'#8e4b10' or 'rgb(142, 75, 16)' as its red, green and blue."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3])


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""

    def luminance(c):
        lin = [v / 255 / 12.92 if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def hue_apart(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """How far apart the two colours' hues lie on the colour wheel, in degrees (0 to 180)."""
    hues = [colorsys.rgb_to_hls(*(v / 255 for v in c))[0] * 360 for c in (a, b)]
    apart = abs(hues[0] - hues[1])
    return min(apart, 360 - apart)


# The colour drawn most along the chart's row at value `y`, between the moments `x0` and `x1`
# (epoch seconds), leaving out what is not drawn (transparent): a dashed line's gaps.
DRAWN = (
    "var u = Status.charts.carbon, a = arguments, y = Math.round(u.valToPos(a[0], 'y', true));"
    "var x0 = Math.round(u.valToPos(a[1], 'x', true)), x1 = Math.round(u.valToPos(a[2], 'x', true));"
    "var d = u.ctx.getImageData(x0, y, x1 - x0, 1).data, seen = {};"
    "for (var i = 0; i < d.length; i += 4) { if (d[i + 3] < 255) continue;"
    "  var c = '#' + Array.from(d.slice(i, i + 3), function (v) {"
    "    return v.toString(16).padStart(2, '0'); }).join(''); seen[c] = (seen[c] || 0) + 1; }"
    "return Object.keys(seen).sort(function (p, q) { return seen[q] - seen[p]; })[0];"
)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_measured_and_forecast_carbon_are_told_apart_by_colour(
    live_server, hourly_measured_half_hourly_forecast, browser, scheme
):
    """Measured and forecast carbon intensity were two browns (#8e4b10, #b06000), told apart by
    the forecast's dash alone. Each is drawn (and its legend marked) in a colour of its own,
    hues far apart, each of contrast 4.5:1 or more on the chart's background (dashboard.css);
    the forecast still dashed, in the legend too."""
    first = hourly_measured_half_hourly_forecast
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    open_as_reader(browser, live_server.url)
    colours = browser.execute_script("return [Status.color('carbon'), Status.color('forecast')];")
    measured = browser.execute_script(
        DRAWN, 300, (first - 10 * HOUR).timestamp(), (first - 2 * HOUR).timestamp()
    )
    forecast = browser.execute_script(
        DRAWN, 200, (first + 2 * HOUR).timestamp(), (first + 20 * HOUR).timestamp()
    )
    assert [measured, forecast] == colours
    markers = browser.execute_script(
        "return Array.from(document.querySelectorAll('#carbon-chart .u-legend .u-marker'),"
        " function (m) { var s = getComputedStyle(m);"
        " return [s.borderTopColor, s.borderTopStyle]; }).slice(1);"
    )
    assert [(rgb(c), style) for c, style in markers] == [
        (rgb(colours[0]), "solid"),
        (rgb(colours[1]), "dashed"),
    ]
    background = browser.execute_script(
        "return getComputedStyle(document.getElementById('carbon-chart').parentElement)"
        ".backgroundColor;"
    )
    assert hue_apart(rgb(measured), rgb(forecast)) >= 90, (measured, forecast)
    for drawn in (measured, forecast):
        assert contrast(rgb(drawn), rgb(background)) >= 4.5, (drawn, background)
