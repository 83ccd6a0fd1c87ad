"""Headless Chromium (Debian's package) driven by selenium through /usr/bin/chromedriver: the
browser tests' and bench.status_page's browser (the tests get it as the `browser` fixture of
tests/conftest.py)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# How often a wait looks at the page again (selenium's default is every half second, which a
# page drawn in 100 ms waited out in full at each step of every browser test).
POLL = 0.05


def start_chromium(profile: Path):
    """A headless Chromium with its own profile directory; quit() it when done."""
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
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait_for(driver, css):
    """The element `css` selects, once the page has it (20 s at most)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20, poll_frequency=POLL).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )
