"""Who may do what, for every URL pattern of the URL conf: walked, not listed, so an endpoint is
covered the day it is added.

Identities (each with an API token and a logged-in session):
- anonymous;
- read-only: a user who is not staff and lacks `enrich.trigger_work` (`create_token --read-only`);
- staff: `is_staff`; on admin pages a superuser, since the admin also checks model permissions;
- operator (API only): not staff, but granted `enrich.trigger_work`.

Rules checked for each URL and method:
- anonymous is refused everywhere (401/403 from the API, a redirect to the admin login from a
  page) except the PUBLIC routes below;
- read-only is refused every changing method (POST/PUT/PATCH/DELETE), and pages; it may read
  the API;
- staff and operator are never refused (other answers — 200, 202, 400, 404, 405, 409 — are fine);
- nobody gets a server error (the test client raises the view's exception).
A refusal may also be 405: the method does not exist there, so nothing was done.

Changing requests carry a malformed JSON body. Permission and throttle checks run before the
body is read, so the answer still tells whether the caller was refused, and no endpoint queues
work or changes anything during the walk.
"""

import itertools
import re
import uuid
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory, override_settings
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils.regex_helper import normalize
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from enrich.management.commands.create_token import trigger_permission
from tests.support.doc_pages import ROOT

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CHANGING = ("POST", "PUT", "PATCH", "DELETE")
MALFORMED_JSON = "{not json"

# Route -> (methods anyone may use, why).
PUBLIC = {
    "api/health/": (("GET",), "monitors poll it; anonymous callers get ok/not ok only"),
    "api/token/": (("POST",), "exchanges a username and password for a token (throttled)"),
    "api/schema/": (("GET",), "the API's description, no data"),
    "api/docs/": (("GET",), "the page showing the API's description"),
    "admin/login/": (METHODS, "where logging in happens (django-axes locks it out)"),
    "admin/logout/": (METHODS, "without a session it only redirects to the admin index"),
    "login/": (METHODS, "the start page's login, for staff and read-only users (axes locks it)"),
    "logout/": (("POST",), "without a session it only redirects to the login page"),
    "favicon.ico": (("GET",), "browsers ask it of every page: 204, no icon"),
}
# Pages (not the REST API) that any logged-in user may read, read-only users included; their
# changing methods still need staff or a permission. Route -> why.
READ_PAGES = {
    "": "the status page (or, before the first site, the setup it leads to)",
    "setup/": "the first-run setup form; creating the site is a POST (permission needed)",
}
# Route -> (methods on which staff may be answered 403, why).
STAFF_403 = {
    "admin/autocomplete/": (
        ("GET",),
        "answers 403 to a request without a valid app_label/model_name/field_name query",
    ),
}


def _walk(patterns, chain=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, (*chain, entry.pattern))
        else:
            yield (*chain, entry.pattern), entry.callback


def _candidates() -> list[str]:
    return ["1", "x", *(config.label for config in apps.get_app_configs())]


def concrete_url(chain, callback) -> str:
    """A URL that resolves to this pattern's view: each path parameter filled with the first
    plausible value (an id, a word, an app label) that makes the URL resolve to it."""
    formats, names = "", []
    for pattern in chain:
        text, params = normalize(pattern.regex.pattern)[0]
        formats, names = formats + text, names + params
    for values in itertools.product(_candidates(), repeat=len(names)):
        url = "/" + formats % dict(zip(names, values, strict=True))
        try:
            if resolve(url).func is callback:
                return url
        except Exception:  # noqa: BLE001 - a candidate that does not resolve: try the next
            continue
    raise AssertionError(f"no URL resolves to {chain}; add a plausible value to _candidates()")


def endpoints() -> list[tuple[str, str, object]]:
    found = []
    for chain, callback in _walk(get_resolver().url_patterns):
        route = "".join(str(pattern) for pattern in chain)
        found.append((route, concrete_url(chain, callback), callback))
    return found


ENDPOINTS = endpoints()


def api_view(callback) -> type[APIView] | None:
    cls = getattr(callback, "cls", None)
    return cls if isinstance(cls, type) and issubclass(cls, APIView) else None


def implemented(callback) -> tuple[str, ...]:
    """The methods a view has: an API view's handlers; a page: GET and POST (Django's views
    answer other methods like GET, or 405)."""
    cls = api_view(callback)
    if cls is None:
        return ("GET", "POST")
    return tuple(m for m in METHODS if hasattr(cls, m.lower()))


@pytest.fixture(autouse=True)
def unthrottled(settings):
    """The walk checks permissions; throttles (tests/api/test_access_rules.py) stay out of it."""
    settings.REDIS_KEY_PREFIX = f"test-access-{uuid.uuid4().hex[:8]}"
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _client(user=None, *, token: bool = True) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
        if token:
            key = Token.objects.create(user=user).key
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


@pytest.fixture
def clients() -> dict[str, Client]:
    User = get_user_model()
    operator = User.objects.create_user("operator")
    operator.user_permissions.add(trigger_permission())
    return {
        "anonymous": _client(),
        "read-only": _client(User.objects.create_user("home-assistant")),
        "staff": _client(User.objects.create_user("staff", is_staff=True)),
        "admin": _client(User.objects.create_superuser("admin", "", None), token=False),
        "operator": _client(operator),
    }


def send(client: Client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, MALFORMED_JSON, content_type="application/json")


def to_login(response) -> bool:
    location = response.get("Location", "")
    login_pages = (reverse("admin:login"), resolve_url(settings.LOGIN_URL))
    return response.status_code in (301, 302) and urlsplit(location).path in login_pages


ADMIN_ACTIONS = {"add_view": "add", "change_view": "change", "delete_view": "delete"}


def admin_forbids(callback, user) -> bool:
    """Whether the page's ModelAdmin forbids its action even to a superuser (records written
    only by enrich or django-axes: runs, alerts, view rows, archive objects, access logs)."""
    model_admin = getattr(callback, "model_admin", None)
    action = ADMIN_ACTIONS.get(getattr(callback, "__name__", ""))
    if model_admin is None or action is None:
        return False
    request = RequestFactory().get("/")
    request.user = user
    return not getattr(model_admin, f"has_{action}_permission")(request)


def denied(response) -> bool:
    return response.status_code in (401, 403) or to_login(response)


def refused(response) -> bool:
    """Denied, or 405: the method does not exist there, so nothing was done either."""
    return denied(response) or response.status_code == 405


@pytest.mark.parametrize(("route", "url", "callback"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_who_may_do_what(clients, route, url, callback):
    public = PUBLIC.get(route, ((), ""))[0]
    for method in METHODS:
        response = send(clients["anonymous"], method, url)
        if method not in public:
            assert refused(response), f"anonymous {method} {url}: {response.status_code}"

    is_api = api_view(callback) is not None
    readable = is_api or route in READ_PAGES
    for method in METHODS:
        response = send(clients["read-only"], method, url)
        if method in public:
            continue
        if method in CHANGING or not readable:
            assert refused(response), f"read-only {method} {url}: {response.status_code}"
        else:
            assert not denied(response), f"read-only {method} {url}: {response.status_code}"

    allowed_403 = STAFF_403.get(route, ((), ""))[0]
    admin = get_user_model().objects.get(username="admin")
    trusted = ("staff", "operator") if is_api else ("admin",)
    for who, method in itertools.product(trusted, implemented(callback)):
        if who == "admin":
            clients[who].force_login(admin)  # again: a POST to admin/logout/ ended the session
        response = send(clients[who], method, url)
        if response.status_code == 403 and (
            method in allowed_403 or (who == "admin" and admin_forbids(callback, admin))
        ):
            continue
        assert not denied(response), f"{who} {method} {url}: {response.status_code}"


def test_the_walk_finds_every_kind_of_endpoint():
    routes = {route for route, _, _ in ENDPOINTS}
    triggers = {
        "retention/downsample-hourly",
        "retention/downsample-daily",
        "retention/archive",
        "retention/restore",
        "api/views/<str:name>/rebuild",
    }
    assert triggers <= routes
    assert {"api/series", "api/sites/", "oauth/google/connect", "admin/"} <= routes
    assert any(route.startswith("admin/enrich/site/") for route in routes)
    # Every exception names a route that exists, so none outlives its endpoint unnoticed.
    assert set(PUBLIC) <= routes and set(STAFF_403) <= routes and set(READ_PAGES) <= routes


def test_a_read_only_users_session_alone_reads_the_api_and_changes_nothing():
    """docs/deployment.md's *without a login*: it said a reading needs a token or an admin
    session, while the start page's login (`/login/`) gives a user who is not staff a session
    that reads the API as a read-only token does (and changes nothing)."""
    get_user_model().objects.create_user("reader", password="a-long-enough-password-1")
    client = Client()
    signed_in = client.post(
        "/login/", {"username": "reader", "password": "a-long-enough-password-1"}
    )
    assert signed_in.status_code == 302 and "HTTP_AUTHORIZATION" not in client.defaults
    assert client.get(reverse("sites")).status_code == 200
    assert refused(client.post(reverse("sites"), {})) and denied(client.get("/admin/"))
    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    assert "Every reading needs a token or a signed-in session" in text
    assert "`/login/`" in text[text.index("Every reading needs") :][:200]


SCHEMA = (
    "from django.test import Client; import sys; "
    "sys.stdout.write(Client().get('/api/schema/?format=json', HTTP_HOST='localhost')"
    ".content.decode())"
)


def test_the_public_schema_is_the_same_for_every_install_and_holds_none_of_its_data():
    """docs/deployment.md: anyone reaching port 8000 reads /api/schema/, "the same for every
    install of this version, holding none of your data, settings or names"."""
    from enrich.models import Site
    from tests.support.startup import run_django

    own = {
        "PLAN_CARBON_PRICE": "123.5",
        "RETENTION_MAX_RANGE_DAYS": "77",
        "API_THROTTLE_ANON": "7/minute",
        "TIME_ZONE": "Europe/Berlin",
        "HA_INFLUXDB_DATABASE": "cottage_history",
        "INFLUXDB_DATABASE": "cottage_enrich",
        "RESTORE_INFLUXDB_DATABASE": "cottage_restore",
        "SITE_NAME": "Cottage",
        "MQTT_CHEAPEST_WINDOW_HOURS": "3",
    }
    # Each with Redis keys of its own: the anonymous requests other tests just made from
    # 127.0.0.1 count against no throttle of theirs (7/minute would be spent already).
    plain, other = (run_django(SCHEMA, REDIS_KEY_PREFIX=f"test-schema-{uuid.uuid4().hex}"),
                    run_django(SCHEMA, **own, REDIS_KEY_PREFIX=f"test-schema-{uuid.uuid4().hex}"))  # fmt: skip
    assert plain.returncode == 0 and other.returncode == 0, plain.stderr + other.stderr
    assert plain.stdout == other.stdout and '"openapi"' in plain.stdout
    assert not re.search(r"cottage|123\.5|Europe/Berlin|7/minute", other.stdout, re.I)
    Site.objects.create(name="Cottage-on-the-hill", latitude=51.5, longitude=-0.1)
    here = Client().get("/api/schema/?format=json").content.decode()
    assert "Cottage-on-the-hill" not in here and '"openapi"' in here


# The files collectstatic gathers, found in place.
@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_the_static_files_are_served_without_a_login():
    """docs/deployment.md lists what anyone reaching port 8000 gets; WhiteNoise serves the
    static files before any view (and any login) is asked, so the list names them."""
    assert Client().get(f"{settings.STATIC_URL}admin/css/base.css").status_code == 200
    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    public = text[text.index("Without a login, anyone") : text.index("Every reading needs")]
    assert f"`{settings.STATIC_URL}`" in public
