"""Bad input is a 400 naming the parameter, never a 500: huge durations, times outside what
InfluxDB can hold, ids too large for the database, a non-numeric OAuth site. Commands taking
dates stop with an error naming the value instead of a traceback.

The test client raises a view's exception, so a 500 would fail these tests with its traceback.
"""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from enrich.models import Site
from retention.models import RetentionRun
from tests.support.api import assert_400_naming_only

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

FAR_PAST, FAR_FUTURE = "0001-01-01", "9999-12-31"
# What the refusals say: the days InfluxDB can hold, the largest id the database can hold.
YEARS = "from 1900-01-01 to 2199-12-31"
A_TIME = f"a time {YEARS}"
A_WHOLE_NUMBER = "a whole number up to 9223372036854775807"
AT_MOST_366_DAYS = "a duration of at most 366d"


def assert_400_naming(response, parameter: str, words: str) -> None:
    assert response.status_code == 400, response.content
    assert words in str(response.json()[parameter]), response.json()


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ("within=99999999999999999999d", "within", AT_MOST_366_DAYS),
        ("within=367d", "within", AT_MOST_366_DAYS),
        (f"within={'9' * 400}h", "within", AT_MOST_366_DAYS),
        ("before=9999-12-31T23:59:59Z", "before", A_TIME),
        ("before=0001-01-01T00:00:00%2B14:00", "before", A_TIME),
        ("site=99999999999999999999", "site", A_WHOLE_NUMBER),
        ("site=0", "site", "'0' is not valid: expected a number of 1 or more."),
    ],
)
def test_pricing_windows_refuses_extreme_values(staff, query, parameter, words):
    response = staff.get(f"/api/pricing/windows?hours=3&{query}")
    assert_400_naming(response, parameter, words)


def test_enrichment_current_refuses_a_site_id_too_large_for_the_database(staff):
    response = staff.get("/api/enrichment/current?site=99999999999999999999")
    assert_400_naming(response, "site", A_WHOLE_NUMBER)


@pytest.mark.parametrize(
    ("path", "parameter", "limits"),
    [
        ("/retention/history", "days", "a number from 1 to 365"),
        ("/retention/metrics", "days", "a number from 1 to 3650"),
        ("/api/carbon/series", "hours", "a number from 1 to 168"),
        ("/api/views/hourly_room_activity", "day_of_week", "a number from 0 to 6"),
    ],
)
@pytest.mark.parametrize("huge", ["99999999999999999999", "9" * 5000, "-99999999999999999999"])
def test_a_huge_number_is_told_the_parameters_own_limits(staff, path, parameter, limits, huge):
    # Was "expected a whole number up to 9223372036854775807" (a 5,000-digit one: "a whole
    # number"), as if any number to 2^63 - 1 would do; /retention/history's test said so.
    response = staff.get(path, {parameter: huge})
    assert_400_naming(response, parameter, f"is not valid: expected {limits}.")


@pytest.mark.parametrize("huge", ["99999999999999999999", "9" * 5000])
def test_a_huge_site_id_is_told_the_largest_id(staff, huge):
    assert_400_naming(staff.get("/api/plan/loads", {"site": huge}), "site", A_WHOLE_NUMBER)


EXISTS = "a time that exists (a day of its month, hours 0-23, an offset under 24 hours)"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-02-30T00:00:00Z", EXISTS),
        ("2026-01-01T24:00:00Z", EXISTS),
        ("2026-01-01T00:00:00%2B25:00", EXISTS),
        ("0000-01-01T00:00:00Z", A_TIME),  # told the span, as 0001-01-01 is
    ],
)
@pytest.mark.parametrize(
    ("url", "parameter"),
    [("/api/plan?hours=3", "before"), ("/api/series?entity_id=sensor.x&end=2024-01-02T00:00Z",
     "start"), ("/api/views/hourly_room_activity?end=2024-01-02", "start")],
)  # fmt: skip
def test_a_time_written_right_that_does_not_exist_is_told_so(staff, url, parameter, value, words):
    # Was "expected an ISO 8601 time with a time zone", of a time written so, with its zone.
    assert_400_naming(staff.get(f"{url}&{parameter}={value}"), parameter, f"expected {words}")


def test_the_year_0_is_told_the_days_influxdb_can_hold(staff):
    # Was "expected a date as YYYY-MM-DD" (Python has no year 0), where 0001-01-01 is told this.
    answer = staff.get("/api/views/daily_energy_by_device", {"start": "0000-01-01"})
    assert_400_naming(answer, "start", f"expected a date {YEARS}.")


@pytest.mark.parametrize(
    ("start", "end", "parameter"),
    [
        (f"{FAR_PAST}T00:00:00Z", "2024-01-01T00:00:00Z", "start"),
        ("2024-01-01T00:00:00Z", f"{FAR_FUTURE}T23:59:59Z", "end"),
        ("2024-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "end"),  # past InfluxDB's last time
    ],
)
def test_series_refuses_times_influxdb_cannot_hold(staff, start, end, parameter):
    response = staff.get(f"/api/series?entity_id=sensor.x&start={start}&end={end}")
    assert_400_naming(response, parameter, A_TIME)


@pytest.mark.parametrize(
    "query",
    [
        f"daily_energy_by_device?start={FAR_PAST}",
        f"daily_carbon_summary?end={FAR_FUTURE}",
        f"hourly_room_activity?start={FAR_PAST}",
        f"hourly_room_activity?end={FAR_FUTURE}T00:00:00Z",
    ],
)
def test_views_refuse_extreme_dates(staff, query):
    response = staff.get(f"/api/views/{query}")
    parameter = "start" if "start=" in query else "end"
    assert_400_naming(response, parameter, YEARS)


def test_view_rebuild_refuses_extreme_dates(staff):
    response = staff.post(
        "/api/views/daily_energy_by_device/rebuild",
        {"start": FAR_PAST, "end": FAR_FUTURE},
        format="json",
    )
    assert_400_naming(response, "start", f"a date {YEARS}")


@pytest.mark.parametrize("url", ["/retention/downsample-hourly", "/retention/downsample-daily"])
def test_downsampling_refuses_extreme_dates(staff, url):
    for parameter, day in (("start", FAR_PAST), ("end", FAR_FUTURE)):
        response = staff.post(url, {parameter: day, "dry_run": True}, format="json")
        assert_400_naming(response, parameter, f"'{day}' is not valid: expected a date {YEARS}.")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"start_date": FAR_PAST, "end_date": "2024-01-01"}, "start_date"),
        ({"start_date": "2024-01-01", "end_date": FAR_FUTURE}, "end_date"),
    ],
)
def test_restore_refuses_extreme_dates(staff, body, parameter):
    response = staff.post("/retention/restore", body, format="json")
    day = body[parameter]
    assert_400_naming(response, parameter, f"'{day}' is not valid: expected a date {YEARS}.")


@pytest.mark.parametrize("database", [" enrich_restore", "enrich_restore ", "\tenrich_restore"])
def test_a_restore_database_is_taken_as_written(staff, home, settings, database):
    # Was trimmed by DRF: " enrich_restore" restored into enrich_restore (a 202), where the
    # command's --database " enrich_restore" is refused.
    settings.RESTORE_INFLUXDB_DATABASE = "enrich_restore"
    body = {"start_date": "2024-01-01", "end_date": "2024-01-02", "database": database}
    response = staff.post("/retention/restore", body, format="json")
    assert_400_naming(response, "database", f"{database!r} is not a restore database")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("days", ["\u0663", "+30", " 30", "3_0", "\uff13\uff10", "30 "])
def test_a_number_is_written_in_ascii_digits_only(staff, days):
    # int() read each as 3 or 30: a 200 answering for a number nobody wrote.
    for url in ("/retention/history", "/retention/metrics", "/retention/alerts"):
        response = staff.get(url, {"days": days})
        assert_400_naming(response, "days", "expected a whole number")


@pytest.mark.parametrize("within", [" 4h", "4h ", "\t4h", "1h 30m"])
def test_a_duration_is_written_without_spaces_as_a_number_is(staff, within):
    # `within` dropped the spaces around it (a 200 for " 4h") where `hours=" 3"` is a 400.
    for url in ("/api/pricing/windows?hours=3", "/api/pricing/slots?site=1"):
        response = staff.get(f"{url}&{urlencode({'within': within})}")
        assert_400_naming(response, "within", f"{within!r} is not valid: expected a duration")


@pytest.mark.parametrize(
    ("url", "parameter", "value", "words"),
    [
        ("/api/pricing/windows?hours=3", "within", "\u0662h", "a duration such as 24h"),
        ("/api/pricing/windows?within=4h", "hours", "1_0", "a number, e.g. 3 or 1.5"),
        ("/api/pricing/windows?within=4h", "hours", "\u0663", "a number, e.g. 3 or 1.5"),
        ("/api/pricing/windows?hours=3", "before", "\u0662\u0660\u0662\u0666-11-27T06:00:00Z",
         "an ISO 8601 time"),
        ("/api/views/daily_energy_by_device?end=2026-01-02", "start",
         "\u0662\u0660\u0662\u0666-01-01", "a date as YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_times_durations_and_decimals_are_written_in_ascii_digits_only(
    staff, url, parameter, value, words
):
    response = staff.get(f"{url}&{urlencode({parameter: value})}")
    assert_400_naming(response, parameter, words)


@pytest.mark.parametrize("site", ["abc", "1e3", "99999999999999999999", "-1", "0"])
def test_the_oauth_connect_page_refuses_a_site_that_is_not_an_id(admin_client, site):
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    response = admin_client.post("/oauth/google/connect", {"site": site})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown site" in page and "site:" in page


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("rebuild_view", ["daily_energy_by_device", "--start", "0001-01-01", "--end", "2024-01-01"],
         f"--start '0001-01-01' is not valid: expected a date {YEARS}."),
        ("archive_to_s3", ["--dry-run", "--as-of", "9999-12-31"],
         f"--as-of '9999-12-31' is not valid: expected a date {YEARS}."),
        ("downsample_hourly", ["--start", "0001-01-01", "--dry-run"],
         f"--start: '0001-01-01' is not valid: expected a date {YEARS}."),
    ],
)  # fmt: skip
def test_commands_refuse_dates_influxdb_cannot_hold(command, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(command, *args)
    assert not RetentionRun.objects.exists()


# --- Found by sending every endpoint hostile values (each was a 500) ---------------------------
NO_NUL = "text without NUL characters"


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/series?start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z&entity_id=", "entity_id"),
        ("/api/views/daily_energy_by_device?entity_id=", "entity_id"),
        ("/api/views/hourly_room_activity?area=", "area"),
        ("/api/views/daily_carbon_summary?region=", "region"),
    ],
)
def test_a_nul_character_in_a_text_filter_is_refused(staff, url, parameter):
    # PostgreSQL stores no NUL in text: the query itself failed.
    assert_400_naming(staff.get(url + "sensor.a%00b"), parameter, NO_NUL)


def test_a_time_with_an_offset_postgresql_refuses_is_read_as_the_same_moment(staff):
    # Python reads offsets up to +-23:59, PostgreSQL up to +-15:59: the moment goes as UTC.
    url = "/api/views/hourly_room_activity?start="
    far = staff.get(url + "2026-01-01T16:00:00%2B16:00")
    assert far.status_code == 200, far.content
    assert far.json()["rows"] == staff.get(url + "2026-01-01T00:00:00Z").json()["rows"]
    response = staff.get("/api/series?entity_id=sensor.none&start=2026-01-01T00:00:00-23:59"
                         "&end=2026-01-03T00:00:00%2B23:59")  # fmt: skip
    assert response.status_code == 404  # the times were read; the entity is unknown


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"2024-01-01"', "null", "1", "true"])
@pytest.mark.parametrize("url", ["/retention/downsample-hourly", "/retention/downsample-daily"])
def test_downsampling_refuses_a_body_that_is_not_an_object(staff, url, body):
    response = staff.post(url, body, content_type="application/json")
    assert_400_naming(response, "body", "Send start, end and dry_run as form fields or a JSON")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/retention/downsample-hourly",
        "/retention/archive",
        "/retention/restore",
        "/api/views/daily_energy_by_device/rebuild",
        "/api/token/",
    ],
)
def test_json_nested_too_deep_to_parse_is_a_400(staff, url):
    # Deeper than any Python's json reads: 3.11 and 3.12 stop before 5,000, 3.13 after it.
    response = staff.post(url, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/retention/archive", "/api/token/"])
def test_json_with_a_number_too_long_to_read_is_told_its_digits(staff, url):
    # Python's words ended "use sys.set_int_max_str_digits() to increase the limit".
    runs = RetentionRun.objects.count()
    response = staff.post(url, '{"dry_run": ' + "9" * 5000 + "}", content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "detail": "JSON parse error - a number of 5,000 digits (at most 4,300 are read)"
    }
    assert RetentionRun.objects.count() == runs


def test_a_login_with_a_name_longer_than_the_lockout_table_holds_is_refused(client):
    from axes.models import AccessAttempt

    name = "n" * 300
    response = APIClient().post("/api/token/", {"username": name, "password": "x"}, format="json")
    assert response.status_code == 400, response.content
    page = client.post("/login/", {"username": name, "password": "x"})
    assert page.status_code == 200  # the form again, with its error
    # Counted for the lockout, under the first 255 characters (no account name is longer).
    assert AccessAttempt.objects.get().username == name[:255]


# --- Found by schemathesis (docs/api.md's bad-input rules, every endpoint of /api/schema/) -----
@pytest.mark.parametrize(
    ("run_id", "words"),
    [
        ("abc", "expected a whole number"),
        ("null,null", "expected a whole number"),
        ("1.5", "expected a whole number"),
        ("-1", "expected a number of 1 or more"),
        ("0", "expected a number of 1 or more"),
        ("99999999999999999999", A_WHOLE_NUMBER),
    ],
)
def test_a_run_id_that_is_no_id_is_a_400_naming_it(staff, run_id, words):
    # Was Django's HTML "Not Found" page (the URL did not match), naming nothing.
    response = staff.get(f"/retention/runs/{run_id}")
    assert_400_naming(response, "run_id", words)  # as docs/api.md and every 202 name it
    # Anonymous callers are refused before the id is read, as on every other endpoint.
    assert APIClient().get(f"/retention/runs/{run_id}").status_code == 401


@pytest.mark.parametrize("body", ["[]", '[{"dry_run": true}]', '"true"', "null", "1"])
@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/retention/archive", "dry_run"),
        ("/retention/restore", "start_date, end_date and database"),
        ("/api/token/", "username and password"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400_naming_it(staff, url, fields, body):
    # Was {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}.
    response = staff.post(url, body, content_type="application/json")
    assert_400_naming(response, "body", f"Send {fields} as form fields or a JSON object.")
    assert not RetentionRun.objects.exists()


START, END = "start=2024-01-01T00:00:00Z", "end=2024-01-02T00:00:00Z"


@pytest.mark.parametrize(
    "url",
    [
        # Filters: each was read as left out, an answer for every entity, area, region or run.
        "/api/views/daily_energy_by_device?entity_id=",
        "/api/views/hourly_room_activity?area=",
        "/api/views/daily_carbon_summary?region=",
        "/retention/history?type=",
        "/retention/history?status=",
        "/api/sites/?enabled=",
        # Was "Required: give ?entity_id=…", as if it had been left out.
        f"/api/series?entity_id=&{START}&{END}",
        # Each was read as its default (90 days, 24 h, the one site, no deadline).
        "/retention/metrics?days=",
        "/api/carbon/series?hours=",
        "/api/enrichment/current?site=",
        "/api/pricing/windows?hours=3&within=",
        "/api/pricing/windows?hours=3&before=",
        "/api/views/daily_energy_by_device?start=",
        # DRF's own: read as no format (JSON, the schema's YAML), as if it had been left out.
        "/api/health/?format=",
        "/retention/history?format=",
    ],
)
def test_a_query_parameter_given_empty_is_a_400_naming_it(staff, url):
    # A client that sends a parameter means something: an unset variable (`?region=$REGION`)
    # must not get the answer for all of them, as a body field sent empty is refused too.
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    name = next(key for key, value in query if value == "")
    assert_400_naming_only(staff.get(url), name, f"given empty: give a value or leave ?{name}= out")


def test_the_schema_refuses_a_format_given_empty(staff):
    schema = staff.get("/api/schema/?format=")  # was the YAML schema, as for no format
    assert schema.status_code == 400
    assert b"given empty: give a value or leave ?format= out." in schema.content


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("format=xml", "'xml' is not valid: expected one of html."),
        ("format=html&format=html", "given 2 times: give it once."),
        ("format=", "given empty: give a value or leave ?format= out."),
    ],
)
def test_the_docs_page_names_a_format_it_cannot_use(staff, query, said):
    # Each was the renderer's bare "400 Bad Request", naming nothing.
    page = staff.get(f"/api/docs/?{query}")
    assert page.status_code == 400
    assert page["Content-Type"] == "text/plain; charset=utf-8"
    assert page.content.decode() == f"format: {said}"
