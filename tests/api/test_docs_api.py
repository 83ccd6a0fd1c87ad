"""What docs/api.md states of the API that no other test reads from the page, asked of the real
endpoints (PostgreSQL, Redis, InfluxDB): the fields a queueing request cannot do without, left
out and sent empty, are told as the page quotes; the schema's 400 in its own YAML names the
parameter with its message, as every endpoint's, and its other errors are text too; the price slots end where the look-ahead
does, `known_until` with them, and the carbon forecast lists the slots starting in its own;
a read-only session's 403 speaks of its user, not of a token."""

import re
from datetime import datetime, timedelta

import pytest

from retention.models import RetentionRun
from tests.support.api import assert_400_naming_only
from tests.support.doc_pages import ROOT, flat

pytestmark = pytest.mark.django_db

REBUILD = "/api/views/daily_energy_by_device/rebuild"
RESTORE = "/retention/restore"
DAYS = {"start": "2024-01-01", "end": "2024-01-02", "start_date": "2024-01-01",
        "end_date": "2024-01-02"}  # fmt: skip


def needed_fields() -> list[tuple[str, str]]:
    """(url, field) of each field the page says a request cannot do without: "the fields a
    request cannot do without, a view rebuild's `start` and `end` and a restore's ..."."""
    said = re.search(r"the fields a request cannot do without, (.*?) \(", flat("docs/api.md"))
    assert said, "docs/api.md no longer names the fields a request cannot do without"
    found = []
    for what, names in re.findall(r"a (view rebuild|restore)'s ((?:`\w+`(?: and )?)+)", said[1]):
        url = REBUILD if what == "view rebuild" else RESTORE
        found += [(url, name) for name in re.findall(r"`(\w+)`", names)]
    return found


NEEDED = needed_fields()


def test_the_page_names_the_fields_of_both_endpoints():
    assert {url for url, _ in NEEDED} == {REBUILD, RESTORE} and len(NEEDED) == 4, NEEDED


@pytest.mark.parametrize(("url", "name"), NEEDED)
def test_a_needed_field_left_out_is_required_as_the_page_quotes(staff, home, url, name):
    """ "where one left out is `"Required: ..."`": the restore's said DRF's "This field is
    required.", the rebuild's "Required: send a local date as YYYY-MM-DD."."""
    others = {key: value for key, value in DAYS.items() if key != name}
    fields = {"start", "end"} if url == REBUILD else {"start_date", "end_date"}
    response = staff.post(url, {k: v for k, v in others.items() if k in fields}, format="json")
    assert_400_naming_only(response, name, "Required: send ")
    assert "YYYY-MM-DD" in response.json()[name]
    assert not RetentionRun.objects.exists()


def test_the_empty_start_the_page_quotes_is_what_the_rebuild_answers(staff, home):
    response = staff.post(REBUILD, {"start": "", "end": "2024-01-02"}, format="json")
    assert response.status_code == 400
    quote = f'`{{"start": "{response.json()["start"]}"}}`'
    assert quote in flat("docs/api.md")


@pytest.mark.parametrize("query", ["lang=xx", "lang=", "format=xml"])
def test_the_schema_in_yaml_names_the_parameter_with_its_message(staff, query):
    """ "Invalid parameters get HTTP 400 with a message naming the parameter": the schema's
    own YAML wrote it as a mapping of drf-spectacular's, `lang: {string: ..., code: invalid}`,
    where the same request with format=json says `{"lang": "..."}`."""
    import yaml

    answer = staff.get(f"/api/schema/?{query}")
    name = query.partition("=")[0]
    assert answer.status_code == 400
    said = yaml.safe_load(answer.content)
    assert list(said) == [name] and isinstance(said[name], str), said
    if name == "lang":
        as_json = staff.get(f"/api/schema/?format=json&{query}").json()
        assert said == as_json
        asked = staff.get(f"/api/schema/?{query}", HTTP_ACCEPT="application/json")
        assert asked["Content-Type"] == "application/json" and asked.json() == as_json
        asked = staff.get(f"/api/schema/?{query}", HTTP_ACCEPT="application/yaml")
        assert asked["Content-Type"].startswith("application/yaml")
        assert yaml.safe_load(asked.content) == as_json


@pytest.mark.parametrize(
    ("method", "token", "accept", "status", "said"),
    [
        ("POST", None, "*/*", 405, 'Method "POST" not allowed.'),
        ("GET", "nope", "*/*", 401, "Invalid token."),
        ("GET", None, "text/html", 406, "Could not satisfy the request Accept header."),
    ],
)
def test_the_schemas_other_errors_in_yaml_are_text_too(staff, method, token, accept, status, said):
    """Its 401, 405 and 406 were `detail: {string: ..., code: ...}` in YAML, where JSON says
    `{"detail": "..."}`."""
    import yaml

    if token:
        staff.force_authenticate(None)
        staff.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    answer = staff.generic(method, "/api/schema/?lang=de", HTTP_ACCEPT=accept)
    assert answer.status_code == status
    assert answer["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(answer.content) == {"detail": said}


@pytest.mark.influxdb
def test_the_price_slots_end_where_within_asks_and_known_until_is_their_end(collected, api):
    """`GET /api/pricing/slots`: its `known_until` is the end of the last slot listed, which is
    the stored horizon only when that comes before the look-ahead (48 h, or `?within=`): with
    `within=1h` it is where that hour's slots end (the page said "to the known horizon")."""
    from collectors.pricing.store import AHEAD

    row = next(line for line in (ROOT / "docs" / "api.md").read_text().splitlines()
               if line.startswith("| `GET /api/pricing/slots"))  # fmt: skip
    assert f"up to {AHEAD.total_seconds() / 3600:g} h ahead" in row and "`?within=`" in row
    stored = api.get("/api/pricing/slots").json()
    short = api.get("/api/pricing/slots?within=1h").json()
    for answer in (stored, short):
        assert answer["known_until"] == answer["slots"][-1]["end"]
    assert short["known_until"] < stored["known_until"]
    now = datetime.fromisoformat(short["now"])
    assert datetime.fromisoformat(short["slots"][-1]["start"]) < now + timedelta(hours=1)


@pytest.mark.influxdb
def test_the_carbon_forecast_is_of_the_slots_running_or_starting_within_the_look_ahead(
    collected, api
):
    """`GET /api/carbon/series`'s `forecast`: the stored slot running now and those starting up
    to FORECAST_AHEAD (48 h): a slot stored beyond it is not listed, nor one over before now."""
    from django.conf import settings

    from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH
    from collectors.carbon.series_api import FORECAST_AHEAD
    from enrich.influx import get_timeseries
    from enrich.readings import Reading
    from tests.support.plan import NOW

    row = next(line for line in (ROOT / "docs" / "api.md").read_text().splitlines()
               if line.startswith("| `GET /api/carbon/series"))  # fmt: skip
    ahead = FORECAST_AHEAD.total_seconds() / 3600
    assert f"running now (by its stored slot length) to the slots starting up to {ahead:g} h" in row
    tags = {"provider": "uk_carbon_intensity", "region": "South England"}
    inside, beyond = NOW + FORECAST_AHEAD - timedelta(minutes=10), NOW + FORECAST_AHEAD
    running, over = NOW - timedelta(minutes=25), NOW - timedelta(minutes=40)  # 30 min each
    get_timeseries().write(settings.INFLUXDB_DATABASE, [
        Reading(FORECAST_MEASUREMENT, {GCO2_KWH: 99.0, "slot_minutes": 30.0}, moment, tags)
        for moment in (over, running, inside, beyond)])  # fmt: skip
    answer = api.get("/api/carbon/series").json()
    times = [datetime.fromisoformat(point["time"]) for point in answer["forecast"]]
    assert times[-1] == inside and beyond not in times
    assert times[0] == running and over not in times  # 11:45-12:15 runs at 12:10, 11:30 is over


def test_a_read_only_user_signed_in_with_a_session_is_not_told_of_a_token(home):
    """ "A read-only token asking to change something gets 403 ("This token may only read")":
    a read-only user signed in with a session (the browsable API after /login/) was told the
    same of a token it does not have; the page gives the words it gets."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client()
    browser.force_login(get_user_model().objects.create_user("reader"))
    answer = browser.post("/retention/archive", {"dry_run": "true"})
    assert answer.status_code == 403
    said = answer.json()["detail"]
    assert said.startswith("User 'reader' may only read.") and "token" not in said.lower()
    shown = said.partition(".")[0].replace("'reader'", "'<name>'")
    assert f'("{shown}")' in flat("docs/api.md")
    assert not RetentionRun.objects.exists()


def test_the_docs_pages_other_errors_say_what_is_wrong_in_plain_text(staff):
    # Its HTML renderer wrote only "401 Unauthorized" of a bad token, "405 Method Not Allowed".
    from rest_framework.test import APIClient

    answer = APIClient(HTTP_AUTHORIZATION="Token nope").get("/api/docs/")
    assert (answer.status_code, answer.content.decode()) == (401, "Invalid token.")
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["WWW-Authenticate"] == "Token"
    answer = staff.post("/api/docs/")
    assert (answer.status_code, answer.content.decode()) == (405, 'Method "POST" not allowed.')
    assert "GET" in answer["Allow"]
