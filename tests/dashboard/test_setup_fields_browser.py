"""The first-run setup read by a screen reader: each field is named by its label and described
by the help beside it ("decimal degrees" of the latitude), and every control has a name. The
help was beside each field on screen only: the fields pointed their description at ids the page
did not have (Django's `id_latitude_helptext`, the help's id being `id_latitude-help`)."""

from django.contrib.auth.models import User

from tests.dashboard.browser import BROWSER_TEST, announced, log_in, unnamed_controls
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


def test_each_field_is_named_and_described_by_its_help(live_server, isolated, browser):
    User.objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")
    browser.set_window_size(375, 812)
    log_in(browser, live_server.url, "admin", "correct-horse-battery")
    assert wait_for(browser, "h1").text == "Set up your home"
    assert announced(browser, "#id_latitude") == {
        "role": "spinbutton", "name": "Latitude", "description": "decimal degrees"}  # fmt: skip
    timezone = announced(browser, "#id_timezone")
    assert timezone["description"] == "IANA name, e.g. Europe/London", timezone
    region = announced(browser, "#id_octopus_region")
    assert region["description"].startswith("A-P (no I or O)"), region
    assert unnamed_controls(browser) == []
