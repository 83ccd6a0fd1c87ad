"""The production profile as docs/deployment.md sets it up: gunicorn behind a TLS proxy that
passes Host and sets X-Forwarded-Proto (the requests below are the proxy's)."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission

from tests.support.startup import documented_production_env
from tests.support.web import gunicorn

PUBLIC = "enrich.example.org"
PROXY = {"Host": PUBLIC, "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}


def cookie(answer: requests.Response, name: str) -> str:
    """The Set-Cookie header of `name` as the server sent it."""
    (line,) = [c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    return line


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("google_redirect_uri", ["documented", "unset"])
def test_behind_the_documented_proxy_logins_are_https_only(google_redirect_uri):
    env = documented_production_env()
    assert env["GOOGLE_REDIRECT_URI"] == f"https://{PUBLIC}/oauth/google/callback"
    if google_redirect_uri == "unset":
        env["GOOGLE_REDIRECT_URI"] = ""  # built from the request: the proxy's headers
    # Hashed as the server hashes (the tests' own quick hasher is unknown to it).
    password = make_password("a long pass phrase", hasher="pbkdf2_sha256")
    # The owner: staff who may connect the calendar (the setup page needs that permission).
    owner = get_user_model().objects.create(username="owner", password=password, is_staff=True)
    owner.user_permissions.add(Permission.objects.get(codename="change_oauthconnection"))
    with gunicorn(**env) as (url, _):
        # Plain HTTP (port 8000 reached directly, or the proxy's http side) goes to HTTPS...
        plain = requests.get(f"{url}/admin/login/", headers={"Host": PUBLIC},
                             allow_redirects=False, timeout=30)  # fmt: skip
        assert (plain.status_code, plain.headers["Location"]) == (
            301,
            f"https://{PUBLIC}/admin/login/",
        )
        # ...except the container's health check, on 127.0.0.1 as DJANGO_ALLOWED_HOSTS allows.
        assert requests.get(f"{url}/api/health/", timeout=30).status_code == 200
        # Another host name is refused.
        forged = requests.get(f"{url}/admin/login/", headers=PROXY | {"Host": "evil.example"},
                              timeout=30)  # fmt: skip
        assert forged.status_code == 400
        # Through the proxy: HSTS for a year, cookies only over HTTPS, and a login that works.
        form = requests.get(f"{url}/admin/login/", headers=PROXY, timeout=30)
        assert form.status_code == 200
        assert form.headers["Strict-Transport-Security"] == "max-age=31536000"
        csrf = form.cookies["csrftoken"]
        assert "; Secure" in cookie(form, "csrftoken")
        login = requests.post(
            f"{url}/admin/login/?next=/oauth/google/",
            data={"username": "owner", "password": "a long pass phrase",
                  "csrfmiddlewaretoken": csrf, "next": "/oauth/google/"},
            headers=PROXY | {"Origin": f"https://{PUBLIC}", "Cookie": f"csrftoken={csrf}"},
            allow_redirects=False, timeout=30,
        )  # fmt: skip
        assert (login.status_code, login.headers.get("Location")) == (302, "/oauth/google/")
        assert "; Secure" in cookie(login, "sessionid")
        assert "HttpOnly" in cookie(login, "sessionid")
        session = login.cookies["sessionid"]
        google = requests.get(f"{url}/oauth/google/", timeout=30,
                              headers=PROXY | {"Cookie": f"sessionid={session}"})  # fmt: skip
        assert google.status_code == 200
        # The redirect URI to register at Google names the public HTTPS address.
        expected = f'<code id="redirect-uri">https://{PUBLIC}/oauth/google/callback</code>'
        assert expected in google.text
