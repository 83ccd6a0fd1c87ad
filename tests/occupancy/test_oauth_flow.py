"""The setup page and the OAuth callback: PKCE, single-use state, tokens encrypted at rest."""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.test import override_settings

from collectors.occupancy.google import oauth
from enrich.models import OAuthConnection, ProviderConfig
from enrich.redis.client import get_redis
from tests.occupancy.conftest import CLIENT_ID, CLIENT_SECRET
from tests.support.google import CALENDAR_LIST, google_answers, start

pytestmark = pytest.mark.django_db
SCOPE = "https://www.googleapis.com/auth/calendar.readonly"


def test_the_setup_page_needs_a_staff_login(client):
    response = client.get("/oauth/google/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/oauth/google/")
    assert client.get("/oauth/google/callback?state=x&code=y").status_code == 302


def test_the_setup_page_shows_the_redirect_uri_and_the_button(admin_client, google, site):
    page = admin_client.get("/oauth/google/").content.decode()
    assert "http://testserver/oauth/google/callback" in page
    assert "Connect Google Calendar" in page and "Berlin flat" in page and "not connected" in page


def test_connect_redirects_to_google_consent_with_pkce(admin_client, google, site, settings):
    response = admin_client.post("/oauth/google/connect", {"site": site.pk})
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == settings.GOOGLE_AUTH_URI
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == SCOPE
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256 digest, unpadded
    assert query["redirect_uri"] == "http://testserver/oauth/google/callback"
    key = oauth._state_key(query["state"])
    assert 0 < get_redis().ttl(key) <= oauth.STATE_TTL_SECONDS
    assert CLIENT_SECRET not in response["Location"]


def test_callback_exchanges_the_code_with_the_verifier_and_stores_tokens_encrypted(
    admin_client, google, site
):
    google_answers(google)
    query = start(admin_client, site)
    response = admin_client.get(
        "/oauth/google/callback", {"state": query["state"], "code": "4/0AQlEd-test-code"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "alex.morgan@example.com" in page  # the account
    assert "Family" in page  # the account's other calendars are listed

    [exchange] = google.calls("POST", "/token")
    form = {k: v[0] for k, v in parse_qs(exchange.text).items()}
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "4/0AQlEd-test-code"
    assert form["redirect_uri"] == "http://testserver/oauth/google/callback"
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == query["code_challenge"]
    [listing] = google.calls("GET", CALENDAR_LIST)
    assert listing.headers["Authorization"] == "Bearer ya29.a0first-access-token"

    config = ProviderConfig.objects.get(site=site, source="occupancy", provider="google_calendar")
    stored = OAuthConnection.objects.get(provider_config=config)
    assert (stored.status, stored.origin, stored.account_email) == (
        "connected",
        "consent",
        "alex.morgan@example.com",
    )
    assert [c["id"] for c in stored.calendars] == ["alex.morgan@example.com"]
    assert stored.access_token == "ya29.a0first-access-token"
    assert stored.refresh_token == "1//0gfirst-refresh-token"
    assert 3500 < (stored.token_expiry - stored.connected_at).total_seconds() <= 3600
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM enrich_oauthconnection WHERE id = %s",
            [stored.pk],
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert raw_access.startswith("fernet:") and raw_refresh.startswith("fernet:")
    assert "ya29" not in raw_access and "first-refresh-token" not in raw_refresh


def test_a_replayed_callback_is_refused_and_changes_nothing(admin_client, google, site):
    google_answers(google)
    query = start(admin_client, site)
    callback = {"state": query["state"], "code": "4/0AQlEd-test-code"}
    assert admin_client.get("/oauth/google/callback", callback).status_code == 200
    before = OAuthConnection.objects.get()
    again = admin_client.get("/oauth/google/callback", callback)
    assert again.status_code == 400
    assert (
        "already used" in again.content.decode() and "Nothing was changed" in again.content.decode()
    )
    assert len(google.calls("POST", "/token")) == 1
    after = OAuthConnection.objects.get()
    assert after.updated == before.updated and after.access_token == before.access_token


def test_a_wrong_state_is_refused_and_the_real_one_still_works(admin_client, google, site):
    google_answers(google)
    query = start(admin_client, site)
    wrong = admin_client.get("/oauth/google/callback", {"state": "forged-state", "code": "4/x"})
    assert wrong.status_code == 400
    assert not OAuthConnection.objects.exists() and google.requests == []
    right = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert right.status_code == 200 and OAuthConnection.objects.count() == 1


def test_an_expired_state_is_refused(admin_client, google, site, monkeypatch):
    monkeypatch.setattr(oauth, "STATE_TTL_SECONDS", 1)
    google_answers(google)
    query = start(admin_client, site)
    time.sleep(1.5)  # Redis expires the pending flow
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not OAuthConnection.objects.exists() and google.requests == []


def test_a_state_started_by_another_user_is_refused(admin_client, client, google, site):
    google_answers(google)
    query = start(admin_client, site)
    other = User.objects.create_user("helper", password="pw-123456", is_staff=True)
    client.force_login(other)
    response = client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 400 and "another user" in response.content.decode()
    assert not OAuthConnection.objects.exists() and google.requests == []


def test_access_denied_shows_a_clear_page(admin_client, google, site):
    query = start(admin_client, site)
    response = admin_client.get(
        "/oauth/google/callback", {"state": query["state"], "error": "access_denied"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Access was not granted" in page
    assert "Nothing was changed" in page
    assert not OAuthConnection.objects.exists() and google.requests == []


def test_a_code_google_rejects_is_reported_and_nothing_stored(admin_client, google, site):
    google.add("POST", "/token", status=400, json=google.load_fixture("google/invalid_grant.json"))
    query = start(admin_client, site)
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 502
    assert "did not accept the authorization code" in response.content.decode()
    assert not OAuthConnection.objects.exists()
    assert not ProviderConfig.objects.filter(source="occupancy").exists()


def test_without_a_client_id_the_page_says_what_to_set(admin_client, google, site, settings):
    settings.GOOGLE_CLIENT_ID = ""
    assert "Set GOOGLE_CLIENT_ID" in admin_client.get("/oauth/google/").content.decode()
    response = admin_client.post("/oauth/google/connect", {"site": site.pk})
    assert response.status_code == 400 and "GOOGLE_CLIENT_ID" in response.content.decode()


def test_reconnecting_clears_needs_reconnect(admin_client, google, site):
    config = ProviderConfig.objects.create(
        site=site, source="occupancy", provider="google_calendar"
    )
    OAuthConnection.objects.create(
        provider_config=config,
        refresh_token="1//0grevoked",
        status="needs_reconnect",
        last_error="invalid_grant",
    )
    google_answers(google)
    query = start(admin_client, site)
    assert (
        admin_client.get(
            "/oauth/google/callback", {"state": query["state"], "code": "4/x"}
        ).status_code
        == 200
    )
    stored = OAuthConnection.objects.get()
    assert (stored.status, stored.last_error, stored.refresh_token) == (
        "connected",
        "",
        "1//0gfirst-refresh-token",
    )


def test_an_undecryptable_client_secret_is_named_on_the_setup_page(admin_client, google, site):
    lost = "bG9zdC1rZXktbG9zdC1rZXktbG9zdC1rZXktbG9zdC0="
    with override_settings(FIELD_ENCRYPTION_KEY=lost):  # a key since lost
        ProviderConfig.objects.create(
            site=site,
            source="occupancy",
            provider="google_calendar",
            username="own-client.apps.googleusercontent.com",
            password="GOCSPX-own-secret",
        )
    setup = admin_client.get("/oauth/google/")
    assert setup.status_code == 200
    # the setup page said to set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, which are set: the
    # saved client secret is what cannot be used
    assert "Set GOOGLE_CLIENT_ID" not in setup.content.decode()
    assert "re-enter the OAuth client secret" in setup.content.decode()
    response = admin_client.post("/oauth/google/connect", {"site": site.pk})
    assert response.status_code == 400
    page = response.content.decode()
    assert "FIELD_ENCRYPTION_KEY cannot decrypt enrich.ProviderConfig.password" in page
    assert "re-enter the OAuth client secret" in page and "GOCSPX" not in page


TOKEN = {"access_token": "ya29.a", "token_type": "Bearer", "refresh_token": "1//r", "scope": SCOPE}


@pytest.mark.parametrize(
    "answer",
    [
        [],
        "a token",
        None,
        {**TOKEN, "expires_in": "soon"},
        {**TOKEN, "scope": 5},
        TOKEN,  # no expires_in (optional in RFC 6749): google-auth-oauthlib needs it
        {**TOKEN, "expires_in": 1e20},
    ],
    ids=["list", "string", "null", "expires_in-text", "scope-number", "no-expires_in", "1e20"],
)
def test_a_token_answer_that_is_no_token_is_reported_and_nothing_stored(
    admin_client, google, site, answer
):
    # Each was a 500 out of oauthlib or google-auth-oauthlib.
    google.add("POST", "/token", json=answer)
    query = start(admin_client, site)
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 502
    page = response.content.decode()
    assert "answered with no token enrich can read" in page and "Nothing was changed" in page
    assert not OAuthConnection.objects.exists()
    assert not ProviderConfig.objects.filter(source="occupancy").exists()


# Google answers with every scope the account granted this OAuth client before (another app of
# the same Cloud project, an earlier sign-in), not only the one asked for: e.g. "Scope has changed
# from .../auth/adwords to .../auth/userinfo.profile openid .../auth/adwords
# .../auth/userinfo.email" (googleads/google-ads-python#865).
EARLIER = "https://www.googleapis.com/auth/userinfo.profile openid"


def test_a_grant_wider_than_asked_connects(admin_client, google, site):
    # Was refused as "the box was not ticked" though read access was granted.
    answer = google.load_fixture("google/token_exchange.json")
    google.add("POST", "/token", json={**answer, "scope": f"{EARLIER} {SCOPE}"})
    google.add("GET", CALENDAR_LIST, json=google.load_fixture("google/calendar_list.json"))
    query = start(admin_client, site)
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 200
    stored = OAuthConnection.objects.get()
    assert (stored.status, stored.account_email) == ("connected", "alex.morgan@example.com")
    assert stored.access_token == "ya29.a0first-access-token"
    assert stored.refresh_token == "1//0gfirst-refresh-token"
    assert 3500 < (stored.token_expiry - stored.connected_at).total_seconds() <= 3600


@pytest.mark.parametrize("scope", [EARLIER, "https://www.googleapis.com/auth/calendar.events"])
def test_a_grant_without_calendar_read_access_is_refused_and_nothing_stored(
    admin_client, google, site, scope
):
    answer = google.load_fixture("google/token_exchange.json")
    google.add("POST", "/token", json={**answer, "scope": scope})
    query = start(admin_client, site)
    response = admin_client.get("/oauth/google/callback", {"state": query["state"], "code": "4/x"})
    assert response.status_code == 502
    assert "did not grant read access to your calendars" in response.content.decode()
    assert not OAuthConnection.objects.exists()
    assert google.calls("GET", CALENDAR_LIST) == []
