"""The HTTP edge, beyond each endpoint's parameters (tests/api/test_bad_input_matrix.py): bodies
over Django's upload limits, URLs that match no endpoint, and methods the pages do not take.
Each refusal says what is wrong (JSON on the API, readable on the pages) and nothing is
recorded, created or queued."""

import io
import json
import socket

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import wsgi
from config.celery import app
from enrich.models import Site
from retention.models import RetentionRun
from tests.support import bad_input as hostile
from tests.support import worker as worker_support
from tests.support.web import gunicorn

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

FORM = "application/x-www-form-urlencoded"
# The POSTs that change, queue or hand out something, with fields they would accept.
POSTS = {
    "/retention/archive": {"dry_run": "true"},
    "/retention/restore": {"start_date": "2024-01-01", "end_date": "2024-01-02"},
    "/retention/downsample-hourly": {"start": "2024-01-01", "end": "2024-01-02"},
    "/retention/downsample-daily": {"start": "2024-01-01", "end": "2024-01-02"},
    "/api/views/daily_energy_by_device/rebuild": {"start": "2024-01-01", "end": "2024-01-02"},
    "/api/token/": {"username": "ops", "password": "x"},
}
PAGES = ["/", "/setup/", "/login/", "/admin/login/", "/oauth/google/connect",
         "/admin/enrich/site/add/"]  # fmt: skip


def too_large(settings, fields: dict[str, str]) -> dict[str, str]:
    """`fields` with one more, `pad`, taking the body one byte past DATA_UPLOAD_MAX_MEMORY_SIZE."""
    return {**fields, "pad": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def too_many(settings, fields: dict[str, str]) -> str:
    """`fields` and more, one past DATA_UPLOAD_MAX_NUMBER_FIELDS, as a form body or query."""
    more = range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1 - len(fields))
    many = {**fields, **{f"f{i}": "1" for i in more}}
    return "&".join(f"{name}={value}" for name, value in many.items())


def assert_json(answer, status: int, name: str, words: str) -> None:
    """A JSON `status` whose body names `name` only, with `words` in what it says."""
    assert (answer.status_code, answer.headers["Content-Type"]) == (status, "application/json"), (
        answer.status_code, answer.content[:200])  # fmt: skip
    assert list(answer.json()) == [name], answer.json()
    assert words in answer.json()[name], answer.json()


# --- Django's upload limits --------------------------------------------------------------------
@pytest.mark.parametrize("path", POSTS)
def test_a_body_over_the_upload_limits_is_refused_in_json_naming_the_limit(
    staff, home, settings, path
):
    # Was Django's HTML page "Bad Request (400)", naming neither what was wrong nor the limit.
    before = hostile.counts()
    big = too_large(settings, POSTS[path])
    limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
    for answer in (staff.post(path, json.dumps(big), content_type="application/json"),
                   staff.post(path, too_many(settings, big), content_type=FORM)):  # fmt: skip
        assert_json(answer, 413, "body", f"The request body is larger than {limit}")
        assert "nothing was done" in answer.json()["body"]
    fields = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields"
    answer = staff.post(path, too_many(settings, POSTS[path]), content_type=FORM)
    assert_json(answer, 400, "body", f"The request's body has {fields}")
    answer = staff.post(f"{path}?{too_many(settings, {})}", POSTS[path], format="json")
    assert_json(answer, 400, "query", f"The request's query string has {fields}")
    assert hostile.counts() == before


@pytest.mark.parametrize("path", ["/api/sites/", "/retention/history", "/api/plan"])
def test_a_query_over_the_field_limit_is_refused_in_json(staff, home, settings, path):
    answer = staff.get(f"{path}?{too_many(settings, {})}")
    limit = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields"
    assert_json(answer, 400, "query", limit)


def test_an_upload_of_too_many_files_is_refused_in_json(staff, home, settings):
    before = hostile.counts()
    files = {f"f{i}": ("a.txt", b"1") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)}
    parts = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="%s"; filename="a.txt"\r\n\r\n1\r\n'
        % name.encode()
        for name in files
    )
    answer = staff.generic("POST", "/retention/archive", parts + b"--b--\r\n",
                           content_type="multipart/form-data; boundary=b")  # fmt: skip
    limit = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files"
    assert_json(answer, 400, "body", limit)
    assert hostile.counts() == before


@pytest.mark.parametrize("path", PAGES)
def test_a_page_says_which_upload_limit_a_form_is_over(admin_client, settings, path):
    # Was Django's bare "Bad Request (400)" page: the user did not learn why.
    for body, status, said in (
        (too_large(settings, {"name": "Flat"}), 413,
         f"larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"),
        (too_many(settings, {"name": "Flat"}), 400,
         f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields"),
    ):  # fmt: skip
        if isinstance(body, dict):
            body = "&".join(f"{name}={value}" for name, value in body.items())
        page = admin_client.post(path, body, content_type=FORM)
        assert page.status_code == status, (page.status_code, page.content[:200])
        assert page["Content-Type"] == "text/plain; charset=utf-8"
        assert said in page.content.decode() and "nothing was done" in page.content.decode()
    assert not Site.objects.exists()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_says_a_form_it_cannot_read_could_not_be_read(admin_client, path):
    # Was Django's bare "Bad Request (400)" page.
    for content_type in ("multipart/form-data", "multipart/form-data; boundary="):
        page = admin_client.generic("POST", path, b"name=Flat", content_type=content_type)
        assert (page.status_code, page["Content-Type"]) == (400, "text/plain; charset=utf-8")
        said = page.content.decode()
        assert said.startswith("The form could not be read (Invalid boundary in multipart")
        assert said.endswith("; nothing was done."), said
    assert not Site.objects.exists()


@pytest.mark.parametrize(("path", "api"), [("/api/health/", True), ("/api/nope", True),
                                           ("/login/", False), ("/admin/", False)])  # fmt: skip
def test_a_host_not_allowed_is_named_with_the_setting(path, api):
    # Was Django's bare "Bad Request (400)" page, on the API too: a Home Assistant pointed at
    # http://homeassistant.local:8000 was not told why.
    answer = Client().get(path, HTTP_HOST="homeassistant.local:8000")
    said = ("'homeassistant.local:8000' is not a host name this server answers to: add it to "
            "DJANGO_ALLOWED_HOSTS, or use one listed there; nothing was done.")  # fmt: skip
    if api:
        assert_json(answer, 400, "Host", said)
    else:
        assert (answer.status_code, answer.content.decode()) == (400, said)


def test_a_host_not_allowed_is_one_line_in_the_web_log():
    # Django logged it with the traceback of its own frames: twenty lines in gunicorn's log for
    # each request a LAN scanner sent to a WEB_BIND=0.0.0.0:8000 by its address.
    with gunicorn() as (url, proc):
        answer = requests.get(f"{url}/login/", headers={"Host": "scanner.example"}, timeout=30)
        assert answer.status_code == 400
        log = worker_support.output(proc)
    said = [line for line in log.splitlines() if "'scanner.example'" in line]
    assert len(said) == 1 and "django.security.DisallowedHost" in said[0], log
    assert "Traceback" not in log


# --- URLs that match no endpoint ---------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/api/nope", "/retention/nope", "/api/views/x/y/z", "/api/health/x"]
)
def test_an_api_url_that_matches_no_endpoint_is_a_json_404(staff, path):
    # Was Django's HTML "Not Found" page.
    for answer in (staff.get(path), staff.post(path, {"dry_run": True}, format="json")):
        assert_json(answer, 404, "detail", f"No endpoint at {path}; /api/docs/ lists them.")


def test_a_page_url_that_matches_nothing_is_still_a_page(admin_client):
    page = admin_client.get("/nope/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.django_db(transaction=True)  # gunicorn's own connection sees the user and runs
def test_a_chunked_body_is_read_as_sent_under_gunicorn(settings, tmp_path):
    # Was read as empty (Django reads CONTENT_LENGTH bytes, none when a body is sent chunked):
    # {"dry_run": true} sent with Transfer-Encoding: chunked queued a real archive run.
    user = get_user_model().objects.create_user("ops", is_staff=True)
    token = f"Token {Token.objects.create(user=user).key}"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        with gunicorn(ARCHIVE_LOCAL_DIR=str(tmp_path / "archive")) as (url, _):
            for body, content_type in (([b'{"dry_run":', b" true}"], "application/json"),
                                       ([b"dry_run=", b"true"], FORM)):  # fmt: skip
                headers = {"Authorization": token, "Content-Type": content_type}
                # A generator: requests sends it chunked, without a Content-Length.
                answer = requests.post(f"{url}/retention/archive", data=iter(body),
                                       headers=headers, timeout=60)  # fmt: skip
                assert (answer.status_code, answer.json()["dry_run"]) == (202, True), answer.text
            too_large = requests.post(f"{url}/retention/archive",
                                      data=iter([b" " * limit, b"{}"]),
                                      headers=headers | {"Content-Type": "application/json"},
                                      timeout=60)  # fmt: skip
            assert_json(too_large, 413, "body", f"larger than {limit:,} bytes")
    finally:
        app.control.purge()
    assert [run.details["dry_run"] for run in RetentionRun.objects.all()] == [True, True]


def raw_answer(url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """The status line, headers and body of what the server at `url` answers `request`, sent
    as it is (no client would send it malformed)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
    head, body = answer.split(b"\r\n\r\n", 1)
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


@pytest.mark.django_db(transaction=True)
def test_a_request_gunicorn_cannot_read_is_answered_in_json():
    # Was gunicorn's own HTML page (<h1><p>Bad Request</p></h1>), which an API client cannot read.
    unreadable = {
        b"POST /retention/archive HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n":
            "Invalid HTTP Header: 'CONTENT-LENGTH'",
        b"GET /api/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n\r\n":
            "Invalid HTTP header name: 'Bad Name'",
        b"NOT A REQUEST LINE\r\n\r\n":
            "Invalid Request Line 'Invalid HTTP request line: 'NOT A REQUEST LINE''",
    }  # fmt: skip
    with gunicorn() as (url, _):
        for request, said in unreadable.items():
            status, headers, body = raw_answer(url, request)
            assert (status, headers["Content-Type"]) == ("HTTP/1.1 400 Bad Request",
                                                         "application/json"), body  # fmt: skip
            assert json.loads(body) == {"detail": f"{said}; nothing was done."}
            assert int(headers["Content-Length"]) == len(body)
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(("path", "json_body"), [("/retention/archive", True), ("/login/", False)])
def test_a_chunked_body_a_server_does_not_end_is_a_411(path, json_body):
    # A WSGI server that does not say where a chunked body ends (no wsgi.input_terminated, as
    # gunicorn says): reading on could wait forever, and Django read the body as empty.
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
               "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "application/json",
               "wsgi.input": io.BytesIO(b'{"dry_run": true}'), "wsgi.errors": io.StringIO()}  # fmt: skip
    said = []
    body = b"".join(wsgi.application(environ, lambda status, headers: said.append(status)))
    assert said == ["411 Length Required"]
    words = "Send the body with a Content-Length: this server cannot read a chunked one."
    assert (json.loads(body) == {"body": words}) if json_body else (body.decode() == words)
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
def test_a_post_to_an_url_without_its_slash_is_sent_on_with_its_body(home, settings, debug):
    settings.DEBUG = debug
    # Was a 301: a client following it asks GET /api/token/ without the body (a 405, the
    # credentials dropped); Django with DJANGO_DEBUG answered a 500 (RuntimeError). A 308 is
    # followed with the same method and body.
    get_user_model().objects.create_user("ops", password="pw-ops-123")
    client = APIClient()
    answer = client.post("/api/token", {"username": "ops", "password": "pw-ops-123"}, format="json")
    assert (answer.status_code, answer["Location"]) == (308, "/api/token/")
    followed = client.post("/api/token", {"username": "ops", "password": "pw-ops-123"},
                           format="json", follow=True)  # fmt: skip
    assert followed.status_code == 200 and len(followed.json()["token"]) == 40
    assert client.get("/api/health?format=json").status_code == 308


# --- Methods the pages do not take -------------------------------------------------------------
# Each page and the methods it takes (its Allow header).
PAGE_METHODS = {
    "/": "GET, HEAD, POST",
    "/setup/": "GET, HEAD, POST",
    "/login/": "GET, POST, HEAD, OPTIONS",
    "/logout/": "POST, OPTIONS",
    "/admin/login/": "GET, HEAD, POST",
    "/admin/": "GET, HEAD, POST",
    "/admin/enrich/site/": "GET, HEAD, POST",
    "/admin/enrich/site/add/": "GET, HEAD, POST",
    "/oauth/google/": "GET, HEAD",
    "/oauth/google/connect": "POST",
    "/oauth/google/callback": "GET",
}
OTHER_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


def holding_a_csrf_token(client: Client) -> Client:
    """`client` checked for CSRF as a browser is, sending its CSRF token in the X-CSRFToken
    header, as a script on the page would: the method is what is refused, not the token. From
    the login page, or the start page it sends a logged-in user on to (its logout form's)."""
    client.get("/login/", follow=True)
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


@pytest.mark.parametrize("path", PAGE_METHODS)
def test_a_page_answers_a_method_it_does_not_take_with_405_and_allow(home, path):
    # PUT /login/ and /admin/login/ showed the login form again with "This field is required."
    # (200), any method on the admin's pages showed the page; signed out, PUT / and the Google
    # Calendar pages redirected to a login; HEAD /oauth/google/ was a 405.
    allowed = PAGE_METHODS[path].split(", ")
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(get_user_model().objects.create_superuser("root"))
    wrong = {}
    for who, client in (("signed out", Client(enforce_csrf_checks=True)), ("admin", admin)):
        client = holding_a_csrf_token(client)
        for method in OTHER_METHODS:
            answer = client.generic(method, path, "username=root&password=x", content_type=FORM)
            if method in allowed:
                if answer.status_code in (403, 405):
                    wrong[f"{who} {method}"] = f"{answer.status_code} for a method it takes"
            elif (answer.status_code, answer.get("Allow")) != (405, PAGE_METHODS[path]):
                wrong[f"{who} {method}"] = f"{answer.status_code} Allow={answer.get('Allow')}"
    assert not wrong, wrong
    assert Site.objects.count() == 1


def test_without_a_csrf_token_a_page_refuses_another_method_with_the_csrf_403_but_the_admin(home):
    """As docs/api.md says: Django's CSRF check runs before a page's view refuses the method, so a
    client without the CSRF cookie and token gets its 403; the admin's guard answers first."""
    client = Client(enforce_csrf_checks=True)
    for path in ("/", "/setup/", "/login/", "/logout/", "/oauth/google/", "/oauth/google/callback"):
        answer = client.generic("PUT", path, "username=root&password=x", content_type=FORM)
        assert answer.status_code == 403 and b"CSRF" in answer.content, (path, answer.content)
    for path in ("/admin/", "/admin/login/"):
        answer = client.generic("PUT", path, "username=root&password=x", content_type=FORM)
        assert (answer.status_code, answer["Allow"]) == (405, "GET, HEAD, POST"), path
    assert Site.objects.count() == 1


# Django reads a quoted cookie's octal escapes: \000 is a NUL, sent as plain ASCII (gunicorn
# passes it on); \377 and \012 are keys Django would never make either.
@pytest.mark.parametrize("key", ['"aaaaaaaaaa\\000"', '"\\000aaaaaaaaaa"', '"abcdefgh\\377\\012"'])
def test_a_session_cookie_that_is_no_session_key_is_signed_out(home, key):
    # A NUL in the key was a 500 on every request, health and the login page included:
    # PostgreSQL refuses it in the session's query.
    token = Token.objects.create(user=get_user_model().objects.create_user("ha")).key
    reader = APIClient(HTTP_COOKIE=f"sessionid={key}", HTTP_AUTHORIZATION=f"Token {token}")
    assert reader.get("/api/health/").json()["ok"] is True
    assert [site["name"] for site in reader.get("/api/sites/").json()] == ["Home"]
    browser = Client(HTTP_COOKIE=f"sessionid={key}")
    assert browser.get("/api/sites/").status_code == 401
    assert (browser.get("/").status_code, browser.get("/").url) == (302, "/login/?next=/")
    assert browser.get("/login/").status_code == 200
    get_user_model().objects.create_superuser("root", password="pw-root-123")
    signed_in = browser.post("/login/", {"username": "root", "password": "pw-root-123"})
    assert (signed_in.status_code, signed_in.url) == (302, "/")
    new_session = Client(HTTP_COOKIE=f"sessionid={signed_in.cookies['sessionid'].value}")
    assert new_session.get("/").status_code == 200  # a key of its own replaces the broken one
