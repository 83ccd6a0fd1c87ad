"""The web app (gunicorn, as deployed) while PostgreSQL is out of reach: a TCP proxy
(tests.support.proxy) in front of the test database, closed under it. Each page and API request
that needs the database is a 503 saying that the database does not answer (JSON on the API,
plain text on the pages), its log one line without a traceback; once the proxy opens again the
same requests are answered as before, without a restart. They were Django's "Server Error (500)"
page, the API's 500 "The server failed to answer this request", and a traceback each."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework.authtoken.models import Token

from enrich.models import Site
from tests.support import worker
from tests.support.proxy import database_proxy
from tests.support.web import gunicorn

PAGES = ("/", "/admin/", "/admin/enrich/site/", "/admin/login/")
DOWN = (
    "The database does not answer (PostgreSQL is down, restarting or out of reach); try again in "
    "a minute. The server log names the error."
)
API = ("/api/health/", "/api/enrichment/current", "/api/views/daily_energy_by_device",
       "/retention/history", "/api/processes/")  # fmt: skip


def _logged_in(url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/admin/login/")
    form = {"username": "pg-admin", "password": "pw-pg-admin-123", "next": "/admin/",
            "csrfmiddlewaretoken": session.cookies["csrftoken"]}  # fmt: skip
    answer = session.post(f"{url}/admin/login/", data=form, allow_redirects=False,
                          headers={"Referer": f"{url}/admin/login/"})  # fmt: skip
    assert answer.status_code == 302, answer.text
    return session


def _asked(url: str, session: requests.Session, token: str) -> dict[str, requests.Response]:
    answers = {p: session.get(url + p, allow_redirects=False, timeout=30) for p in PAGES}
    for path in API:
        answers[path] = requests.get(url + path, headers={"Authorization": f"Token {token}"},
                                     timeout=30)  # fmt: skip
    return answers


@pytest.mark.django_db(transaction=True)
def test_pages_and_api_say_the_database_does_not_answer_and_recover():
    Site.objects.create(name="Home", latitude=52.52, longitude=13.405)
    # hashed as the web server checks it (the tests' own hasher is MD5, for speed)
    password = make_password("pw-pg-admin-123", hasher="pbkdf2_sha256")
    user = get_user_model().objects.create_superuser("pg-admin", password=None)
    get_user_model().objects.filter(pk=user.pk).update(password=password)
    token = Token.objects.create(user=user).key
    with (
        database_proxy() as (proxy, database_url),
        gunicorn(DATABASE_URL=database_url) as (url, proc),
    ):
        session = _logged_in(url)
        before = _asked(url, session, token)
        proxy.close()
        down = _asked(url, session, token)
        anonymous = requests.get(f"{url}/api/health/", timeout=30)  # as a monitor asks
        proxy.open()
        back = _asked(url, session, token)
        log = worker.output(proc)

    up = {**dict.fromkeys(PAGES + API, 200), "/admin/login/": 302}  # signed in: to the admin
    assert {p: a.status_code for p, a in before.items()} == up
    assert {p: a.status_code for p, a in back.items()} == up
    assert {p: a.status_code for p, a in down.items()} == dict.fromkeys(PAGES + API, 503)
    for path in PAGES:
        assert down[path].headers["Content-Type"] == "text/plain; charset=utf-8", path
        assert down[path].text == DOWN, (path, down[path].text)
    for path in API:
        assert down[path].json() == {"detail": DOWN}, (path, down[path].text)
    assert anonymous.status_code == 503 and anonymous.json()["services"]["database"] == {
        "ok": False
    }, anonymous.text
    assert "Traceback" not in log, log
    said = [line.split(" ERROR enrich.database_down ", 1)[1] for line in log.splitlines()
            if " enrich.database_down " in line]  # fmt: skip
    assert [line.split(": connection failed: ")[0] for line in said] == [
        f"GET {path}: the database cannot be reached" for path in PAGES + API
    ], log
    assert all(f'connection to server at "127.0.0.1", port {proxy.port} failed' in line
               for line in said), said  # fmt: skip
