"""A flexible load's deadline in the admin, in a real browser in New York on a server whose
TIME_ZONE is UTC: the deadline is on the site's clock, so the clock's "Now" beside it fills the
time on the clock of the site chosen in the form, not the server's or the browser's."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.urls import reverse

from collectors.models import FlexibleLoad
from enrich.models import Site
from tests.dashboard.browser import BROWSER_TEST
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


def clock(browser, zone: str) -> datetime:
    """The time on `zone`'s clock now, as this browser reads it (Intl, not the page)."""
    text = browser.execute_script(
        "return new Date().toLocaleString('sv-SE', {timeZone: arguments[0]});", zone
    )
    return datetime.fromisoformat(text)


def filled_now(browser, zone: str) -> tuple[datetime, datetime, datetime]:
    """Click the deadline's clock, then its "Now"; the time it filled in (on today's date of
    `zone`) between `zone`'s clock just before and just after."""
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, "id_deadline")
    field.clear()
    browser.find_element(By.ID, "clocklink0").click()
    before = clock(browser, zone)
    browser.find_element(By.CSS_SELECTOR, "#clockbox0 a[href='#']").click()  # "Now"
    after = clock(browser, zone)
    hour, minute, second = map(int, field.get_attribute("value").split(":"))
    filled = before.replace(hour=hour, minute=minute, second=second)
    if filled < before - timedelta(hours=12):  # midnight passed between the two readings
        filled += timedelta(days=1)
    return before.replace(microsecond=0), filled, after


def logged_in_in_new_york(live_server, browser) -> None:
    User.objects.create_superuser("admin", password="admin-password-long")
    browser.get(f"{live_server.url}/admin/login/")
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    wait_for(browser, "#id_username").send_keys("admin")
    browser.find_element("id", "id_password").send_keys("admin-password-long")
    browser.find_element("css selector", "input[type=submit]").click()
    wait_for(browser, "#user-tools")


def test_now_fills_the_time_on_the_chosen_sites_clock(live_server, browser, settings):
    from selenium.webdriver.support.ui import Select

    assert settings.TIME_ZONE == "UTC"
    berlin = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                                 timezone="Europe/Berlin")  # fmt: skip
    tokyo = Site.objects.create(name="Tokyo", latitude=35.7, longitude=139.7,
                                timezone="Asia/Tokyo")  # fmt: skip
    logged_in_in_new_york(live_server, browser)

    browser.get(f"{live_server.url}{reverse('admin:collectors_flexibleload_add')}")
    wait_for(browser, "#clocklink0")
    Select(browser.find_element("id", "id_site")).select_by_value(str(berlin.pk))
    before, filled, after = filled_now(browser, "Europe/Berlin")
    assert before <= filled <= after, (before, filled, after)
    Select(browser.find_element("id", "id_site")).select_by_value(str(tokyo.pk))
    before, filled, after = filled_now(browser, "Asia/Tokyo")
    assert before <= filled <= after, (before, filled, after)

    # A saved load's page: its site's clock from the start.
    load = FlexibleLoad.objects.create(site=tokyo, name="Dishwasher", hours=1, deadline="07:00")
    browser.get(
        f"{live_server.url}{reverse('admin:collectors_flexibleload_change', args=[load.pk])}"
    )
    wait_for(browser, "#clocklink0")
    before, filled, after = filled_now(browser, "Asia/Tokyo")
    assert before <= filled <= after, (before, filled, after)


def test_the_only_site_is_chosen_and_now_fills_its_clock(live_server, browser):
    from selenium.webdriver.support.ui import Select

    tokyo = Site.objects.create(name="Tokyo", latitude=35.7, longitude=139.7,
                                timezone="Asia/Tokyo")  # fmt: skip
    logged_in_in_new_york(live_server, browser)
    browser.get(f"{live_server.url}{reverse('admin:collectors_flexibleload_add')}")
    wait_for(browser, "#clocklink0")
    chosen = Select(browser.find_element("id", "id_site")).first_selected_option
    assert chosen.get_attribute("value") == str(tokyo.pk)
    before, filled, after = filled_now(browser, "Asia/Tokyo")
    assert before <= filled <= after, (before, filled, after)
