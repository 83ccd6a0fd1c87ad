"""enrich's own parts of the admin, read by eye in light and dark and by a screen reader: a
Google connection's "needs reconnect" in the list of OAuth connections, and the entities' list,
whose kind, area, unit, device class and tiered flag are edited in the list. "needs reconnect"
was drawn in a fixed red, 2.8:1 on the dark theme's background (text needs 4.5:1); the list's
fields had no name (a screen reader said "edit text", not which entity's area), and the
filters linked a blank area or device class with no text at all; on a 768 px tablet the list's
page scrolled sideways (829 px in 753), pushed by its longest action's name."""

from django.contrib.auth.models import User

from enrich.models import OAuthConnection, ProviderConfig, Site
from retention.models import Entity
from tests.dashboard.browser import BROWSER_TEST, announced, unnamed_controls
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST

# The contrast of the element's text against the colour behind it (the first ancestor with a
# background), as WCAG computes it.
CONTRAST = """
function rgb(css) { return css.match(/[\\d.]+/g).map(Number); }
function lum(c) { var v = c.slice(0, 3).map(function (x) { x /= 255;
  return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
var e = arguments[0], fg = lum(rgb(getComputedStyle(e).color)), bg = e;
while (bg && rgb(getComputedStyle(bg).backgroundColor)[3] === 0) bg = bg.parentElement;
bg = lum(rgb(bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)'));
return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
"""


def logged_in(live_server, browser) -> None:
    User.objects.create_superuser("admin", password="admin-password-long")
    browser.get(f"{live_server.url}/admin/login/")
    wait_for(browser, "#id_username").send_keys("admin")
    browser.find_element("id", "id_password").send_keys("admin-password-long")
    browser.find_element("css selector", "input[type=submit]").click()
    wait_for(browser, "#user-tools")


def test_needs_reconnect_reads_in_light_and_dark(live_server, browser):
    site = Site.objects.create(name="Berlin flat", latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin")  # fmt: skip
    config = ProviderConfig.objects.create(
        site=site, source="occupancy", provider="google_calendar"
    )
    OAuthConnection.objects.create(provider_config=config, status=OAuthConnection.NEEDS_RECONNECT)
    logged_in(live_server, browser)
    ratios = {}
    for scheme in ("light", "dark"):
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        browser.get(f"{live_server.url}/admin/enrich/oauthconnection/")
        status = wait_for(browser, "td.field-connection_status strong")
        assert status.text == "needs reconnect"
        ratios[scheme] = round(browser.execute_script(CONTRAST, status), 2)
    assert min(ratios.values()) >= 4.5, ratios


def test_the_entities_list_names_its_fields_and_filters(live_server, browser):
    named = ["sensor.kitchen_power", "binary_sensor.hall_motion"]
    Entity.objects.create(entity_id=named[0], kind="power", unit="W", area="kitchen",
                          device_class="power", layout="official", measurement="W")  # fmt: skip
    Entity.objects.create(entity_id=named[1], kind="binary", layout="official",
                          measurement="binary_sensor")  # fmt: skip
    logged_in(live_server, browser)
    browser.get(f"{live_server.url}/admin/retention/entity/")
    wait_for(browser, "#result_list")
    assert unnamed_controls(browser) == []
    rows = browser.find_elements("css selector", "#result_list tbody tr")
    areas = [announced(browser, f"#id_form-{n}-area")["name"] for n in range(len(rows))]
    assert sorted(areas) == sorted(f"Area ({entity})" for entity in named), areas
    blank = browser.find_element("css selector", "#changelist-filter a[href='?area=']")
    assert blank.text == "(blank)", blank.text
    # On a tablet held upright the page does not scroll sideways: the actions' list was as wide
    # as its longest, "Let discovery manage the selected entities again (edited off)", 455 px.
    browser.set_window_size(768, 1024)
    browser.refresh()
    wait_for(browser, "#result_list")
    page = browser.execute_script(
        "var p = document.scrollingElement; return [p.scrollWidth, p.clientWidth];"
    )
    assert page[0] <= page[1], page
