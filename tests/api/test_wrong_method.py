"""A method an API endpoint does not take is a 405 naming it, with Allow listing those it takes,
whoever asks: a signed-in browser without a CSRF token (it was the 403 "CSRF Failed: CSRF
cookie not set.", and with the token then the 405) and a read-only user (the 403 "This token
may only read"). The refusals of a method the endpoint takes are unchanged."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from retention.models import RetentionRun

pytestmark = pytest.mark.django_db

# Path -> (a method it does not take, its Allow header).
WRONG = {
    "/api/health/": ("DELETE", "GET, HEAD, OPTIONS"),
    "/api/sites/": ("POST", "GET, HEAD, OPTIONS"),
    "/api/token/": ("PUT", "POST, OPTIONS"),
    "/retention/archive": ("PUT", "POST, OPTIONS"),
    "/retention/downsample-hourly": ("DELETE", "POST, OPTIONS"),
    "/retention/stats": ("PATCH", "GET, HEAD, OPTIONS"),
}


@pytest.fixture(autouse=True)
def own_throttle_counts(settings):
    settings.REDIS_KEY_PREFIX = f"test-method-{uuid.uuid4().hex[:8]}"


def signed_in_browser() -> Client:
    """An admin's session, checked for CSRF as a browser is, holding no CSRF token."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.create_superuser("boss"))
    return browser


def read_only() -> Client:
    user = get_user_model().objects.create_user("ha")
    return Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


@pytest.mark.parametrize("who", ["signed-in browser", "read-only token"])
def test_a_method_an_endpoint_does_not_take_is_a_405_naming_it(who):
    client = signed_in_browser() if who == "signed-in browser" else read_only()
    wrong = {}
    for path, (method, allow) in WRONG.items():
        answer = client.generic(method, path, "{}", content_type="application/json")
        seen = (answer.status_code, answer.get("Allow"), answer.json())
        if seen != (405, allow, {"detail": f'Method "{method}" not allowed.'}):
            wrong[f"{method} {path}"] = seen
    assert wrong == {}
    assert not RetentionRun.objects.exists()


def test_a_method_the_endpoint_takes_is_still_refused_without_csrf_token_or_permission():
    answer = signed_in_browser().post("/retention/archive", {"dry_run": "true"})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "CSRF Failed: CSRF cookie not set."}
    answer = read_only().post(
        "/retention/archive", json.dumps({"dry_run": True}), content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["detail"].startswith("This token may only read.")
    assert not RetentionRun.objects.exists()
