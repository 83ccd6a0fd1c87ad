"""What the dashboard's browser tests share: their marks (Chromium must be installed) and the
log-in. The browser is the `browser` fixture of tests/conftest.py."""

import re
from datetime import datetime

import pytest

from tests.support.chromium import CHROMEDRIVER, CHROMIUM, POLL, wait_for

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
    WebDriverWait(driver, 10, poll_frequency=POLL).until(expected_conditions.staleness_of(button))


def open_as_reader(driver, url: str, height: int = 2600) -> None:
    """A read-only user ("reader", no staff, no permissions) logged in on the status page at
    `url`, once the page says every panel is drawn (<html data-loaded>)."""
    from django.contrib.auth.models import User

    User.objects.create_user("reader", password="read-only-password")
    driver.set_window_size(1280, height)
    log_in(driver, url, "reader", "read-only-password")
    wait_for(driver, "html[data-loaded]")


def dates(browser, *days: datetime) -> list[str]:
    """Each UTC day as this browser's language writes it (weekday, day, month; and the year
    for a day of another year than this one, as the page dates storage measurements)."""
    return browser.execute_script(
        "var now = new Date().getUTCFullYear(); return arguments[0].map(function (d) {"
        " d = new Date(d); return d.toLocaleDateString([], {timeZone: 'UTC', weekday: 'short',"
        " day: 'numeric', month: 'short',"
        " year: d.getUTCFullYear() !== now ? 'numeric' : undefined}); });",
        [d.isoformat() for d in days],
    )


def page_times(driver, message: str) -> str:
    """An API message with its ISO times as the page writes times (Status.near: the home's
    clock, with the date 6 days or more from now), as the page shows the reasons no price
    slots, window or plan can be found."""
    return re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)", lambda iso: driver.execute_script(
        "return Status.near(arguments[0], Date.now());", iso.group(0)), message)  # fmt: skip


# What a screen reader is told of a control: roles a person acts on.
CONTROLS = {"button", "checkbox", "combobox", "link", "radio", "searchbox", "spinbutton",
            "textbox"}  # fmt: skip


def announced(driver, css: str) -> dict[str, str]:
    """The role, name and description Chromium's accessibility tree gives the element `css`
    selects: what a screen reader announces of it."""
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": css})
    tree = driver.execute_cdp_cmd(
        "Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False}
    )
    ax = tree["nodes"][0]
    return {key: ax.get(key, {}).get("value", "") for key in ("role", "name", "description")}


def unnamed_controls(driver) -> list[str]:
    """The page's links, buttons and form controls a screen reader announces without a name
    (Chromium's accessibility tree), each as its role and its element's start tag."""
    nodes = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]
    unnamed = []
    for ax in nodes:
        role = ax.get("role", {}).get("value")
        if ax.get("ignored") or role not in CONTROLS or ax.get("name", {}).get("value", "").strip():
            continue
        html = driver.execute_cdp_cmd("DOM.resolveNode", {"backendNodeId": ax["backendDOMNodeId"]})
        tag = driver.execute_cdp_cmd(
            "Runtime.callFunctionOn",
            {"objectId": html["object"]["objectId"], "returnByValue": True,
             "functionDeclaration": "function () { return this.outerHTML.split('>')[0] + '>'; }"},
        )  # fmt: skip
        unnamed.append(f"{role}: {tag['result']['value']}")
    return unnamed
