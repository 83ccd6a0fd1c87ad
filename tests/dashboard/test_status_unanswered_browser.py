"""The status page in a real browser when a call is not answered as the API answers: held
for ever (a hung InfluxDB query behind the API, a proxy holding the connection), answered by
the proxy's HTML error page (nginx's 502/504), or refused because the session has ended. The
page is reached through an HTTP proxy in front of the live server (tests/support/page_proxy.py)."""

import pytest
from django.contrib.sessions.models import Session
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.chromium import POLL, wait_for
from tests.support.page_proxy import PageProxy

pytestmark = BROWSER_TEST
TIMEOUT_MS = 5000  # the page's own is 30 s; long enough here for the calls that do answer


@pytest.fixture
def proxy(live_server):
    proxy = PageProxy(live_server.url)
    yield proxy
    proxy.close()


def with_timeout(browser) -> None:
    """The page's timeout set to TIMEOUT_MS, before its scripts run, on every page loaded."""
    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": f"window.StatusConfig = {{timeoutMs: {TIMEOUT_MS}}};"},
    )


def text(browser, css: str) -> str:
    return browser.find_element("css selector", css).text


def test_a_call_that_never_answers_says_so_and_a_reload_asks_again(proxy, collected, browser):
    # The carbon chart said "Loading carbon intensity…" for ever, and the page never counted
    # itself loaded (<html data-loaded> never came).
    proxy.hold("/api/carbon/series")
    with_timeout(browser)
    open_as_reader(browser, proxy.url)  # waits for <html data-loaded>
    assert text(browser, "#carbon-summary") == (
        "/api/carbon/series did not answer within 5 s; reload the page to ask again."
    )
    assert text(browser, "#now-table tbody").startswith("carbon intensity")  # the others drawn

    proxy.release()
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    assert text(browser, "#carbon-summary").startswith("electricitymaps (DE): ")
    assert [p for p in proxy.asked if p.startswith("/api/carbon/series?")] == [
        f"/api/carbon/series?hours=24&site={collected.pk}"
    ] * 2


def test_an_html_error_page_of_the_proxy_is_named_as_such(proxy, collected, browser):
    # The panels showed the status text alone ("Bad Gateway"), or `{"detail":""}` over HTTP/2
    # where there is none, as if the API had said it.
    proxy.fail("/retention/alerts", 502, "Bad Gateway")
    proxy.fail("/api/enrichment/current", 504, "Gateway Time-out")
    open_as_reader(browser, proxy.url)
    assert text(browser, "#alerts-history tbody") == (
        "/retention/alerts answered HTTP 502 Bad Gateway, not JSON"
        " (an error page, e.g. of a proxy in front of enrich)."
    )
    assert text(browser, "#alerts-open") == text(browser, "#alerts-history tbody")
    assert text(browser, "#now-table tbody") == (
        "/api/enrichment/current answered HTTP 504 Gateway Time-out, not JSON"
        " (an error page, e.g. of a proxy in front of enrich)."
    )
    assert text(browser, "#carbon-summary").startswith("electricitymaps (DE): ")


def test_an_ended_session_asks_to_log_in_again_once(live_server, collected, browser):
    # The price summary ended with the API's "Authentication credentials were not provided."
    # and the plan with the same, with no way back to the login; each change asked again.
    open_as_reader(browser, live_server.url)
    Session.objects.all().delete()  # expired, or logged out in another tab
    hours = Select(browser.find_element("id", "window-hours"))
    hours.select_by_value("2")
    note = wait_for(browser, "#session-ended")
    assert note.text == (
        "Your session has ended (it expired, or you logged out in another tab):"
        " log in again to see the status."
    )
    link = note.find_element("tag name", "a")
    assert link.get_attribute("href") == f"{live_server.url}/login/?next=/"
    gone = "Not loaded: you are no longer logged in (see above)."
    # Both calls the change made say so, the window's too once the plan has been redrawn.
    WebDriverWait(browser, 20, poll_frequency=POLL).until(lambda b: gone in text(b, "#plan-loads"))
    assert f" No cheapest window: {gone}" in text(browser, "#price-summary")
    assert "Authentication credentials" not in text(browser, "body")

    asked = "return performance.getEntriesByType('resource').filter(function (e) {"
    asked += " return e.name.indexOf('/api/pricing/windows') !== -1; }).length;"
    before = browser.execute_script(asked)
    hours.select_by_value("4")  # asks nothing more: one note, no new refusal
    hours.select_by_value("1")
    assert browser.execute_script(asked) == before
    assert len(browser.find_elements("css selector", "#session-ended")) == 1
    assert len(browser.find_elements("css selector", "a[href='/login/?next=/']")) == 1
    link.click()  # and back on the page, logged in again
    wait_for(browser, "#id_username").send_keys("reader")
    browser.find_element("id", "id_password").send_keys("read-only-password")
    browser.find_element("id", "login").click()
    wait_for(browser, "html[data-loaded]")
    assert browser.current_url == f"{live_server.url}/"
    assert not browser.find_elements("css selector", "#session-ended")
    assert "no longer logged in" not in text(browser, "body")
