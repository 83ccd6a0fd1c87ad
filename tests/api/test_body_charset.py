"""The charset a body's Content-Type names: one Python does not know (`x-unknown`) is a 400
naming it, on the API (JSON, form, multipart) and on the pages, where Django ignored it and read
the body as UTF-8; one it knows (Latin-1) is read in it; one written as an RFC 2231 parameter
(`charset*=x-unknown''utf-8`), which Django cannot make a request of, is a 400 under gunicorn.
(A charset that is no text encoding, `rot13`, is test_bad_input_matrix.py's.)"""

import json

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from retention.models import RetentionRun
from tests.support.web import gunicorn

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

DRY_RUN = {
    "application/json": b'{"dry_run": true}',
    "application/x-www-form-urlencoded": b"dry_run=true",
    "multipart/form-data; boundary=b": (
        b'--b\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\ntrue\r\n--b--\r\n'
    ),
}


@pytest.mark.parametrize("content_type", list(DRY_RUN))
@pytest.mark.parametrize("charset", ["x-unknown", "utf-9", "undefined"])
def test_a_body_in_a_charset_python_cannot_read_is_a_400_naming_it(
    staff, home, content_type, charset
):
    # Was read as UTF-8: the archive run was queued (202) on a body nobody can say was UTF-8;
    # a form in Python's codec `undefined` (which encodes nothing) was a 500.
    answer = staff.generic("POST", "/retention/archive", DRY_RUN[content_type],
                           content_type=f"{content_type}; charset={charset}")  # fmt: skip
    assert answer.status_code == 400, answer.content
    assert answer.json() == {
        "detail": f'Unsupported charset "{charset}" in request Content-Type header.'
    }
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_in_latin_1_is_read_in_latin_1(content_type):
    get_user_model().objects.create_user("jürgen", password="grüße-123")
    login = {"username": "jürgen", "password": "grüße-123"}
    if content_type == "application/json":
        body = json.dumps(login, ensure_ascii=False).encode("latin-1")
    else:  # the form's bytes percent-encoded as Latin-1, as a browser posting in it sends them
        body = b"username=j%FCrgen&password=gr%FC%DFe-123"
    answer = APIClient().generic("POST", "/api/token/", body,
                                 content_type=f"{content_type}; charset=latin-1")  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert answer.json()["token"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"])  # fmt: skip
@pytest.mark.parametrize("charset", ["x-unknown", "undefined"])
def test_a_form_posted_to_a_page_in_a_charset_python_cannot_read_is_a_400_naming_it(
    content_type, charset
):
    # Was read as UTF-8: the login form was checked (and its password tried) as if it were; in
    # Python's codec `undefined` (which encodes nothing) a 500.
    get_user_model().objects.create_user("ops", password="pw-ops-123")
    fields = {"username": "ops", "password": "pw-ops-123"}
    if content_type.startswith("multipart"):
        body = b"".join(b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                        % (k.encode(), v.encode()) for k, v in fields.items()) + b"--b--\r\n"  # fmt: skip
    else:
        body = b"username=ops&password=pw-ops-123"
    browser = Client()
    page = browser.generic(
        "POST", "/login/", body, content_type=f"{content_type}; charset={charset}"
    )
    assert page.status_code == 400
    said = f'Content-Type: charset "{charset}" is no text encoding; send the form in UTF-8.'
    assert page.content.decode() == said
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db(transaction=True)  # gunicorn's own connection sees the user
def test_a_content_type_django_cannot_read_is_a_400_naming_it_under_gunicorn(tmp_path):
    # Django raised ValueError ("Invalid encoding 'x-unknown' for RFC 2231 param.") as it made
    # the request: gunicorn's HTML 500 on every URL, health and GETs included.
    user = get_user_model().objects.create_user("ops", is_staff=True)
    token = f"Token {Token.objects.create(user=user).key}"
    content_type = "application/json; charset*=x-unknown''utf-8"
    said = ("The Content-Type header cannot be read (Invalid encoding 'x-unknown' for RFC 2231 "
            "param); nothing was done.")  # fmt: skip
    with gunicorn(ARCHIVE_LOCAL_DIR=str(tmp_path / "archive")) as (url, _):
        for method, path in (("GET", "/api/health/"), ("POST", "/retention/archive")):
            answer = requests.request(method, f"{url}{path}", data=b'{"dry_run": true}',
                                      headers={"Authorization": token,
                                               "Content-Type": content_type}, timeout=60)  # fmt: skip
            assert answer.status_code == 400, (path, answer.text[:200])
            assert answer.json() == {"Content-Type": said}
        page = requests.post(f"{url}/login/", data=b"username=ops&password=x",
                             headers={"Content-Type": content_type}, timeout=60)  # fmt: skip
        assert (page.status_code, page.text) == (400, said)
        assert page.headers["Content-Type"] == "text/plain; charset=utf-8"
        # A charset Python knows, written so, is read.
        fine = requests.get(f"{url}/api/health/", headers={"Authorization": token,
                            "Content-Type": "text/plain; charset*=utf-8''utf-8"}, timeout=60)  # fmt: skip
        assert fine.status_code in (200, 503), fine.text[:200]
    assert not RetentionRun.objects.exists()
