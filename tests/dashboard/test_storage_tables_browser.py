"""The status page's 30-day tables of retention runs and alerts in a real browser: each row says
on which day it happened, not only the weekday (a month holds four of each)."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User

from enrich.models import Site
from retention.models import Alert, RetentionRun
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


def first_cells(browser, table: str) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
    return [row.find_element(By.TAG_NAME, "td").text for row in rows]


@pytest.mark.usefixtures("isolated")
def test_runs_and_alerts_a_week_apart_show_different_days(live_server, browser):
    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    at = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
    for started in (at, at - timedelta(days=7)):  # the same weekday and time, a week apart
        run = RetentionRun.objects.create(
            operation=RetentionRun.Operation.ARCHIVE,
            status=RetentionRun.Status.FAILED,
            started=started,
            finished=started + timedelta(minutes=2),
            duration_seconds=120.0,
            errors="S3 refused the upload",
        )
        alert = Alert.objects.create(run=run, kind=Alert.Kind.FAILED, message="archive failed")
        Alert.objects.filter(pk=alert.pk).update(created=started + timedelta(minutes=5))

    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    for table in ("runs-table", "alerts-history"):
        newer, older = first_cells(browser, table)
        assert newer != older, (table, newer, older)
        for text, moment in ((newer, at), (older, at - timedelta(days=7))):
            # the day of the month in the browser's time zone, as a number of its own
            day = browser.execute_script(
                "return new Date(arguments[0]).getDate();", moment.isoformat()
            )
            assert re.search(rf"\b{day}\b", text), (table, text, day)

    # The operation, status and kind in the admin's words: "archive failed" under Operation and
    # Status, "failed archive" under Kind and Operation read as the same word twice; a gone
    # entity's alert said "discover_entities (gone_from_ha)".
    from selenium.webdriver.common.by import By

    runs = browser.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")
    assert [cell.text for cell in runs[0].find_elements(By.TAG_NAME, "td")][1:3] == [
        "archive", "failed"]  # fmt: skip
    history = browser.find_elements(By.CSS_SELECTOR, "#alerts-history tbody tr")
    assert [cell.text for cell in history[0].find_elements(By.TAG_NAME, "td")][1:3] == [
        "operation failed", "archive"]  # fmt: skip
    opened = browser.find_element(By.ID, "alerts-open").text
    assert opened.startswith("archive (operation failed): archive failed"), opened


def test_each_view_refresh_names_its_view(live_server, isolated, browser, settings):
    # A refresh of the views wrote three rows "materialized view refresh" with 186, 0 and 0
    # records: which view had none could not be told.
    from django.core.management import call_command
    from selenium.webdriver.common.by import By

    from tests.support.status_home import write_demo_home

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = f"test_demo_{uuid.uuid4().hex[:8]}"
    try:
        write_demo_home(settings.HA_INFLUXDB_DATABASE, days=2, entities=4)
        call_command("discover_entities", stdout=StringIO())
        call_command("refresh_views", stdout=StringIO())
    finally:
        isolated.drop_database(settings.HA_INFLUXDB_DATABASE)
    views = list(
        RetentionRun.objects.order_by("-started", "-pk").values_list("details__view", flat=True)
    )
    assert sorted(views) == [
        "daily_carbon_summary",
        "daily_energy_by_device",
        "hourly_room_activity",
    ]

    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")
    shown = [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]
    assert shown == [f"materialized view refresh ({view})" for view in views], shown
