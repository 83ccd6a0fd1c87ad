"""Times on the status page, in a real browser in New York for a home in Berlin, the night its
clocks go back (2026-10-25: 02:00-03:00 happens twice). What the page composes reads on the
home's clock, a time that clock shows twice says its zone, and a daily storage measurement
reads as the UTC day it measures, not as the evening before."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from collectors.models import FlexibleLoad
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from retention.stats import metrics
from retention.timeutil import floor_day
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support.chromium import POLL, wait_for
from tests.support.status_home import berlin_flat

pytestmark = BROWSER_TEST

NOW = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # Sun 00:30 in Berlin (CEST, UTC+2)
FIRST_TWO = datetime(2026, 10, 25, 0, tzinfo=UTC)  # 02:00 CEST
SECOND_TWO = datetime(2026, 10, 25, 1, tzinfo=UTC)  # 02:00 CET, an hour later
# EUR/MWh of the hourly slots from 20:00 UTC: the cheapest hour is the second 02:00, the
# cheapest three hours start at the first.
CHEAP = {FIRST_TWO: 20.0, SECOND_TWO: 10.0, SECOND_TWO + timedelta(hours=1): 15.0}


@pytest.fixture
def autumn_home(settings, isolated, replay_server, monkeypatch):
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    site = berlin_flat(replay_server, monkeypatch, NOW, CHEAP)
    FlexibleLoad.objects.create(site=site, name="Dishwasher", hours=1, deadline=time(6))
    # Done by 02:30, which zoneinfo takes as the first one (CEST).
    FlexibleLoad.objects.create(site=site, name="Heat pump", hours=1, deadline=time(2, 30))
    # The storage measured today (stamped at this UTC midnight), whatever the day.
    measured = floor_day(datetime.now(UTC))
    metrics.record_metrics(measured + timedelta(hours=4, minutes=15))
    return measured


@pytest.fixture
def autumn_carbon(settings, isolated, autumn_home):
    """The autumn home with Electricity Maps' carbon intensity: measured every hour up to NOW
    (Sun 00:30), forecast every hour from 01:00 to 04:00 (the second 02:00 among them)."""
    site = Site.objects.get()
    site.grid_region = "DE"  # the zone its carbon points are stored under (tagged region DE)
    site.save()
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider="electricitymaps",
                                  api_key="em-demo-token")  # fmt: skip
    tags = {"provider": "electricitymaps", "region": "DE"}
    hour = timedelta(hours=1)
    measured = [Reading(MEASUREMENT, {GCO2_KWH: 300.0 + n}, FIRST_TWO - n * hour, tags)
                for n in range(2, 7)]  # fmt: skip
    forecast = [Reading(FORECAST_MEASUREMENT, {GCO2_KWH: 200.0 + n}, FIRST_TWO + n * hour, tags)
                for n in range(-1, 4)]  # fmt: skip
    isolated.write(settings.INFLUXDB_DATABASE, [*measured, *forecast])


def berlin(browser, moment: datetime, **options) -> str:
    """`moment` as this browser's language writes it on Berlin's clock (Intl, not the page)."""
    return browser.execute_script(
        "return new Date(arguments[0]).toLocaleString([], arguments[1]);",
        moment.isoformat(), {"timeZone": "Europe/Berlin", **options},
    )  # fmt: skip


def zone(browser, moment: datetime) -> str:
    """Berlin's short zone name at `moment` in this browser's language ("GMT+1" or "CET")."""
    return browser.execute_script(
        "return new Intl.DateTimeFormat([], {timeZone: 'Europe/Berlin', timeZoneName: 'short'})"
        ".formatToParts(new Date(arguments[0])).filter(function (p) {"
        " return p.type === 'timeZoneName'; })[0].value;",
        moment.isoformat(),
    )


def in_new_york(browser, url: str) -> None:
    """A read-only user's browser in New York on the status page at `url`, once it is drawn."""
    User.objects.create_user("reader", password="read-only-password")
    browser.set_window_size(1280, 3000)
    browser.get(f"{url}/login/")
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    log_in(browser, url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")


def test_times_read_on_the_homes_clock_and_the_repeated_hour_says_which(
    live_server, autumn_home, browser
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    in_new_york(browser, live_server.url)
    assert browser.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone;") == (
        "America/New_York"
    )

    def at(moment: datetime) -> str:  # the page's short form (weekday, hour)
        return berlin(browser, moment, weekday="short", hour="2-digit", minute="2-digit")

    def hour(moment: datetime) -> str:  # an end on its start's day: the hour only
        return berlin(browser, moment, hour="2-digit", minute="2-digit")

    first, second = zone(browser, FIRST_TWO), zone(browser, SECOND_TWO)
    assert first != second and at(FIRST_TWO) == at(SECOND_TWO)  # e.g. GMT+2 / GMT+1
    # The cheapest 3 h start at the first 02:00 and end at 04:00, which the clock shows once.
    summary = browser.find_element(By.ID, "price-summary").text
    end = FIRST_TWO + timedelta(hours=3)
    assert f"Cheapest 3 h: {at(FIRST_TWO)} {first} to {hour(end)}, average" in summary, summary
    # The cheapest hour is the second 02:00.
    Select(browser.find_element(By.ID, "window-hours")).select_by_value("1")
    expected = f"Cheapest 1 h: {at(SECOND_TWO)} {second} to {hour(SECOND_TWO + timedelta(hours=1))}"
    WebDriverWait(browser, 10, poll_frequency=POLL).until(
        lambda d: expected in d.find_element(By.ID, "price-summary").text
    )

    # The plans: by price only (no carbon provider), the dishwasher in the second 02:00; the
    # heat pump done by the first 02:30.
    dishwasher = browser.find_element(By.CSS_SELECTOR, "article.plan[data-load='Dishwasher']")
    assert dishwasher.find_element(By.TAG_NAME, "h4").text.endswith(
        f"done by {at(FIRST_TWO + timedelta(hours=5))}"  # 06:00 CET
    )
    window = dishwasher.find_element(By.CSS_SELECTOR, ".plan-window").text
    assert (
        window
        == f"Recommended: {at(SECOND_TWO)} {second} to {hour(SECOND_TWO + timedelta(hours=1))}"
    )
    pump = browser.find_element(By.CSS_SELECTOR, "article.plan[data-load='Heat pump'] h4").text
    assert pump.endswith(f"done by {at(FIRST_TWO + timedelta(minutes=30))} {first}"), pump

    # The last collection (at NOW: Sunday 00:30 in Berlin, Saturday evening in New York).
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-source=electricity_pricing]").text
    started = berlin(browser, NOW, weekday="short", day="numeric", month="short",
                     hour="2-digit", minute="2-digit")  # fmt: skip
    assert f"fetched and written · {started}" in row, row

    # The storage measured today reads as today, not as yesterday evening in New York.
    measured = browser.execute_script(
        "return new Date(arguments[0]).toLocaleDateString([], {timeZone: 'UTC', weekday: 'short',"
        " day: 'numeric', month: 'short'});",
        autumn_home.isoformat(),
    )
    storage = browser.find_element(By.ID, "storage-summary").text
    assert storage.startswith(f"1 daily measurement; on {measured}: raw "), storage
    assert "20:00" not in storage and "08:00 PM" not in storage
    # Said once, at the top.
    assert browser.find_element(By.ID, "zone").text.startswith(
        "Times are the home's (Europe/Berlin);"
    )


@pytest.mark.usefixtures("autumn_carbon")
def test_the_carbon_legend_reads_the_homes_clock_and_says_which_repeated_hour(live_server, browser):
    in_new_york(browser, live_server.url)
    legend = browser.execute_script(
        "var u = Status.charts.carbon; return u.data[0].map(function (t, i) { u.setLegend({idx: i});"
        " return Array.from(u.root.querySelectorAll('.u-legend .u-value'), function (e) {"
        " return e.textContent; }); });"
    )

    def at(moment: datetime) -> str:
        return berlin(browser, moment, weekday="short", hour="2-digit", minute="2-digit")

    first, second = zone(browser, FIRST_TWO), zone(browser, SECOND_TWO)
    hour = timedelta(hours=1)
    # Measured up to 00:00 (no forecast then: "—"), forecast from 01:00 (no
    # measurement: "—"); the repeated hour says which, as every time on the page does (uPlot
    # wrote "2026-10-25 2:00am" for both, on its own format).
    assert legend == [
        *([at(FIRST_TWO - n * hour), str(300 + n), "—"] for n in range(6, 1, -1)),
        [at(FIRST_TWO - hour), "—", "199"],
        [f"{at(FIRST_TWO)} {first}", "—", "200"],
        [f"{at(SECOND_TWO)} {second}", "—", "201"],
        [at(SECOND_TWO + hour), "—", "202"],
        [at(SECOND_TWO + 2 * hour), "—", "203"],
    ]


def ticks(browser, name: str) -> list[tuple[datetime, str]]:
    """Where the chart's time axis has its ticks, and what each says."""
    axis = browser.execute_script(
        "var a = Status.charts[arguments[0]].axes[0]; return [a._splits, a._values];", name
    )
    return [(datetime.fromtimestamp(t, UTC), label) for t, label in zip(*axis, strict=True)]


@pytest.mark.usefixtures("autumn_carbon")
def test_the_time_axes_read_the_homes_clock_as_the_page_writes_times(live_server, browser):
    in_new_york(browser, live_server.url)

    def hour(moment: datetime) -> str:
        return berlin(browser, moment, hour="2-digit", minute="2-digit")

    def date(moment: datetime) -> str:
        return berlin(browser, moment, weekday="short", day="numeric", month="short")

    # Hourly from Saturday 20:00 to Sunday 04:00 in Berlin (uPlot's own: "8pm\n10/24/26",
    # "12am\n10/25", "2am", "2am"): the date under the first tick and under midnight, the zone
    # under each 02:00.
    first, second = zone(browser, FIRST_TWO), zone(browser, SECOND_TWO)
    hours = [FIRST_TWO + n * timedelta(hours=1) for n in range(-6, 4)]
    said = {
        hours[0]: date(hours[0]),
        hours[4]: date(hours[4]),
        FIRST_TWO: first,
        SECOND_TWO: second,
    }
    assert ticks(browser, "carbon") == [
        (h, hour(h) + ("\n" + said[h] if h in said else "")) for h in hours
    ]
    assert hour(hours[0]) != hour(hours[0] + timedelta(hours=12))  # the axis says AM or PM too
    # The price chart, every 2 h: the first 02:00, then 04:00 (three hours later).
    prices = ticks(browser, "prices")
    assert prices[:3] == [
        (
            FIRST_TWO - 2 * timedelta(hours=1),
            f"{hour(FIRST_TWO - timedelta(hours=2))}\n{date(FIRST_TWO)}",
        ),
        (FIRST_TWO, f"{hour(FIRST_TWO)}\n{first}"),
        (FIRST_TWO + 3 * timedelta(hours=1), hour(FIRST_TWO + timedelta(hours=3))),
    ]


SPRING_NOW = datetime(
    2026, 3, 8, 0, 30, tzinfo=UTC
)  # 01:30 in Berlin; New York's clocks go forward at 07:00


def test_the_time_axis_keeps_its_steps_when_the_browsers_clock_changes(
    settings, isolated, replay_server, monkeypatch, live_server, browser
):
    """New York's clocks go forward on 8 March (02:00 there does not exist), Berlin's not: the
    price chart's ticks stay on every other hour of Berlin's clock (uPlot, reading Berlin's
    clock through a Date of New York's zone, put them at 00:00, 02:00, 05:00, 07:00, ...)."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    berlin_flat(replay_server, monkeypatch, SPRING_NOW, {})
    in_new_york(browser, live_server.url)
    prices = ticks(browser, "prices")
    # Berlin is UTC+1 all day: its even hours are the odd hours of UTC.
    first = datetime(2026, 3, 8, 1, tzinfo=UTC)  # Sunday 02:00 in Berlin, the first slot's 01:00
    assert [t for t, _ in prices] == [first + n * timedelta(hours=2) for n in range(len(prices))]
    assert len(prices) >= 10  # the 22 slots from this hour
    labels = [berlin(browser, t, hour="2-digit", minute="2-digit") for t, _ in prices]
    labels[0] += "\n" + berlin(browser, first, weekday="short", day="numeric", month="short")
    assert [label for _, label in prices] == labels


BERLIN_SPRING_NOW = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # Sun 29 March, 23:30 in Berlin
# Berlin's clocks go forward at 01:00 UTC that night (02:00 CET is 03:00 CEST).


def test_the_time_axis_skips_the_hour_the_homes_clock_skips(
    settings, isolated, replay_server, monkeypatch, live_server, browser
):
    """Every other hour of Berlin's clock the night 02:00 does not exist there: 00:00, then
    04:00 (three hours later), 06:00, ...; each labelled as that clock reads."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    berlin_flat(replay_server, monkeypatch, BERLIN_SPRING_NOW, {})
    in_new_york(browser, live_server.url)
    prices = ticks(browser, "prices")
    hour = timedelta(hours=1)
    midnight = datetime(2026, 3, 28, 23, tzinfo=UTC)  # Sunday 00:00 CET
    expected = [
        midnight,
        midnight + 3 * hour,
        *(midnight + (3 + 2 * n) * hour for n in range(1, 9)),
    ]
    assert [t for t, _ in prices][: len(expected)] == expected
    shown = [berlin(browser, t, hour="2-digit", minute="2-digit") for t in expected]
    shown[0] += "\n" + berlin(browser, midnight, weekday="short", day="numeric", month="short")
    assert [label for _, label in prices][: len(expected)] == shown


# 02:59 CEST in Berlin, the last minute of the first 02:45 slot.
SLOT_EDGE = datetime(2026, 10, 25, 0, 59, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
# EUR/MWh of the eight quarter hours from the first 02:00: 10, 11, ... 17 (the rest 100).
REPEATED = {FIRST_TWO + n * QUARTER: 10.0 + n for n in range(8)}


def test_the_repeated_hours_quarter_hours_are_each_one_slot_saying_which(
    settings, isolated, replay_server, monkeypatch, live_server, browser
):
    """aWATTar's quarter hours the night Berlin's clocks go back, seen at 02:59 CEST: the price
    chart draws every slot of both 02:00-03:00 once, each its 15 min wide, its legend naming it
    with its zone where the clock shows it twice, and the Now table gives the running slot."""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    berlin_flat(replay_server, monkeypatch, SLOT_EDGE, REPEATED, slots=24, slot=QUARTER)
    in_new_york(browser, live_server.url)
    drawn = browser.execute_script(
        "var u = Status.charts.prices; return {x: u.data[0], legend: u.data[0].map(function (t, i)"
        " { u.setLegend({idx: i}); return Array.from(u.root.querySelectorAll('.u-legend .u-value'),"
        " function (e) { return e.textContent; }).slice(0, 2); })};"
    )
    first, second = zone(browser, FIRST_TWO), zone(browser, SECOND_TWO)

    def at(moment: datetime, said: str = "", weekday: bool = True) -> str:
        day = {"weekday": "short"} if weekday else {}
        text = berlin(browser, moment, **day, hour="2-digit", minute="2-digit")
        return f"{text} {said}" if said else text

    # From the running slot (the first 02:45) to the last's end (05:00 CET): 13 slots, one
    # point each, 15 min apart, then the closing point.
    running = FIRST_TWO + 3 * QUARTER
    starts = [running + n * QUARTER for n in range(13)]
    assert drawn["x"] == [t.timestamp() for t in [*starts, starts[-1] + QUARTER]]
    seconds = [SECOND_TWO + n * QUARTER for n in range(4)]
    assert drawn["legend"][:6] == [
        [f"{at(running, first)} to {at(SECOND_TWO, second, False)}", "0.013"],
        *(
            [f"{at(s, second)} to {at(s + QUARTER, second, False)}", str((14 + n) / 1000)]
            for n, s in enumerate(seconds[:3])
        ),
        [f"{at(seconds[3], second)} to {at(seconds[3] + QUARTER, '', False)}", "0.017"],
        [f"{at(seconds[3] + QUARTER)} to {at(seconds[3] + 2 * QUARTER, '', False)}", "0.1"],
    ]
    # The Now table: the running slot and its price, as the API gives them for that minute.
    api = APIClient()
    api.force_authenticate(User.objects.get(username="reader"))
    [price] = api.get("/api/enrichment/current").json()["sources"]["electricity_pricing"][
        "providers"
    ]
    assert (price["time"], price["value"]["current_price"]) == (running.isoformat(), 0.013)
    row = "tr[data-provider=awattar]"
    assert browser.find_element("css selector", f"{row} td.value").text == "0.013 EUR/kWh"
    assert browser.find_element("css selector", f"{row} td.value-time").text == (
        f"{at(running, first)} to {at(SECOND_TWO, second, False)}, running now"
    )
