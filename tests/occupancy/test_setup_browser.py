"""The setup page in a real browser: headless Chromium (Debian's package, driven by selenium
through /usr/bin/chromedriver) logs in to the admin, clicks "Connect Google Calendar", allows
access on the local OAuth server's consent page and lands on the callback page."""

import html
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import User

from enrich.models import OAuthConnection, Site
from tests.occupancy.conftest import CLIENT_ID, CLIENT_SECRET
from tests.support.chromium import CHROMEDRIVER, CHROMIUM, wait_for
from tests.support.replay import ReplayServer, Reply

AUTH_PATH = "/o/oauth2/auth"
CODE = "4/0AQlEd-browser-code"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver: scripts/services.sh browser",
    ),
]


class ConsentServer(ReplayServer):
    """The replay server, plus Google's consent page: "Allow" goes back to the redirect URI
    with a code and the state, "Cancel" with error=access_denied (as Google does)."""

    def dispatch(self, method, target, headers, body, client_port):
        reply = super().dispatch(method, target, headers, body, client_port)
        split = urlsplit(target)
        if method != "GET" or split.path != AUTH_PATH:
            return reply
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        back = query["redirect_uri"]
        allow = (
            f"{back}?{urlencode({'state': query['state'], 'code': CODE, 'scope': query['scope']})}"
        )
        deny = f"{back}?{urlencode({'state': query['state'], 'error': 'access_denied'})}"
        page = (
            "<!doctype html><html><body><h1>Choose an account</h1>"
            f"<p>enrich ({html.escape(query['client_id'])}) wants to see your calendars.</p>"
            f'<a id="allow" href="{html.escape(allow)}">Allow</a> '
            f'<a id="deny" href="{html.escape(deny)}">Cancel</a></body></html>'
        )
        return Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"}, 0.0)


@pytest.fixture
def consent_server(settings):
    with ConsentServer() as server:
        server.add("GET", AUTH_PATH, body="consent page")  # recorded; the page is built above
        server.add("POST", "/token", json=server.load_fixture("google/token_exchange.json"))
        server.add(
            "GET",
            "/calendar/v3/users/me/calendarList",
            json=server.load_fixture("google/calendar_list.json"),
        )
        settings.GOOGLE_CLIENT_ID = CLIENT_ID
        settings.GOOGLE_CLIENT_SECRET = CLIENT_SECRET
        settings.GOOGLE_REDIRECT_URI = ""
        settings.GOOGLE_AUTH_URI = server.url_for(AUTH_PATH)
        settings.GOOGLE_TOKEN_URI = server.url_for("/token")
        settings.GOOGLE_API_BASE = server.url
        yield server


def test_connect_google_calendar_from_the_setup_page(live_server, consent_server, browser):
    from selenium.webdriver.common.by import By

    User.objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")
    site = Site.objects.create(
        name="Berlin flat", latitude=52.52, longitude=13.405, timezone="Europe/Berlin"
    )

    browser.get(f"{live_server.url}/oauth/google/")
    wait_for(browser, "#id_username").send_keys("admin")  # the admin login comes first
    browser.find_element(By.ID, "id_password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    button = wait_for(browser, f"#connect-{site.pk}")
    assert button.text == "Connect Google Calendar"
    assert f"{live_server.url}/oauth/google/callback" in browser.page_source
    button.click()

    allow = wait_for(browser, "#allow")  # the local OAuth server's consent page
    assert browser.current_url.startswith(consent_server.url_for(AUTH_PATH))
    assert CLIENT_ID in browser.page_source
    allow.click()

    account = wait_for(browser, "#account")
    assert browser.current_url.startswith(f"{live_server.url}/oauth/google/callback")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Google Calendar connected"
    assert account.text == "alex.morgan@example.com"
    connected = browser.find_element(By.ID, "connected-calendars").text
    assert "alex.morgan@example.com" in connected
    assert "Family" in browser.find_element(By.ID, "available-calendars").text

    [consent] = consent_server.calls("GET", AUTH_PATH)
    assert consent.query["code_challenge_method"] == "S256"
    [exchange] = consent_server.calls("POST", "/token")
    form = parse_qs(exchange.text)
    assert form["code"] == [CODE] and form["code_verifier"]
    stored = OAuthConnection.objects.get()
    assert (stored.status, stored.account_email) == ("connected", "alex.morgan@example.com")
    assert stored.refresh_token == "1//0gfirst-refresh-token"
