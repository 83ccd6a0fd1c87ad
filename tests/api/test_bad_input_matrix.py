"""Every parameter of every endpoint a user reaches, sent hostile values: each value is a 4xx
whose body names the parameter, and nothing is recorded, created or queued.

The values (tests/support/bad_input.py) are blanks, 10,000 digits, NUL, a byte that is no
UTF-8, other scripts' digits, NaN/Infinity/1e309, numbers past 2^63, negative and fractional
numbers, impossible and far dates, times without a zone or with a +25:00 offset, and, in JSON
bodies, values of the wrong type (lists, objects, nesting, numbers). Each test sends all the
values of one parameter and lists every wrong answer at once. The specific cases of
test_bad_input.py and test_repeated_parameters.py (repeated parameters, the messages' words)
are not repeated here.

Fields of the POSTs that change or queue something: the body and the query string are read
together, each name once, and a name the endpoint does not take is refused: `{"dryrun": true}`
or `?dry_run=true` were dropped before, and the run was real.

Then the pages (status, setup form, calendar connect button), a form in a charset that is no
text encoding, a token with a NUL, DRF's own `?format=`, and the cost of refusing a long
duration.
"""

import json
from io import BytesIO
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from enrich.models import Site
from retention.models import RetentionRun
from tests.support import bad_input as hostile
from tests.support.api import assert_400_naming_only

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]


FORM = "application/x-www-form-urlencoded"
SERIES = {"entity_id": "sensor.x", "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}
DAYS = {"start": "2024-01-01", "end": "2024-01-02"}

# (path, the other parameters, parameter, the values it must refuse)
GETS = [
    ("/api/sites/", {}, "enabled", hostile.BOOLEAN),
    ("/api/enrichment/current", {}, "site", hostile.POSITIVE_WHOLE),
    ("/api/carbon/series", {}, "site", hostile.POSITIVE_WHOLE),
    ("/api/carbon/series", {}, "hours", [*hostile.POSITIVE_WHOLE, "169"]),
    ("/api/pricing/windows", {"hours": "3"}, "within", hostile.DURATION),
    ("/api/pricing/windows", {"within": "24h"}, "hours", [*hostile.POSITIVE, "0", "25"]),
    ("/api/pricing/windows", {"hours": "3"}, "most_expensive", hostile.BOOLEAN),
    ("/api/pricing/slots", {}, "within", hostile.DURATION),
    ("/api/pricing/slots", {}, "site", hostile.POSITIVE_WHOLE),
    ("/api/plan", {}, "hours", [*hostile.POSITIVE, hostile.HUGE, "0"]),
    ("/api/plan", {"hours": "3"}, "carbon_price", [*hostile.POSITIVE, hostile.HUGE]),
    ("/api/plan", {"hours": "3"}, "kw", [*hostile.POSITIVE, hostile.HUGE, "0"]),
    ("/api/plan", {"hours": "3"}, "pareto", hostile.BOOLEAN),
    # The parameters both planning endpoints take.
    *(
        (path, {"hours": "3"}, name, values)
        for path in ("/api/pricing/windows", "/api/plan")
        for name, values in (
            ("before", hostile.MOMENT),
            ("contiguous", hostile.BOOLEAN),
            ("penalty_percent", hostile.POSITIVE),
            ("max_windows", hostile.POSITIVE_WHOLE),
            ("site", hostile.POSITIVE_WHOLE),
        )
    ),
    ("/api/plan/loads", {}, "site", hostile.POSITIVE_WHOLE),
    ("/api/series", SERIES, "entity_id", hostile.TEXT),
    ("/api/series", SERIES, "start", hostile.MOMENT),
    ("/api/series", SERIES, "end", hostile.MOMENT),
    ("/api/views/daily_energy_by_device", {}, "entity_id", hostile.TEXT),
    ("/api/views/daily_energy_by_device", {}, "start", hostile.DAY),
    ("/api/views/daily_energy_by_device", {}, "end", hostile.DAY),
    ("/api/views/hourly_room_activity", {}, "area", hostile.TEXT),
    ("/api/views/hourly_room_activity", {}, "start", hostile.DAY_OR_MOMENT),
    ("/api/views/hourly_room_activity", {}, "end", hostile.DAY_OR_MOMENT),
    ("/api/views/hourly_room_activity", {}, "day_of_week", [*hostile.WHOLE, "7", "-1"]),
    ("/api/views/daily_carbon_summary", {}, "region", hostile.TEXT),
    ("/api/views/daily_carbon_summary", {}, "start", hostile.DAY),
    ("/api/views/daily_carbon_summary", {}, "end", hostile.DAY),
    ("/retention/metrics", {}, "days", [*hostile.POSITIVE_WHOLE, "3651"]),
    ("/retention/alerts", {}, "days", [*hostile.POSITIVE_WHOLE, "3651"]),
    ("/retention/history", {}, "days", [*hostile.POSITIVE_WHOLE, "366"]),
    ("/retention/history", {}, "type", hostile.CHOICE),
    ("/retention/history", {}, "status", hostile.CHOICE),
]

DOWNSAMPLE = {**DAYS, "dry_run": "true"}
RESTORE = {"start_date": "2024-01-01", "end_date": "2024-01-02"}
# (path, the other fields, field, form values it must refuse, JSON values it must refuse)
POSTS = [
    ("/api/views/daily_energy_by_device/rebuild", DAYS, "start", hostile.DAY, hostile.NOT_A_DAY),
    ("/api/views/daily_energy_by_device/rebuild", DAYS, "end", hostile.DAY, hostile.NOT_A_DAY),
    ("/api/views/daily_energy_by_device/rebuild", DAYS, "allow_fewer_points", hostile.BOOLEAN,
     hostile.NOT_A_FLAG),
    *(
        (url, DOWNSAMPLE, name, values, wrong)
        for url in ("/retention/downsample-hourly", "/retention/downsample-daily")
        for name, values, wrong in (
            ("start", hostile.DAY, hostile.NOT_A_DAY),
            ("end", hostile.DAY, hostile.NOT_A_DAY),
            ("dry_run", hostile.BOOLEAN, hostile.NOT_A_FLAG),
        )
    ),
    ("/retention/archive", {}, "dry_run", hostile.BOOLEAN, hostile.NOT_A_FLAG),
    ("/retention/restore", RESTORE, "start_date", hostile.DAY, hostile.NOT_A_DAY),
    ("/retention/restore", RESTORE, "end_date", hostile.DAY, hostile.NOT_A_DAY),
    ("/retention/restore", RESTORE, "database", [hostile.NUL, hostile.LONG, "nope"],
     [[], {}, ["enrich_restore"], "a\x00b"]),
    # A long name is a failed login (counted for the lockout): test_bad_input.py.
    ("/api/token/", {"password": "x"}, "username", [hostile.NUL], [[], {}, "a\x00b"]),
    ("/api/token/", {"username": "ops"}, "password", [hostile.NUL], [[], {}, "a\x00b"]),
]  # fmt: skip
CHANGING = {
    "/api/views/daily_energy_by_device/rebuild": ("start", "end", "allow_fewer_points"),
    "/retention/downsample-hourly": ("start", "end", "dry_run"),
    "/retention/downsample-daily": ("start", "end", "dry_run"),
    "/retention/archive": ("dry_run",),
    "/retention/restore": ("start_date", "end_date", "database"),
}
BASES = {url: base for url, base, *_ in POSTS}


def query(fields: dict[str, str]) -> str:
    """Fields, already percent-encoded, as a query string or form body."""
    return "&".join(f"{name}={value}" for name, value in fields.items())


def wrong(response, name: str) -> str | None:
    """What is wrong with `response` to a request whose `name` is bad (None: a 400 naming it)."""
    if response.status_code != 400:
        return f"{response.status_code} {response.content[:200]!r}"
    if name not in response.json():
        return f"400 naming {list(response.json())}"
    return None


def assert_all_refused(answers: dict[str, str | None], before: hostile.Counts) -> None:
    """Every answer right (`answers`: what was sent -> what was wrong, None when nothing), and
    nothing recorded, created or queued since `before`."""
    shown = [f"{sent if len(sent) < 90 else f'{sent[:60]}…{sent[-20:]}'}: {said}"
             for sent, said in answers.items() if said]  # fmt: skip
    assert not shown, "\n".join(shown)
    assert hostile.counts() == before


@pytest.mark.parametrize(
    ("path", "others", "name", "values"), GETS, ids=[f"{p} {n}" for p, _, n, _ in GETS]
)
def test_every_query_parameter_refuses_hostile_values(staff, home, path, others, name, values):
    before = hostile.counts()
    answers = {
        value: wrong(staff.get(f"{path}?{query({**others, name: value})}"), name)
        for value in values
    }
    assert_all_refused(answers, before)


@pytest.mark.parametrize(
    ("path", "others", "name", "values", "wrong_types"),
    POSTS,
    ids=[f"{p} {n}" for p, _, n, _, _ in POSTS],
)
def test_every_body_field_refuses_hostile_values(
    staff, home, path, others, name, values, wrong_types
):
    before = hostile.counts()
    answers = {
        f"form {value}": wrong(staff.post(path, query({**others, name: value}), content_type=FORM),
                               name)
        for value in values
    }  # fmt: skip
    for value in [*(unquote(v) for v in values), *wrong_types]:
        body = json.dumps({**others, name: value})
        answers[f"json {body}"] = wrong(
            staff.post(path, body, content_type="application/json"), name
        )
    assert_all_refused(answers, before)


@pytest.mark.parametrize("path", BASES)
def test_a_body_that_is_no_json_or_of_another_type_is_refused(staff, home, path):
    before = hostile.counts()
    not_json = staff.post(path, '{"start": "2024-01-01",', content_type="application/json")
    assert not_json.status_code == 400 and "JSON parse error" in not_json.json()["detail"]
    for content_type in ("text/plain", "application/xml", "text/csv"):
        other = staff.post(
            path, query(BASES[path] or {"dry_run": "true"}), content_type=content_type
        )
        assert other.status_code == 415, (content_type, other.content)
        assert content_type in other.json()["detail"]
    assert hostile.counts() == before


@pytest.mark.parametrize("path", BASES)
def test_a_changing_endpoint_refuses_other_methods(staff, home, path):
    before = hostile.counts()
    for method in ("get", "put", "patch", "delete"):
        answer = getattr(staff, method)(path, BASES[path], format="json")
        assert answer.status_code == 405, (method, answer.content)
    assert hostile.counts() == before


@pytest.mark.parametrize("path", dict.fromkeys(path for path, *_ in GETS))
def test_a_reading_endpoint_refuses_changing_methods(staff, home, path):
    before = hostile.counts()
    for method in ("post", "put", "patch", "delete"):
        answer = getattr(staff, method)(path, {"dry_run": True}, format="json")
        assert answer.status_code == 405, (method, answer.content)
    assert hostile.counts() == before


# --- Fields of the POSTs that change or queue something ----------------------------------------
@pytest.mark.parametrize("path", CHANGING)
@pytest.mark.parametrize("field", ["dryrun", "dry-run", "DRY_RUN", "start_day", "bogus"])
def test_a_field_the_endpoint_does_not_take_is_a_400_naming_it(staff, home, path, field):
    # Was dropped: {"dryrun": true} started a real run (archive, downsample) with a 202.
    before = hostile.counts()
    fields = {**BASES[path], field: "true"}
    said = f"is not a field of POST {path}; use {', '.join(CHANGING[path])}."
    assert_400_naming_only(staff.post(path, fields, format="json"), field, said)
    assert_400_naming_only(staff.post(path, query(fields), content_type=FORM), field, said)
    assert_400_naming_only(staff.post(f"{path}?{field}=true", BASES[path], format="json"),
                           field, said)  # fmt: skip
    upload = staff.post(path, {**BASES[path], field: BytesIO(b"2024-01-01")})  # multipart
    assert_400_naming_only(upload, field, said)
    assert hostile.counts() == before


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-hourly"])
def test_dry_run_in_the_query_string_is_read(staff, home, path):
    # Was ignored: POST /retention/archive?dry_run=true started a real archive run.
    sent = hostile.sent_tasks()
    answer = staff.post(f"{path}?dry_run=true")
    assert answer.status_code == 202, answer.content
    assert answer.json()["dry_run"] is True
    assert RetentionRun.objects.get().details["dry_run"] is True
    assert hostile.sent_tasks() == sent + 1  # what the refusals above are checked against


@pytest.mark.parametrize("path", ["/retention/archive", "/retention/downsample-daily"])
def test_a_field_in_the_query_and_in_the_body_is_a_400_naming_it(staff, home, path):
    before = hostile.counts()
    answer = staff.post(f"{path}?dry_run=true", {"dry_run": False}, format="json")
    assert_400_naming_only(answer, "dry_run", "given in the query and in the body: give it once.")
    assert hostile.counts() == before


def test_a_restore_reads_its_days_from_the_query_string(staff, home):
    answer = staff.post("/retention/restore?start_date=2024-01-01&end_date=2024-01-03")
    assert answer.status_code == 202, answer.content
    assert (answer.json()["start_date"], answer.json()["end_date"]) == ("2024-01-01", "2024-01-03")


# --- Pages ------------------------------------------------------------------------------------
STATUS_SITES = [hostile.SPACE, hostile.NUL, hostile.NOT_UTF8, hostile.ARABIC_12, hostile.HUGE,
                hostile.LONG, "abc", "-1", "0", "1.0", "%2B1"]  # fmt: skip


def test_the_status_page_refuses_a_site_that_is_none(admin_client, home):
    for value in STATUS_SITES:
        page = admin_client.get(f"/?site={value}")
        assert page.status_code == 400, (value, page.status_code)
        assert '<p class="problem message">site: there is no site ' in page.content.decode(), value


def test_the_calendar_connect_button_refuses_a_site_that_is_no_id(admin_client, home):
    for value in hostile.POSITIVE_WHOLE:
        page = admin_client.post("/oauth/google/connect", f"site={value}", content_type=FORM)
        assert page.status_code == 400, (value, page.status_code)
        assert "site: " in page.content.decode(), value


SETUP = {
    "name": "Flat",
    "latitude": "51.5",
    "longitude": "-0.12",
    "timezone": "Europe/London",
    "country": "GB",
    "influxdb_url": "http://127.0.0.1:8186",
    "ha_database": "home_assistant",
    "action": "create",  # the create button: each value is refused by its field, not the action
}
SETUP_FIELDS = [
    # Other scripts' digits and "1_0" were read as numbers (Django's FloatField: float()).
    ("latitude", [*hostile.COMMON, *hostile.OTHER_DIGITS, "-Infinity", hostile.TOO_BIG_FLOAT,
                  hostile.HUGE, "91", "1,5", "0x1"]),
    ("longitude", [*hostile.COMMON, *hostile.OTHER_DIGITS, hostile.TOO_BIG_FLOAT, hostile.HUGE,
                   "-181"]),
    ("timezone", [hostile.SPACE, hostile.LONG, hostile.NUL, hostile.NOT_UTF8, "Mars/Base",
                  "..%2F..%2Fetc%2Fpasswd", "UTC%2B25"]),
    ("country", [hostile.LONG, hostile.NUL, hostile.NOT_UTF8, "XX", "gb"]),
    ("influxdb_url", [hostile.LONG, hostile.NUL, hostile.NOT_UTF8, "ftp://host",
                      "http://host:99999", "http://"]),
    ("name", [hostile.SPACE, hostile.LONG, hostile.NUL]),
    ("ha_database", [hostile.NUL, hostile.LONG]),
    ("providers", ["nope", "OCTOPUS", hostile.NUL, hostile.NOT_UTF8, hostile.LONG]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "values"), SETUP_FIELDS, ids=[n for n, _ in SETUP_FIELDS])
def test_the_setup_form_refuses_hostile_values_and_creates_nothing(admin_client, name, values):
    for value in values:
        page = admin_client.post("/setup/", query({**SETUP, name: value}), content_type=FORM)
        assert page.status_code == 400, (value, page.status_code)
        assert name in page.context["form"].errors, (value, page.context["form"].errors)
    assert not Site.objects.exists()


MULTIPART_SITE = b'--b\r\nContent-Disposition: form-data; name="site"\r\n\r\n1\r\n--b--\r\n'


@pytest.mark.parametrize("charset", ["rot13", "hex_codec", "bz2_codec"])
@pytest.mark.parametrize(
    "path", ["/login/", "/admin/login/", "/logout/", "/setup/", "/", "/oauth/google/connect"]
)
def test_a_form_in_a_charset_that_is_no_text_encoding_is_a_400(path, charset):
    # Was a 500 (Django's multipart parser: LookupError) on every page taking a POST, the
    # login pages too for anyone holding a CSRF cookie: the CSRF check reads the form first.
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")  # the CSRF cookie; the form's token is not sent
    if path not in ("/login/", "/admin/login/"):
        browser.force_login(get_user_model().objects.create_superuser("root"))
    for body, content_type in ((MULTIPART_SITE, f"multipart/form-data; charset={charset}; boundary=b"),
                               (b"site=1", f"{FORM}; charset={charset}")):  # fmt: skip
        page = browser.generic("POST", path, body, content_type=content_type)
        assert page.status_code == 400, (content_type, page.status_code)
        if content_type.startswith("multipart"):
            said = f'charset "{charset}" is no text encoding; send the form in UTF-8.'
            assert said in page.content.decode()
    assert not Site.objects.exists()


def test_the_api_still_refuses_such_a_charset_in_its_own_words(staff, home):
    answer = staff.generic("POST", "/retention/archive", MULTIPART_SITE,
                           content_type="multipart/form-data; charset=rot13; boundary=b")  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": 'Unsupported charset "rot13" in request Content-Type header.'
    }
    assert not RetentionRun.objects.exists()


# --- Headers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["a\x00b", "\x00", f"{'0' * 40}\x00"])
def test_a_token_with_a_nul_is_an_invalid_token(home, key):
    # Was a 500 on every endpoint, health included (PostgreSQL refuses a NUL in the query).
    # Gunicorn refuses such a header before Django; other servers pass it on.
    before = hostile.counts()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    for answer in (client.get("/api/health/"), client.get("/api/sites/"),
                   client.post("/retention/archive", {"dry_run": True}, format="json")):  # fmt: skip
        assert (answer.status_code, answer.json()) == (401, {"detail": "Invalid token."})
    assert hostile.counts() == before


# --- The cost of a refusal ---------------------------------------------------------------------
@pytest.mark.timeout(5)
def test_a_long_duration_is_refused_without_quadratic_work(staff, home):
    # Was quadratic in the length: 20,000 digits in `within` took about 7 s of CPU to refuse
    # (4,000, what gunicorn's request line lets through, a quarter of a second per request,
    # for any read-only token). Now a few milliseconds: the 5 s limit only catches the old
    # behaviour, with a margin of a thousand; it is no speed target.
    for within in ("9" * 20_000, "1h" * 5_000 + "9" * 10_000):
        answer = staff.get("/api/pricing/windows", {"hours": "1", "within": within})
        assert_400_naming_only(answer, "within", "expected a duration such as 24h")


# --- DRF's own ?format= --------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/health/", "/api/sites/", "/retention/history"])
def test_a_format_no_renderer_writes_is_a_400_naming_it(staff, home, url):
    # Was DRF's 404 {"detail": "Not found."}, as if the URL did not exist (a monitor asking
    # /api/health/?format=xml was told health does not exist).
    for value in ("xml", "csv", "JSON", "%00"):
        answer = staff.get(f"{url}?format={value}")
        assert_400_naming_only(answer, "format", "is not valid: expected one of json, api.")
    assert staff.get(f"{url}?format=json").status_code == 200
    schema = staff.get("/api/schema/?format=xml")
    assert schema.status_code == 400 and b"expected one of yaml, json." in schema.content
