"""The status page's storage chart in a real browser when a day's sizes could not be measured
(InfluxDB out of reach at 08:15): that day's `retention_metrics` point has the archive's size
but no tier sizes, and the chart must leave a gap there, not draw a database of 0 bytes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from enrich.influx import get_timeseries
from enrich.models import Site
from enrich.readings import Reading
from retention.schema import METRICS_MEASUREMENT
from retention.timeutil import floor_day
from tests.dashboard.browser import BROWSER_TEST, dates, log_in
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST
MIB = 2**20


@pytest.mark.usefixtures("isolated")
def test_a_day_without_measured_sizes_is_a_gap_not_zero(live_server, browser, settings):
    from selenium.webdriver.common.by import By

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    today = floor_day(datetime.now(UTC))
    days = [today - timedelta(days=n) for n in (2, 1, 0)]
    sizes = {"raw_size_bytes": 40 * MIB, "hourly_size_bytes": 2 * MIB, "daily_size_bytes": MIB}
    measured = {**sizes, "archive_size_bytes": 3 * MIB}
    get_timeseries().write(
        settings.INFLUXDB_DATABASE,
        [
            Reading(METRICS_MEASUREMENT, measured, days[0]),
            # InfluxDB's sizes not readable that morning: only the archive (PostgreSQL) known.
            Reading(
                METRICS_MEASUREMENT,
                {
                    "archive_size_bytes": 3 * MIB,
                    "unmeasured": "current_db_size_gb: InfluxDB's sizes could not be read",
                },
                days[1],
            ),  # fmt: skip
            Reading(METRICS_MEASUREMENT, measured, days[2]),
        ],
    )
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    drawn = browser.execute_script("return Status.charts.storage.data;")
    stacked = [40 * MIB, 42 * MIB, 43 * MIB, 46 * MIB]  # raw, +hourly, +daily, +archive
    assert drawn[1:] == [[top, None, top] for top in stacked]
    summary = browser.find_element(By.ID, "storage-summary").text
    assert summary.endswith("raw 40.0 MiB, hourly 2.0 MiB, daily 1.0 MiB, archive 3.0 MiB."), (
        summary
    )

    # The legend with no cursor: "--" for the day and every tier, as the other charts' legends
    # (the tiers said "—", the mark of a value not measured); the gap day's tiers: "—".
    def legend_values(idx: int | None = None) -> list[str]:
        return browser.execute_script(
            "var u = Status.charts.storage; if (arguments[0] !== null) u.setLegend({idx: arguments[0]});"
            " return Array.from(u.root.querySelectorAll('.u-legend .u-value'),"
            " function (e) { return e.textContent; });",
            idx,
        )

    assert legend_values() == ["--"] * 5
    assert legend_values(1)[1:] == ["—", "—", "—", "3.0 MiB"]
    # The legend dates each point by the UTC day it measures, as the axis and summary do (not
    # uPlot's "12/3/26 12:00am", a time of day no measurement was taken at).
    legend = browser.execute_script(
        "var u = Status.charts.storage; return [0, 1, 2].map(function (i) { u.setLegend({idx: i});"
        " return u.root.querySelector('.u-legend .u-value').textContent; });"
    )
    assert legend == dates(browser, *days)


def colour_at(browser, day: datetime, size: int) -> str | None:
    """The tier whose colour the storage chart has drawn at `day`, `size` bytes up, or None."""
    return browser.execute_script(
        "var u = Status.charts.storage, r = window.devicePixelRatio || 1;"
        "var x = u.valToPos(arguments[0], 'x', true), y = u.valToPos(arguments[1], 'y', true);"
        "var p = u.ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;"
        "var hex = '#' + Array.from(p.slice(0, 3), function (c) {"
        " return c.toString(16).padStart(2, '0'); }).join('');"
        "return ['raw', 'hourly', 'daily', 'archive'].filter(function (t) {"
        " return Status.color(t) === hex; })[0] || null;",
        day.timestamp(), size,
    )  # fmt: skip


@pytest.mark.usefixtures("isolated")
def test_one_measurement_is_drawn_as_a_bar_of_each_tier(live_server, browser, settings):
    """A fresh install's first measurement: raw 40 MiB, hourly 10 MiB, no daily or archive yet.
    The chart drew four dots at one day, the archive's last and on top of the others: a lone
    archive-coloured dot at 50 MiB, where the summary said archive 0 B. It draws one bar
    stacked of the tiers measured, each in its colour, as the legend names them."""
    from selenium.webdriver.common.by import By

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    today = floor_day(datetime.now(UTC))
    sizes = {"raw_size_bytes": 40 * MIB, "hourly_size_bytes": 10 * MIB, "daily_size_bytes": 0,
             "archive_size_bytes": 0}  # fmt: skip
    get_timeseries().write(settings.INFLUXDB_DATABASE, [Reading(METRICS_MEASUREMENT, sizes, today)])
    browser.set_window_size(1280, 2600)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    summary = browser.find_element(By.ID, "storage-summary").text
    assert summary.endswith("raw 40.0 MiB, hourly 10.0 MiB, daily 0 B, archive 0 B."), summary
    assert [colour_at(browser, today, n * MIB) for n in (5, 20, 35)] == ["raw"] * 3
    assert [colour_at(browser, today, n * MIB) for n in (43, 47)] == ["hourly"] * 2
    assert colour_at(browser, today, 52 * MIB) is None  # above the bar: nothing measured there


@pytest.mark.usefixtures("isolated")
def test_measurements_of_last_year_are_dated_with_their_year(live_server, browser, settings):
    """Measurements span two calendar years around a New Year (and a year of them always): the
    axis and legend said "Wed, Dec 31" and then "Thu, Jan 1" of whichever year, and a year's
    chart went from "Sun, Dec 7" to "Mon, Dec 7". A day of another year than this one carries
    its year ("Wed, Dec 31, 2025"), this year's do not, and the labels still do not overlap."""
    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    today = floor_day(datetime.now(UTC))
    eve = datetime(today.year - 1, 12, 31, tzinfo=UTC)  # last New Year's Eve: within 365 days
    days = [eve + timedelta(days=n) for n in range(-6, 8)]  # two weeks around it
    sizes = {"raw_size_bytes": 40 * MIB, "hourly_size_bytes": 2 * MIB, "daily_size_bytes": MIB,
             "archive_size_bytes": 3 * MIB}  # fmt: skip
    get_timeseries().write(
        settings.INFLUXDB_DATABASE, [Reading(METRICS_MEASUREMENT, sizes, day) for day in days]
    )
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    legend = browser.execute_script(
        "var u = Status.charts.storage; return arguments[0].map(function (i) {"
        " u.setLegend({idx: i}); return u.root.querySelector('.u-legend .u-value').textContent;"
        " });",
        [6, 7],
    )
    assert legend == browser.execute_script(
        "return [new Date(arguments[0]).toLocaleDateString([], {timeZone: 'UTC', weekday:"
        " 'short', day: 'numeric', month: 'short', year: 'numeric'}), new Date(arguments[1])"
        ".toLocaleDateString([], {timeZone: 'UTC', weekday: 'short', day: 'numeric', month:"
        " 'short'})];",
        eve.isoformat(),
        days[7].isoformat(),
    )
    # Each tick's label: its year for last year's days; where it starts and ends, drawn.
    ticks = browser.execute_script(
        "var u = Status.charts.storage, a = u.axes[0], r = uPlot.pxRatio, ctx = u.ctx;"
        " ctx.save(); ctx.font = a.font[0];"
        " var out = a._splits.map(function (s, i) { var x = u.valToPos(s, 'x');"
        "   var w = ctx.measureText(a._values[i]).width / r;"
        "   return [s, a._values[i], x - w / 2, x + w / 2]; });"
        " ctx.restore(); return out;"
    )
    assert len(ticks) > 2 and all(
        (str(eve.year) in label) == (datetime.fromtimestamp(tick, UTC).year == eve.year)
        for tick, label, _, _ in ticks
    ), ticks
    assert all(left[3] < right[2] for left, right in zip(ticks, ticks[1:], strict=False)), ticks
