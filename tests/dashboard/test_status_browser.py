"""The status page in a real browser on the demo home: charts drawn from the REST API with
the right series and points, the cheapest window highlighted at its slots, a stale value
shown as stale. With SAVE_SCREENSHOTS=1 it saves docs/status.png (the README's screenshot)."""

import base64
import os
import re
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors import pipeline
from config.queues import QUEUES
from enrich.models import ProviderConfig
from enrich.redis.client import get_redis, make_key
from retention.models import RetentionRun
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support import worker as worker_support
from tests.support.beat import beat_process
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.chromium import POLL, wait_for
from tests.support.status_home import seed_status_home

pytestmark = BROWSER_TEST
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status.png"


@pytest.fixture
def demo_home(settings, isolated, replay_server, read_clock):
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = f"test_demo_{uuid.uuid4().hex[:8]}"
    # Carbon answers expire after a second, and the run due then fails (the test makes it
    # fail), so the page serves the last good one: stale.
    settings.CACHE_TTL_SECONDS = {**settings.CACHE_TTL_SECONDS, "carbon_intensity": 1}
    site = seed_status_home(replay_server, settings.HA_INFLUXDB_DATABASE, now=read_clock)
    yield site
    isolated.drop_database(settings.HA_INFLUXDB_DATABASE)


def chart(driver, name: str) -> dict:
    element = driver.find_element("id", f"{name}-chart")
    return {
        "series": int(element.get_attribute("data-series")),
        "points": int(element.get_attribute("data-points")),
        "highlight": element.get_attribute("data-highlight"),
        "canvas": len(element.find_elements("css selector", "canvas")),
    }


def test_status_page_on_the_demo_home(
    live_server, demo_home, browser, settings, replay_server, request, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    User.objects.create_user("reader", password="read-only-password")  # no staff, no perms
    # A Google Calendar the user has not connected yet: its row says so and links the setup.
    ProviderConfig.objects.create(site=demo_home, source="occupancy", provider="google_calendar")
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    slots = api.get("/api/pricing/slots").json()["slots"]
    carbon = api.get("/api/carbon/series", {"hours": 24}).json()
    time.sleep(1.5)  # past the carbon answer's 1 s TTL
    # The carbon run due then fails: Electricity Maps is down.
    settings.HTTP_MAX_RETRIES = 0
    replay_server.reset()
    replay_server.add("GET", "/carbon-intensity/latest", status=503, body="upstream down")
    carbon_config = demo_home.providers.get(provider="electricitymaps")
    assert pipeline.collect(carbon_config).status == "failed"

    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Status of Demo home"

    prices = chart(browser, "price")
    assert (prices["series"], prices["points"], prices["canvas"]) == (3, len(slots), 1)
    assert len(slots) == 22  # 24 slots from 2 h before this hour; the running one counts
    window = api.get("/api/pricing/windows", {"hours": 3, "within": "48h"}).json()
    start, end = (datetime.fromisoformat(window[k]) for k in ("start", "end"))
    expected = [
        i
        for i, s in enumerate(slots)
        if datetime.fromisoformat(s["end"]) > start and datetime.fromisoformat(s["start"]) < end
    ]
    assert prices["highlight"] == ",".join(map(str, expected))
    assert len(expected) in (3, 4)  # 3 h of hourly slots, the first maybe cut at now
    if start >= datetime.fromisoformat(slots[1]["start"]):  # not cut at now: whole slots
        # The cheapest 3 consecutive hours ahead, ties to the later (as the windows rule).
        sums = [(round(sum(s["price"] for s in slots[i : i + 3]), 9), -i) for i in range(1, 20)]
        best = -min(sums)[1]
        assert expected == [best, best + 1, best + 2]
    summary = browser.find_element(By.ID, "price-summary").text
    assert summary.startswith("22 price slots from") and "Cheapest 3 h:" in summary
    # Prices as the Now table shows values: at most 4 decimals, no trailing zeros (the lowest
    # slot, -10 EUR/MWh, read "-0.0100 EUR/kWh"), in the summaries and the Plan panel too.
    low, high = (round(f(s["price"] for s in slots), 4) for f in (min, max))
    assert low == -0.01 and f"{low:g} to {high:g} EUR/kWh." in summary, summary
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "EUR/kWh" in browser.find_element(By.ID, "plan-loads").text
    assert not re.findall(r"[0-9]\.[0-9]*0 EUR/kWh", page)

    co2 = chart(browser, "carbon")
    times = {p["time"] for p in carbon["actual"]} | {p["time"] for p in carbon["forecast"]}
    assert (co2["series"], co2["points"], co2["canvas"]) == (2, len(times), 1)
    assert carbon["forecast"] and carbon["actual"]

    storage = chart(browser, "storage")
    assert (storage["series"], storage["points"], storage["canvas"]) == (4, 2, 1)
    assert browser.find_element(By.ID, "reduction").text.startswith("Reduction so far:")

    carbon_row = browser.find_element(By.CSS_SELECTOR, "tr[data-source=carbon_intensity]")
    state = carbon_row.find_element(By.CSS_SELECTOR, "td.state")
    assert state.text == "stale" and "stale" in state.get_attribute("class").split()
    assert "gCO2/kWh" in carbon_row.find_element(By.CSS_SELECTOR, "td.value").text
    calendar = browser.find_element(By.CSS_SELECTOR, "tr[data-provider=google_calendar]")
    assert calendar.find_element(By.CSS_SELECTOR, ".status-not_connected").text == "not connected"
    link = calendar.find_element(By.LINK_TEXT, "reconnect")
    assert link.get_attribute("href") == f"{live_server.url}/oauth/google/"
    price_row = browser.find_element(By.CSS_SELECTOR, "tr[data-source=electricity_pricing]")
    assert price_row.find_element(By.CSS_SELECTOR, "td.state").text == "fresh"

    [run] = RetentionRun.objects.filter(operation="downsample_hourly")
    runs = browser.find_element(By.ID, "runs-table").text
    # The operation in the admin's words (it read "downsample_hourly").
    assert f"raw -> hourly ok {run.records_processed} {run.records_deleted}" in runs
    # Not settled yet (InfluxDB has not compacted): the figure right after the run, so labelled,
    # in the page's bytes (the API's MB are 10^6 bytes); storage that grew says so.
    grown = run.storage_freed_mb < 0
    shown = browser.execute_script(
        "return Status.bytes(arguments[0]);", round(abs(run.storage_freed_mb) * 1e6)
    )
    assert f"{'grew by ' if grown else ''}{shown} (before compaction)" in runs, runs
    assert "No open alerts." in browser.find_element(By.ID, "alerts-open").text
    assert "Nothing archived yet." in browser.find_element(By.ID, "archive-table").text

    # Keyboard: Tab reaches the window length, and changing it redraws the highlight.
    body = browser.find_element(By.TAG_NAME, "body")
    body.click()
    for _ in range(15):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("id") == "window-hours":
            break
    select = browser.switch_to.active_element
    assert select.get_attribute("id") == "window-hours"
    select.send_keys(Keys.HOME)  # the first option: 1 hour
    assert select.get_attribute("value") == "1"
    one_hour = api.get("/api/pricing/windows", {"hours": 1, "within": "48h"}).json()
    first = next(
        i
        for i, s in enumerate(slots)
        if datetime.fromisoformat(s["end"]) > datetime.fromisoformat(one_hour["start"])
    )
    WebDriverWait(browser, 10, poll_frequency=POLL).until(
        lambda d: chart(d, "price")["highlight"].split(",")[0] == str(first)
    )
    # Dark mode (the system setting): dark page, light text, and the charts drawn again.
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    colours = browser.execute_script(
        "var s = getComputedStyle(document.body); return [s.backgroundColor, s.color];"
    )
    assert colours == ["rgb(18, 18, 18)", "rgb(236, 236, 236)"]
    assert chart(browser, "price")["points"] == len(slots)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        request.getfixturevalue("empty_queues")
        save_screenshot(browser, prices["highlight"], settings.REDIS_KEY_PREFIX, tmp_path)


def save_screenshot(browser, highlight: str, prefix: str, folder: Path) -> None:
    """docs/status.png: the whole page (not only the window), with a beat and a worker running as `make run` starts
    them (the Processes panel all alive; in the test database the beat has no periodic task
    to send, so nothing else changes)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    beat = beat_process(folder, prefix)
    try:
        with worker_support.celery_worker("demo", REDIS_KEY_PREFIX=prefix) as worker:

            def all_alive() -> bool:
                browser.refresh()
                wait_for(browser, "html[data-loaded]")
                return browser.execute_script(
                    "return Array.from(document.querySelectorAll('#processes-table tbody"
                    " td:nth-child(2)'), function (td) { return td.className; });"
                ) == ["good"] * (2 + len(QUEUES))

            worker_support.until(all_alive, beat)
            # A reload keeps the 1 h the keyboard chose above: back to the page's 3 h.
            Select(browser.find_element(By.ID, "window-hours")).select_by_value("3")
            WebDriverWait(browser, 10, poll_frequency=POLL).until(
                lambda d: chart(d, "price")["highlight"] == highlight  # 3 h, as first drawn
            )
            size = browser.execute_script(
                "var e = document.documentElement; return [e.clientWidth, e.scrollHeight];"
            )
            shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            })  # fmt: skip
            SCREENSHOT.parent.mkdir(exist_ok=True)
            SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
            assert worker.poll() is None
    finally:
        worker_support.stop(beat)
        beat.log.close()
        get_redis().delete(make_key("alive", "beat"))
