"""The status page fits the browser's width, on a 1280 px screen, in a 1100 px window, on a
768 px tablet and on a 375 px phone: with a run's error naming a URL in the Now table (a failed
carbon run, the carbon value stale), with no data at all, and with two sites (the one shown
marked among their links). The Now table
was about 20 px wider than the page at 1280 px (the URL, which did not break, held its column
open), and at 375 px the Now and Processes tables made the whole page scroll sideways, then
scrolled sideways in their own boxes (the Now table was three screens wide)."""

import re
import time

import pytest

from collectors import pipeline
from enrich.models import ProviderConfig, Site
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST

# The width of the box each table sits in, with the table, against the box's own, and the page's scroll width against its own.
WIDTHS = """
var page = document.documentElement;
return {page: [page.scrollWidth, page.clientWidth],
        tables: Array.from(document.querySelectorAll('table'), function (t) {
          return [t.id || t.className, t.parentElement.scrollWidth, t.parentElement.clientWidth];
        })};
"""


# Each cell of a row: the heading shown before it, its text, and whether it lies within the
# row's box (on a phone the heading beside it, not over the value or outside the page).
LABELLED = """
var row = arguments[0], outer = row.getBoundingClientRect();
return Array.from(row.cells, function (td) {
  var label = getComputedStyle(td, '::before').content.replace(/^"|"$/g, '');
  var box = td.getBoundingClientRect();
  return [label, td.textContent, box.left >= outer.left && box.right <= outer.right];
});
"""


def widths(browser, width: int) -> dict:
    browser.set_window_size(width, 2600)
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    return browser.execute_script(WIDTHS)


def assert_fits(browser) -> None:
    """At 1280 px every table fits the page's column; in a narrower window (1100 px), on a
    tablet held upright (768 px) and on a phone (375 px) neither the page nor a table scrolls
    sideways: a wide table's rows are blocks of lines, each value after its heading (the Now
    table scrolled in its box: 952 px of it in 328 on the phone, 1075 in 721 on the tablet and
    in 1053 at 1100 px, its State and Last run columns out of sight)."""
    for width in (1280, 1100, 768, 375):  # leaves the phone's width
        shown = widths(browser, width)
        assert shown["page"][0] <= shown["page"][1], (width, shown)
        assert [t for t in shown["tables"] if t[1] > t[2]] == [], (width, shown)
    # A message's column is not squeezed to a few letters a line ("recorde d", "consum es").
    narrowest = browser.execute_script(
        "return Math.min.apply(null, Array.from(document.querySelectorAll('td.message'),"
        " function (td) { return td.getBoundingClientRect().width; }));"
    )
    assert narrowest >= 150, narrowest


def test_a_runs_error_with_a_url_does_not_widen_the_page(
    live_server, collected, browser, replay_server, settings
):
    settings.CACHE_TTL_SECONDS = {**settings.CACHE_TTL_SECONDS, "carbon_intensity": 1}
    ProviderConfig.objects.create(site=collected, source="occupancy", provider="google_calendar")
    time.sleep(1.5)  # past the carbon answer's 1 s TTL
    settings.HTTP_MAX_RETRIES = 0
    replay_server.reset()
    replay_server.add("GET", "/carbon-intensity/latest", status=503, body="upstream down")
    assert pipeline.collect(collected.providers.get(provider="electricitymaps")).status == "failed"
    open_as_reader(browser, live_server.url)
    run = browser.find_element("css selector", "tr[data-provider=electricitymaps]").text
    assert f"{replay_server.url}/carbon-intensity/latest?zone=DE answered HTTP 503" in run, run
    assert_fits(browser)  # leaves the phone's width
    # Each value of the row after its column's heading, the error's URL broken inside it.
    row = browser.find_element("css selector", "tr[data-provider=electricitymaps]")
    lines = browser.execute_script(LABELLED, row)
    assert [label for label, _value, _inside in lines] == [
        "Source", "Provider", "Value", "Value of", "Fetched", "State", "Last run", "Runs today",
        "Budget used"]  # fmt: skip
    assert lines[0][1:] == ["carbon intensity", True] and lines[1][1:] == ["electricitymaps", True]
    assert all(inside for _label, _value, inside in lines), lines
    assert f"{replay_server.url}/carbon-intensity/latest?zone=DE answered HTTP 503" in lines[6][1]
    # The run's status in words, as the admin lists runs, and what it served instead, its
    # time as the page writes times: it read "failed, last good served" also with nothing.
    assert lines[6][1].startswith("failed · "), lines[6][1]
    assert re.search(
        r" · served instead: last good answer from \w{3} \d\d:\d\d [AP]M \(\d+ s old, stale\) · ",
        lines[6][1],
    ), lines[6][1]
    # Beside the long error the time a value is of keeps room to be read: "Sat 09:00 AM, 5 min
    # ago" took a line a word, five lines, at 1280 px.
    widths(browser, 1280)
    lines = browser.execute_script(
        "var r = document.createRange(); r.selectNodeContents(document.querySelector("
        " 'tr[data-provider=electricitymaps] td.value-time'));"
        "return new Set(Array.from(r.getClientRects(), function (b) { return Math.round(b.top); })).size;"
    )
    assert lines <= 2, lines


@pytest.mark.usefixtures("isolated")
def test_a_site_without_data_fits(live_server, browser):
    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1, timezone="Europe/London")
    open_as_reader(browser, live_server.url)
    # Which periodic task writes the storage history, as the admin names it: the summary
    # named the Celery task, "retention.record_metrics".
    summary = browser.find_element("id", "storage-summary").text
    assert summary == ('No storage history yet: the periodic task "Record storage metrics" '
                       "writes one point a day (08:15 UTC)."), summary  # fmt: skip
    assert_fits(browser)


def test_two_sites_fit(live_server, collected, browser):
    Site.objects.create(name="Second home with a longer name", latitude=51.5, longitude=-0.1,
                        timezone="Europe/London")  # fmt: skip
    open_as_reader(browser, live_server.url)
    nav = browser.find_element("css selector", "nav[aria-label=Sites]")
    assert nav.text == "Site: Demo home · Second home with a longer name", nav.text
    # The site shown is marked among the links (it looked like the other, a link to follow).
    looks = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('a'), function (a) {"
        " var s = getComputedStyle(a); return [a.textContent, s.fontWeight, s.textDecorationLine]; });",
        nav,
    )
    assert looks == [["Demo home", "700", "none"],
                     ["Second home with a longer name", "400", "underline"]], looks  # fmt: skip
    assert_fits(browser)
