"""What the browser tests share: headless Chromium (the OAuth setup test's fixture)."""

import pytest

from tests.occupancy.test_setup_browser import CHROMEDRIVER, CHROMIUM, browser, wait_for

__all__ = ["browser", "wait_for", "log_in", "BROWSER_TEST"]
BROWSER_TEST = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: scripts/services.sh browser",
    ),
]


def log_in(driver, url: str, username: str, password: str) -> None:
    """Open the start page and log in on the login page it sends to; returns once the browser
    has left the login page (else the caller could read the login page's own heading)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/")
    wait_for(driver, "#id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    button = driver.find_element(By.ID, "login")
    button.click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(button))
