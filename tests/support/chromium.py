"""Headless Chromium (Debian's package) driven by selenium through /usr/bin/chromedriver: the
browser tests' and bench.status_page's browser (the tests get it as the `browser` fixture of
tests/conftest.py, from the one SharedChromium of their test process)."""

import shutil
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# How often a wait looks at the page again (selenium's default is every half second, which a
# page drawn in 100 ms waited out in full at each step of every browser test).
POLL = 0.05


def start_chromium(profile: Path, *, bidi: bool = False):
    """A headless Chromium with its own profile directory; quit() it when done. With `bidi`,
    WebDriver BiDi's commands too (driver.browser, driver.browsing_context)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for tests
    if bidi:
        options.set_capability("webSocketUrl", True)  # what options.enable_bidi sets
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    if bidi:
        driver.quit = _quitting_at_once(driver)
    return driver


def _quitting_at_once(driver):
    """`driver.quit`, waiting 0.5 s at most for the thread reading the BiDi socket: selenium
    closes the socket, then joins that thread, which about one time in three has lost a race
    to the close and sleeps out websocket-client's 10 s select first (a daemon, it ends by
    itself)."""
    quit_ = driver.quit

    def quitting() -> None:
        connection = getattr(driver, "_websocket_connection", None)
        if connection is not None:
            setattr(connection, "response_wait_timeout", 0.5)  # noqa: B010  (vulture)
        quit_()

    return quitting


class SharedChromium:
    """One headless Chromium for every browser test of a test process, each test in a user
    context of its own (WebDriver BiDi's: cookies, storage, HTTP cache and connections of its
    own, in a new window at the default size), which is removed when the test ends: what the
    test left (cookies, scripts added, emulated media or time zone, a window size, an open
    prompt) goes with it, as a browser started and quit for the test. Starting and quitting
    Chromium cost each test 1-3 s of a loaded machine, a user context about 0.5 s. A browser
    that fails to make or remove one (it crashed, a command failed) is quit; the next test
    starts anew."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.driver = None
        self.home = None  # the window Chromium started with; kept open, else the session ends
        self.context = None  # the running test's user context

    def fresh(self):
        """The driver, in a new window of a new user context, its console log read out."""
        try:
            return self._fresh()
        except Exception:  # anything: a browser that cannot, gives way to a new one
            self.quit()
            return self._fresh()

    def _fresh(self):
        if self.driver is None:
            self.driver = start_chromium(self.profile, bidi=True)
            self.home = self.driver.current_window_handle
        self.context = self.driver.browser.create_user_context()
        window = self.driver.browsing_context.create(type="window", user_context=self.context)
        self.driver.switch_to.window(window)
        self.driver.get_log("browser")  # the earlier tests' lines are not this test's
        return self.driver

    def forget(self) -> None:
        """The running test's user context removed, with its windows."""
        if self.driver is None or self.context is None:
            return
        if self.driver.service.process.poll() is not None:
            # The test quit the driver: its BiDi connection went with it, and selenium would
            # spend its whole websocket timeout (30 s) trying to open a new one to the dead
            # session before failing.
            self.quit()
            return
        context, self.context = self.context, None
        try:
            self.driver.browser.remove_user_context(context)
            self.driver.switch_to.window(self.home)
        except Exception:
            self.quit()

    def quit(self) -> None:
        driver, self.driver, self.context = self.driver, None, None
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass  # already gone; its chromedriver is stopped all the same
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_for(driver, css):
    """The element `css` selects, once the page has it (20 s at most)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20, poll_frequency=POLL).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )
