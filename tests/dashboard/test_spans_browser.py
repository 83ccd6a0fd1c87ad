"""How the status page writes a slot or a window (a start and an end) and the times in the
reasons no cheapest window or plan can be found, in a real browser for a home in Berlin on a
Saturday evening. An end on the start's day is its time only ("Sat 10:00 PM to 11:00 PM"; it
read "Sat 10:00 PM to Sat 11:00 PM"), one on another day says that day; and the API's UTC
times in a reason read as the page writes times ("No cheapest window: … between now
(2026-12-05T21:30:12.123456+00:00) and …" read so)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import POLL
from tests.support.status_home import berlin_flat

pytestmark = BROWSER_TEST

NOW = datetime(2026, 12, 5, 21, 30, 12, 123456, tzinfo=UTC)  # Sat 22:30 in Berlin (CET)
HOUR = timedelta(hours=1)
RUNNING = NOW.replace(minute=0, second=0, microsecond=0)  # the slot Sat 22:00 to 23:00
# The cheapest 3 h from Sat 23:00 to Sun 02:00 in Berlin; of them, ties going to the later,
# the cheapest hour Sun 01:00 to 02:00.
CHEAP = {RUNNING + n * HOUR: 10.0 for n in (1, 2, 3)}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def written(browser, moment: datetime, weekday: bool = True) -> str:
    """`moment` on Berlin's clock as this browser's language writes the hour (and weekday)."""
    options = {"timeZone": "Europe/Berlin", "hour": "2-digit", "minute": "2-digit"}
    if weekday:
        options["weekday"] = "short"
    return browser.execute_script(
        "return new Date(arguments[0]).toLocaleString([], arguments[1]);",
        moment.isoformat(),
        options,
    )


@pytest.fixture
def page(live_server, browser, isolated, replay_server, monkeypatch):
    berlin_flat(replay_server, monkeypatch, NOW, CHEAP)
    open_as_reader(browser, live_server.url)
    return browser


def test_an_end_on_the_starts_day_is_its_time_only(page):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    row = page.find_element("css selector", "tr[data-provider=awattar] td.value-time").text
    running = f"{written(page, RUNNING)} to {written(page, RUNNING + HOUR, weekday=False)}"
    assert row == f"{running}, running now", row  # "Sat 10:00 PM to 11:00 PM, running now"

    # Sat 23:00 to Sun 02:00: another day, said.
    start, end = RUNNING + HOUR, RUNNING + 4 * HOUR
    crossing = f"{written(page, start)} to {written(page, end)}"
    summary = page.find_element("id", "price-summary").text
    assert f"Cheapest 3 h: {crossing}, average 0.01 EUR/kWh." in summary, summary
    recommended = page.find_element("css selector", "article.plan .plan-window").text
    assert recommended == f"Recommended: {crossing}", recommended

    # Sun 01:00 to 02:00: the same day again, in the summary and the chart's legend.
    Select(page.find_element("id", "window-hours")).select_by_value("1")
    start = RUNNING + 3 * HOUR
    sunday = f"{written(page, start)} to {written(page, end, weekday=False)}"
    WebDriverWait(page, 10, poll_frequency=POLL).until(
        lambda d: f"Cheapest 1 h: {sunday}," in d.find_element("id", "price-summary").text
    )
    legend = page.execute_script(
        "var u = Status.charts.prices; u.setCursor({left: u.valToPos(arguments[0], 'x'), top: 10});"
        "return u.root.querySelector('.u-legend .u-value').textContent;",
        start.timestamp() + 600,
    )
    assert legend == sunday, legend


@pytest.fixture
def short_prices(live_server, browser, isolated, replay_server, monkeypatch):
    """Prices stored until Sat 23:00 (the running slot the last): no 3 h ahead."""
    berlin_flat(replay_server, monkeypatch, NOW, {}, slots=4)
    open_as_reader(browser, live_server.url)
    return browser


def test_no_cheapest_window_writes_now_as_the_page_writes_times(short_prices):
    summary = short_prices.find_element("id", "price-summary").text
    reason = short_prices.find_element("css selector", "article.plan .plan-reason").text
    limit = NOW + timedelta(hours=48)
    between = f"between now ({written(short_prices, NOW)}) and {written(short_prices, limit)}"
    assert "No cheapest window: only 1 h of price slots lie entirely " + between in summary, summary
    # The plan's limit is 48 h from the browser's clock (not the test's).
    now = f"between now ({written(short_prices, NOW)}) and "
    assert "No plan possible: only 1 h of price slots lie entirely " + now in reason, reason
    assert not ISO.search(summary) and not ISO.search(reason), (summary, reason)
