"""A parameter given more than once is a 400 naming it, on every endpoint: Django hands a view
the last value, so `?days=1&days=30` answered for 30 days and a form body
`dry_run=true&dry_run=false` started a real run. Which value the caller meant is not known;
nothing is read, queued or recorded."""

import pytest

from enrich.models import Site
from retention.models import RetentionRun
from tests.support.api import assert_400_naming_only

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

FORM = "application/x-www-form-urlencoded"
START, END = "start=2024-01-01T00:00:00Z", "end=2024-01-02T00:00:00Z"


def given(times: int) -> str:
    return f"given {times} times: give it once."


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/retention/history?days=1&days=30", "days"),
        ("/retention/history?status=failed&status=ok", "status"),
        ("/retention/history?type=archive&type=restore", "type"),
        ("/retention/metrics?days=1&days=30", "days"),
        ("/retention/alerts?days=30&days=30", "days"),
        ("/api/sites/?enabled=true&enabled=false", "enabled"),
        ("/api/enrichment/current?site=1&site=2", "site"),
        ("/api/carbon/series?hours=1&hours=48", "hours"),
        ("/api/carbon/series?site=1&site=1", "site"),
        ("/api/pricing/windows?hours=3&hours=1", "hours"),
        ("/api/pricing/windows?hours=3&hours=", "hours"),
        ("/api/pricing/windows?hours=3&within=24h&within=48h", "within"),
        ("/api/pricing/windows?hours=3&contiguous=true&contiguous=false", "contiguous"),
        ("/api/pricing/windows?hours=3&site=1&site=2", "site"),
        ("/api/pricing/slots?within=1h&within=48h", "within"),
        ("/api/plan?hours=3&kw=1&kw=2", "kw"),
        ("/api/plan?hours=1&hours=2", "hours"),
        ("/api/plan/loads?site=1&site=2", "site"),
        (f"/api/series?entity_id=sensor.a&entity_id=sensor.b&{START}&{END}", "entity_id"),
        (f"/api/series?entity_id=sensor.a&{START}&start=&{END}", "start"),
        ("/api/views/daily_energy_by_device?start=2024-01-01&start=2024-02-01", "start"),
        ("/api/views/hourly_room_activity?day_of_week=1&day_of_week=2", "day_of_week"),
        ("/api/views/hourly_room_activity?end=2024-01-01T00:00:00Z&end=2024-01-02", "end"),
        ("/api/views/daily_carbon_summary?region=a&region=b", "region"),
        # DRF's own: it wrote the last one's format (JSON for ?format=xml&format=json).
        ("/api/sites/?format=xml&format=json", "format"),
        ("/api/health/?format=json&format=json", "format"),
        ("/retention/history?format=api&format=json", "format"),
    ],
)
def test_a_query_parameter_given_more_than_once_is_a_400_naming_it(staff, url, name):
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    assert_400_naming_only(staff.get(url), name, given(url.count(f"{name}=")))


@pytest.mark.parametrize(
    ("url", "body", "name"),
    [
        ("/retention/archive", "dry_run=true&dry_run=false", "dry_run"),
        ("/retention/restore", "start_date=2024-01-01&start_date=2024-01-05&end_date=2024-01-06",
         "start_date"),
        ("/retention/restore", "start_date=2024-01-01&end_date=2024-01-02&database=a&database=b",
         "database"),
        ("/api/views/daily_energy_by_device/rebuild", "start=2024-01-01&start=2024-01-02"
         "&end=2024-01-03", "start"),
        ("/api/token/", "username=ops&username=root&password=x", "username"),
    ],
)  # fmt: skip
def test_a_form_field_given_more_than_once_is_a_400_naming_it(staff, url, body, name):
    assert_400_naming_only(staff.post(url, body, content_type=FORM), name, given(2))
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("url", "body", "name"),
    [
        ("/retention/archive", '{"dry_run": true, "dry_run": false}', "dry_run"),
        ("/retention/downsample-hourly", '{"dry_run": true, "start": "2024-01-01", '
         '"dry_run": false}', "dry_run"),
        ("/retention/downsample-daily", '{"start": "2024-01-01", "start": "2024-01-02", '
         '"start": "2024-01-03", "dry_run": true}', "start"),
        ("/retention/restore", '{"start_date": "2024-01-01", "end_date": "2024-01-02", '
         '"database": "a", "database": "b"}', "database"),
        ("/api/views/daily_energy_by_device/rebuild", '{"start": "2024-01-01", '
         '"end": "2024-01-02", "end": "2024-01-03"}', "end"),
        ("/api/token/", '{"username": "ops", "username": "root", "password": "x"}', "username"),
    ],
)  # fmt: skip
def test_a_json_key_given_more_than_once_is_a_400_naming_it(staff, url, body, name):
    # Python's json keeps the last: {"dry_run": true, "dry_run": false} was a real run (202).
    answer = staff.post(url, body, content_type="application/json")
    assert_400_naming_only(answer, name, given(body.count(f'"{name}"')))
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("query", "body", "name", "said"),
    [
        ("?start=2024-01-01&start=2024-01-02", {"end": "2024-01-03"}, "start", given(2)),
        ("?start=2024-01-01", {"start": "2024-01-02", "end": "2024-01-03"}, "start",
         "given in the query and in the body: give it once."),
    ],
)  # fmt: skip
def test_a_rebuild_takes_each_of_start_and_end_once(staff, query, body, name, said):
    url = f"/api/views/daily_energy_by_device/rebuild{query}"
    assert_400_naming_only(staff.post(url, body, format="json"), name, said)
    assert not RetentionRun.objects.exists()


def test_the_oauth_connect_page_refuses_a_site_given_twice(admin_client):
    home = Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    response = admin_client.post(
        "/oauth/google/connect", f"site={home.pk}&site={home.pk}", content_type=FORM
    )
    assert response.status_code == 400
    assert given(2) in response.content.decode()


def test_the_schema_refuses_a_format_given_twice(staff):
    schema = staff.get("/api/schema/?format=json&format=yaml")  # was the YAML schema
    assert schema.status_code == 400 and b"format" in schema.content
    assert given(2).encode() in schema.content


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("lang=de&lang=fr", given(2)),  # was the French schema
        ("lang=", "given empty"),  # was the English one, as for no lang
        ("lang=xx", "'xx' is not valid: expected one of af, ar,"),  # was the English one too
    ],
)
def test_the_schema_and_its_page_refuse_a_lang_they_cannot_use(staff, query, said):
    schema = staff.get(f"/api/schema/?format=json&{query}")
    assert_400_naming_only(schema, "lang", said)
    page = staff.get(f"/api/docs/?{query}")  # it asked the schema for the last one
    assert page.status_code == 400
    assert page["Content-Type"] == "text/plain; charset=utf-8"
    assert page.content.decode().startswith(f"lang: {said}")
