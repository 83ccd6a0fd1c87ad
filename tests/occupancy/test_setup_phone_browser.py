"""The Google Calendar setup page on a phone (Chromium emulating a 375 px touch screen): laid
out at the phone's width, its sites' rows are blocks of lines with the Connect button in sight,
and a screen reader finds the page's main part and a name for each column and control. The page
had no viewport: a phone laid it out 980 px wide and shrank it, and at 375 px its table was
612 px wide, the Connect button out of sight (the page scrolled sideways); its last column had
no heading and the page no main landmark."""

from django.contrib.auth.models import User

from enrich.models import OAuthConnection, ProviderConfig, Site
from tests.dashboard.browser import BROWSER_TEST, announced, unnamed_controls
from tests.occupancy.conftest import CLIENT_ID, CLIENT_SECRET
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST
PHONE = {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True}


def test_the_setup_page_fits_a_phone(live_server, browser, settings):
    settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    User.objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")
    flat = Site.objects.create(name="Berlin flat", latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin")  # fmt: skip
    cottage = Site.objects.create(name="Holiday cottage", latitude=50.1, longitude=-5.5,
                        timezone="Europe/London")  # fmt: skip
    config = ProviderConfig.objects.create(site=flat, source="occupancy",
                                           provider="google_calendar")  # fmt: skip
    OAuthConnection.objects.create(
        provider_config=config, status=OAuthConnection.NEEDS_RECONNECT,
        account_email="someone.with.a.long.name@example.com",
        last_error="invalid_grant: Token has been expired or revoked.",
    )  # fmt: skip

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(f"{live_server.url}/oauth/google/")
    wait_for(browser, "#id_username").send_keys("admin")  # the admin login comes first
    browser.find_element("id", "id_password").send_keys("correct-horse-battery")
    browser.find_element("css selector", "input[type=submit]").click()
    wait_for(browser, "#redirect-uri")

    shown = browser.execute_script(
        "var page = document.scrollingElement;"
        "return {width: innerWidth, scroll: page.scrollWidth, buttons: Array.from("
        " document.querySelectorAll('button'), function (b) {"
        " var r = b.getBoundingClientRect(); return [b.id, r.left >= 0 && r.right <= innerWidth]; })};"
    )
    buttons = [[f"connect-{flat.pk}", True], [f"connect-{cottage.pk}", True]]
    assert shown == {"width": 375, "scroll": 375, "buttons": buttons}, shown
    # Each value on a line of its own, after its column's heading.
    cells = browser.execute_script(
        "return Array.from(document.querySelector('tbody tr').cells, function (td) {"
        " return [getComputedStyle(td, '::before').content, td.innerText.split('\\n')[0],"
        " getComputedStyle(td).display]; });"
    )
    assert cells == [
        ['"Site: "', "Berlin flat", "block"], ['"Status: "', "needs reconnect", "block"],
        ['"Account: "', "someone.with.a.long.name@example.com", "block"],
        ['"Calendars: "', "—", "block"], ["none", "Connect Google Calendar", "block"]], cells  # fmt: skip

    assert browser.find_elements("css selector", "main h1")
    assert [announced(browser, f"thead th:nth-child({n})")["name"] for n in range(1, 6)] == [
        "Site", "Status", "Account", "Calendars", "Connect"]  # fmt: skip
    assert unnamed_controls(browser) == []
