"""The charset a body's Content-Type names: one Python does not know (`x-unknown`) is a 400
naming it, on the API (JSON, form, multipart) and on the pages, where Django ignored it and read
the body as UTF-8; one it knows (Latin-1) is read in it. (A charset that is no text encoding,
`rot13`, is test_bad_input_matrix.py's.)"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from retention.models import RetentionRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

DRY_RUN = {
    "application/json": b'{"dry_run": true}',
    "application/x-www-form-urlencoded": b"dry_run=true",
    "multipart/form-data; boundary=b": (
        b'--b\r\nContent-Disposition: form-data; name="dry_run"\r\n\r\ntrue\r\n--b--\r\n'
    ),
}


@pytest.mark.parametrize("content_type", list(DRY_RUN))
@pytest.mark.parametrize("charset", ["x-unknown", "utf-9"])
def test_a_body_in_a_charset_python_does_not_know_is_a_400_naming_it(
    staff, home, content_type, charset
):
    # Was read as UTF-8: the archive run was queued (202) on a body nobody can say was UTF-8.
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
def test_a_form_posted_to_a_page_in_an_unknown_charset_is_a_400_naming_it(content_type):
    # Was read as UTF-8: the login form was checked (and its password tried) as if it were.
    get_user_model().objects.create_user("ops", password="pw-ops-123")
    fields = {"username": "ops", "password": "pw-ops-123"}
    if content_type.startswith("multipart"):
        body = b"".join(b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                        % (k.encode(), v.encode()) for k, v in fields.items()) + b"--b--\r\n"  # fmt: skip
    else:
        body = b"username=ops&password=pw-ops-123"
    browser = Client()
    page = browser.generic(
        "POST", "/login/", body, content_type=f"{content_type}; charset=x-unknown"
    )
    assert page.status_code == 400
    said = 'Content-Type: charset "x-unknown" is no text encoding; send the form in UTF-8.'
    assert page.content.decode() == said
    assert "_auth_user_id" not in browser.session
