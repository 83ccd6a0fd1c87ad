"""A chart's day ticks for a home in Santiago, in a real browser: on 7 September 2025 the clock
there goes from 23:59:59 (UTC-4) to 01:00 (UTC-3), so that day has no midnight and starts at
01:00 (04:00 UTC). Ticks a day or more apart go at each day's start: that day has its tick,
dated the 7th (it had none: the axis went from the 6th to the 8th)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enrich.models import Site
from retention.timeutil import day_start
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import POLL

pytestmark = BROWSER_TEST
SANTIAGO = ZoneInfo("America/Santiago")
FIRST, LAST = date(2025, 9, 4), date(2025, 9, 10)


def drawn_days(browser, width: int) -> tuple[list[datetime], list[str], float]:
    """A chart of hourly values from FIRST's start to LAST's, drawn `width` px wide by the
    page's own chart code: its time axis' ticks, their labels, and the days uPlot put between
    ticks (its increment)."""
    from selenium.webdriver.support.ui import WebDriverWait

    start, end = day_start(FIRST, SANTIAGO), day_start(LAST, SANTIAGO)
    hours = int((end - start) / timedelta(hours=1))
    browser.execute_script(
        "var box = document.createElement('div'), el = document.createElement('div');"
        " box.style.width = arguments[2] + 'px'; box.appendChild(el);"
        " document.getElementById('status').appendChild(box);"
        " var x = [], y = [];"
        " for (var i = 0; i <= arguments[1]; i++) { x.push(arguments[0] + 3600 * i); y.push(i); }"
        " Status.chart('days', el, {series: [{}, {label: 'kettle'}]}, [x, y], 'W');",
        start.timestamp(),
        hours,
        width,
    )
    axis = WebDriverWait(browser, 10, poll_frequency=POLL).until(
        lambda d: d.execute_script(
            "var a = Status.charts.days.axes[0]; return a._splits &&"
            " [a._splits, a._values, a._found[0] / 86400];"
        )
    )
    splits, labels, apart = axis
    return [datetime.fromtimestamp(t, UTC) for t in splits], labels, apart


def dated(browser, moments: list[datetime]) -> list[str]:
    """Each moment's date as this browser's language writes it on Santiago's clock."""
    return browser.execute_script(
        "return arguments[0].map(function (t) { return new Date(t).toLocaleDateString([],"
        " {timeZone: 'America/Santiago', weekday: 'short', day: 'numeric', month: 'short'}); });",
        [m.isoformat() for m in moments],
    )


@pytest.mark.parametrize("width", [700, 400])  # a tick a day; a tick every other day
def test_day_ticks_go_at_each_days_first_instant(live_server, browser, width):
    Site.objects.create(name="Santiago flat", latitude=-33.45, longitude=-70.67,
                        timezone="America/Santiago")  # fmt: skip
    open_as_reader(browser, live_server.url)

    ticks, labels, apart = drawn_days(browser, width)

    every = round(apart)
    assert every == (1 if width == 700 else 2)
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    # On the home's clock, days since 1970 divisible by `every` (as for every other day).
    starts = [day_start(d, SANTIAGO) for d in days if (d - date(1970, 1, 1)).days % every == 0]
    assert ticks == [s for s in starts if ticks[0] <= s <= ticks[-1]]
    if every == 1:
        assert datetime(2025, 9, 7, 4, tzinfo=UTC) in ticks  # 01:00 on the 7th
    assert labels == dated(browser, ticks)
