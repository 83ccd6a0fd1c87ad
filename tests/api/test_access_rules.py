"""Read-only tokens, the trigger permission, throttles and the admin login lockout, against the
real database and Redis (throttle counts live there)."""

import uuid

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from enrich.access import may_trigger
from enrich.apps import check_access_settings
from enrich.management.commands.create_token import trigger_permission
from tests.support.api import create_token
from tests.support.doc_pages import ROOT

pytestmark = pytest.mark.django_db

# Unknown view: a trigger that does nothing, so "not refused" shows as 404, refused as 403.
TRIGGER = "/api/views/no_such_view/rebuild"


@pytest.fixture(autouse=True)
def own_throttle_counts(settings):
    settings.REDIS_KEY_PREFIX = f"test-rules-{uuid.uuid4().hex[:8]}"


def with_token(key: str, **extra: str) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_read_only_token_reads_and_is_refused_every_trigger():
    key = create_token("--read-only", "home-assistant")
    user = get_user_model().objects.get(username="home-assistant")
    assert Token.objects.get(user=user).key == key
    assert not user.is_staff and not user.has_usable_password() and not may_trigger(user)
    client = with_token(key)
    assert client.get("/api/sites/").status_code == 200
    for url in ("/retention/archive", "/retention/downsample-hourly", TRIGGER):
        response = client.post(url, {"dry_run": True}, format="json")
        assert response.status_code == 403, url
        assert "This token may only read" in response.json()["detail"]


def test_the_command_gives_the_same_token_again_and_a_new_one_with_rotate():
    first = create_token("--read-only", "home-assistant")
    assert create_token("--read-only", "home-assistant") == first
    rotated = create_token("--read-only", "home-assistant", "--rotate")
    assert rotated != first
    assert with_token(first).get("/api/sites/").status_code == 401
    assert with_token(rotated).get("/api/sites/").status_code == 200


def test_the_command_refuses_a_read_only_token_for_a_staff_user():
    get_user_model().objects.create_user("admin", is_staff=True)
    with pytest.raises(CommandError, match="'admin' is staff or has enrich.trigger_work"):
        call_command("create_token", "--read-only", "admin")
    assert not Token.objects.exists()


def test_the_command_needs_to_be_told_which_kind_of_token():
    with pytest.raises(CommandError, match="one of the arguments --read-only --operator"):
        call_command("create_token", "home-assistant")


def test_an_operator_token_may_trigger_without_being_staff():
    key = create_token("--operator", "automation")
    user = get_user_model().objects.get(username="automation")
    assert not user.is_staff and user.has_perm("enrich.trigger_work")
    assert with_token(key).post(TRIGGER, {}, format="json").status_code == 404


def test_the_permission_also_works_through_a_group():
    user = get_user_model().objects.create_user("night-shift")
    group = Group.objects.create(name="operators")
    group.permissions.add(trigger_permission())
    client = APIClient()
    client.force_authenticate(user)
    assert client.post(TRIGGER, {}, format="json").status_code == 403
    user.groups.add(group)
    client.force_authenticate(get_user_model().objects.get(pk=user.pk))  # fresh permission cache
    assert client.post(TRIGGER, {}, format="json").status_code == 404


def test_a_deactivated_staff_user_is_refused():
    user = get_user_model().objects.create_user("gone", is_staff=True, is_active=False)
    assert not may_trigger(user)


def rates(settings, **scopes: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **scopes,
        },
    }


def test_reads_are_throttled_per_user_with_retry_after(settings):
    rates(settings, user="3/minute")
    first = with_token(create_token("--read-only", "ha-1"))
    second = with_token(create_token("--read-only", "ha-2"))
    assert [first.get("/api/sites/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = first.get("/api/sites/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert second.get("/api/sites/").status_code == 200  # another user has its own count


def test_triggers_have_their_own_stricter_count(settings):
    rates(settings, trigger="2/hour", user="100/minute")
    client = with_token(create_token("--operator", "automation"))
    assert [client.post(TRIGGER, {}).status_code for _ in range(3)] == [404, 404, 429]
    assert client.get("/api/sites/").status_code == 200  # reads are counted apart
    # A refused (read-only) trigger is refused before it is counted, so it uses no budget.
    reader = with_token(create_token("--read-only", "ha"))
    assert [reader.post(TRIGGER, {}).status_code for _ in range(3)] == [403, 403, 403]


def test_the_token_endpoint_is_throttled_per_address(settings):
    rates(settings, token="2/minute")
    get_user_model().objects.create_user("ops", password="pw-ops-123")
    here = APIClient(REMOTE_ADDR="192.0.2.10")
    answers = [here.post("/api/token/", {"username": "ops", "password": "wrong"}) for _ in "123"]
    assert [a.status_code for a in answers] == [400, 400, 429]
    # Sending some token does not make it another caller: a login is counted by address.
    key = create_token("--read-only", "ha")
    assert with_token(key, REMOTE_ADDR="192.0.2.10").post("/api/token/").status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.20")
    ok = elsewhere.post("/api/token/", {"username": "ops", "password": "pw-ops-123"})
    assert ok.status_code == 200 and ok.json()["token"]


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(settings):
    rates(settings, token="1/minute")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy: the header is the client's to forge
    client = APIClient(**proxy)
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 400
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429
    settings.TRUSTED_PROXY_COUNT = 1  # one proxy: it appends the address it saw
    forged = "203.0.113.9, 198.51.100.3"
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR=forged).status_code == 400
    forged = "203.0.113.10, 198.51.100.3"  # same client, another forged first entry
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR=forged).status_code == 429


@pytest.mark.parametrize(
    ("count", "forwarded", "remote", "recorded"),
    [
        (1, "garbage", "10.0.0.2", "10.0.0.2"),
        (1, "203.0.113.9, garbage", "10.0.0.2", "10.0.0.2"),
        (2, "garbage, 10.0.0.1", "10.0.0.2", "10.0.0.2"),
        (0, "", "not-an-ip", None),
        (0, "", "", None),
    ],
)
def test_a_client_address_that_is_no_ip_address_is_not_recorded_as_one(
    client, settings, count, forwarded, remote, recorded
):
    # A failed login was a 500: django-axes stores the address in an IP address column.
    # A forwarded hop that is none counts as the nearest proxy (REMOTE_ADDR).
    settings.TRUSTED_PROXY_COUNT = count
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    form = {"username": "ops", "password": "wrong"}
    page = client.post("/login/", form, REMOTE_ADDR=remote, **headers)
    assert page.status_code == 200 and "name and password didn't match" in page.content.decode()
    assert AccessAttempt.objects.get().ip_address == recorded


def test_health_is_never_throttled(settings):
    rates(settings, anon="1/minute")
    assert [APIClient().get("/api/health/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "DEFAULT_THROTTLE_RATES",
            {"anon": "5/fortnight"},
            "API_THROTTLE_ANON: Budget '5/fortnight'",
        ),
        ("AXES_FAILURE_LIMIT", 0, "ADMIN_LOGIN_FAILURE_LIMIT=0 must be at least 1"),
        ("TRUSTED_PROXY_COUNT", -1, "TRUSTED_PROXY_COUNT=-1 must be 0 or more"),
    ],
)
def test_unusable_access_settings_stop_the_start(settings, setting, value, message):
    if setting == "DEFAULT_THROTTLE_RATES":
        rates(settings, **value)
    else:
        setattr(settings, setting, value)
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        check_access_settings()


def test_repeated_failed_admin_logins_lock_out_the_next_attempt(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_superuser("admin", "", "correct-horse-battery")
    login = "/admin/login/?next=/admin/"
    for _ in range(3):
        failed = client.post(login, {"username": "admin", "password": "guess"})
        assert failed.status_code in (200, 429)  # the form again; the limit-th is refused
    locked = client.post(login, {"username": "admin", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # The token endpoint asks the same lockout, so the password cannot be tried there either.
    token = APIClient().post(
        "/api/token/", {"username": "admin", "password": "correct-horse-battery"}
    )
    assert token.status_code == 429
    assert "Too many failed logins" in token.json()["detail"] and "token" not in token.json()
    # Another account from the same address is not locked out by guesses at this one.
    get_user_model().objects.create_superuser("other", "", "battery-staple-horse")
    other = client.post(login, {"username": "other", "password": "battery-staple-horse"})
    assert other.status_code == 302 and other["Location"] == "/admin/"


def test_failed_logins_at_each_login_count_together_and_lock_out_all_three(client, settings):
    # docs/configuration.md named the admin's login and POST /api/token/; the start page's
    # /login/ counts too, with them, and is locked out with them.
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("reader", password="correct-horse-battery")
    guess = {"username": "reader", "password": "guess"}
    assert client.post("/login/", guess).status_code == 200
    assert client.post("/admin/login/?next=/admin/", guess).status_code == 200
    assert APIClient().post("/api/token/", guess).status_code in (400, 429)  # the limit-th
    right = {"username": "reader", "password": "correct-horse-battery"}
    assert client.post("/login/", right).status_code == 429
    assert "_auth_user_id" not in client.session
    assert APIClient().post("/api/token/", right).status_code == 429
    (row,) = [
        line
        for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
        if line.startswith("| `ADMIN_LOGIN_FAILURE_LIMIT`")
    ]
    assert all(login in row for login in ("`/login/`", "admin", "`POST /api/token/`"))


def test_an_ipv6_host_cannot_step_past_the_lockout_by_changing_its_address(client, settings):
    # Every IPv6 host holds a whole /64 (privacy addresses, a server's allocation): with each
    # address counted on its own, one host had 2^64 fresh lockouts, 5 guesses each.
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("reader", password="correct-horse-battery")
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for host in (1, 2, 3):
        guess = {"username": "reader", "password": f"guess-{host}"}
        client.post("/login/", guess, HTTP_X_FORWARDED_FOR=f"2001:db8:1:2::{host}", **proxy)
    right = {"username": "reader", "password": "correct-horse-battery"}
    same_host = client.post("/login/", right, HTTP_X_FORWARDED_FOR="2001:db8:1:2:ff::9", **proxy)
    assert same_host.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get().ip_address == "2001:db8:1:2::"
    elsewhere = client.post("/login/", right, HTTP_X_FORWARDED_FOR="2001:db8:1:3::1", **proxy)
    assert elsewhere.status_code == 302 and client.session["_auth_user_id"]


@pytest.mark.parametrize(
    ("forwarded", "recorded"),
    [
        ("::ffff:198.51.100.7", "198.51.100.7"),  # an IPv4 client on a dual-stack proxy
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:aa:bb:cc:dd:ee:ff", "2001:db8:aa:bb::"),
    ],
)
def test_a_failed_login_is_recorded_under_the_address_it_is_counted_by(
    client, settings, forwarded, recorded
):
    settings.TRUSTED_PROXY_COUNT = 1
    form = {"username": "ops", "password": "wrong"}
    client.post("/login/", form, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert AccessAttempt.objects.get().ip_address == recorded


def test_an_ipv6_host_shares_one_throttle_budget_across_its_addresses(settings):
    rates(settings, token="1/minute")
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient(REMOTE_ADDR="127.0.0.1")
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR="2001:db8:1:2::1").status_code == 400
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR="2001:db8:1:2::2").status_code == 429
    assert client.post("/api/token/", HTTP_X_FORWARDED_FOR="2001:db8:1:3::1").status_code == 400
