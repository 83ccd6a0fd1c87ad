"""The charts fit their box at any width of the window: on a phone 360 px wide (a least width
of 320 px made each chart's box scroll sideways by about 20 px there), and after the window is
resized or the phone turned: they kept the width they were first drawn at (1100 px in a phone's
box, or a phone's width across a 1280 px screen)."""

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import POLL, wait_for

pytestmark = BROWSER_TEST

# Per chart: the width its plot is drawn at, its box's scroll width and the box's own width.
CHARTS = """
return Array.from(document.querySelectorAll('figure.chart'), function (box) {
  var plot = box.querySelector('.u-wrap');
  return [plot ? plot.getBoundingClientRect().width : null, box.scrollWidth, box.clientWidth];
}).filter(function (c) { return c[0] !== null; });
"""


def charts(browser) -> list[list[float]]:
    return browser.execute_script(CHARTS)


def fit(drawn: list[list[float]]) -> bool:
    return all(scroll <= box for _, scroll, box in drawn)


def test_the_charts_fit_a_phone_and_follow_the_window(live_server, collected, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    def settles(check) -> list[list[float]]:
        WebDriverWait(browser, 10, poll_frequency=POLL).until(lambda d: check(charts(d)))
        return charts(browser)

    open_as_reader(browser, live_server.url)  # 1280 px wide
    wide = charts(browser)
    assert len(wide) == 2 and fit(wide), wide  # prices and carbon intensity
    assert [plot for plot, _, _ in wide] == [1100, 1100], wide

    # Turned to a phone's width: each chart redrawn to its box, the page not scrolling sideways.
    browser.set_window_size(360, 2600)
    narrow = settles(lambda drawn: fit(drawn) and all(plot < 400 for plot, _, _ in drawn))
    assert all(plot >= box - 20 for plot, _, box in narrow), narrow  # filling the box
    page = browser.execute_script(
        "var e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
    )
    assert page[0] <= page[1], page

    # And back: as wide as first drawn.
    browser.set_window_size(1280, 2600)
    assert [plot for plot, _, _ in settles(lambda d: all(p == 1100 for p, _, _ in d))] == [
        1100,
        1100,
    ]

    # Loaded on the phone: the charts fit (also once the page's scroll bar has taken its width).
    browser.set_window_size(360, 2600)
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    assert len(settles(fit)) == 2
