"""The browser tests share one Chromium per test process (tests/support/chromium.py): each test
still gets the browser as if started for it, whatever the test before left in it."""

from tests.dashboard.browser import BROWSER_TEST

pytestmark = BROWSER_TEST

# What a page reads of the state a test can leave behind.
SEEN = """
return {cookies: document.cookie.split('; ').map(function (c) { return c.split('=')[0]; }),
        stored: localStorage.getItem('left'),
        zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        dark: matchMedia('(prefers-color-scheme: dark)').matches,
        added: typeof window.LEFT_BY_SCRIPT};
"""


def leave_everything(driver, url: str) -> None:
    """What a test can leave: a cookie, stored data, a script run on every page, an emulated
    time zone and colour scheme, a window size, console lines and an open alert."""
    driver.get(f"{url}/login/")
    driver.add_cookie({"name": "left", "value": "1"})
    driver.execute_script("localStorage.setItem('left', '1'); console.error('left behind');")
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": "window.LEFT_BY_SCRIPT = 1;"}
    )
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Pacific/Chatham"})
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    driver.set_window_size(360, 900)
    driver.refresh()
    assert driver.execute_script(SEEN) == {
        "cookies": ["csrftoken", "left"], "stored": "1", "zone": "Pacific/Chatham", "dark": True,
        "added": "number",
    }  # fmt: skip
    driver.execute_script("setTimeout(function () { alert('left open'); }, 0);")


def test_the_next_test_gets_the_same_chromium_with_nothing_the_last_one_left(chromium, live_server):
    first = chromium.fresh()
    try:
        session, size = first.session_id, first.get_window_size()
        first.get(f"{live_server.url}/login/")
        untouched = first.execute_script(SEEN)
        leave_everything(first, live_server.url)
    finally:
        chromium.forget()
    second = chromium.fresh()
    try:
        assert second.session_id == session  # not started again
        assert second.get_log("browser") == []
        second.get(f"{live_server.url}/login/")
        assert [c["name"] for c in second.get_cookies()] == ["csrftoken"]
        assert second.execute_script(SEEN) == untouched
        assert untouched["cookies"] == ["csrftoken"]  # the login page's own
        assert untouched["zone"] != "Pacific/Chatham" and not untouched["dark"]
        assert second.get_window_size() == size
        assert [e for e in second.get_log("browser") if "left behind" in e["message"]] == []
    finally:
        chromium.forget()


def test_a_browser_gone_away_gives_way_to_a_new_one(chromium, live_server):
    gone = chromium.fresh()
    session = gone.session_id
    gone.quit()  # as if Chromium crashed in the test
    chromium.forget()
    browser = chromium.fresh()
    try:
        assert browser.session_id != session
        browser.get(f"{live_server.url}/login/")
        assert browser.find_element("id", "id_username").get_attribute("name") == "username"
    finally:
        chromium.forget()
