"""Bad input is a 400 naming the parameter, never a 500: huge durations, times outside what
InfluxDB can hold, ids too large for the database, a non-numeric OAuth site. Commands taking
dates stop with an error naming the value instead of a traceback.

The test client raises a view's exception, so a 500 would fail these tests with its traceback.
"""

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from enrich.models import Site
from retention.models import RetentionRun

pytestmark = pytest.mark.django_db

FAR_PAST, FAR_FUTURE = "0001-01-01", "9999-12-31"
# What the refusals say: the days InfluxDB can hold, the largest id the database can hold.
YEARS = "from 1900-01-01 to 2199-12-31"
A_TIME = f"a time {YEARS}"
A_WHOLE_NUMBER = "a whole number up to 9223372036854775807"
AT_MOST_366_DAYS = "a duration of at most 366d"


@pytest.fixture(autouse=True)
def own_throttle_counts(settings):
    settings.REDIS_KEY_PREFIX = f"test-bad-input-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("ops", is_staff=True))
    return client


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
        assert_400_naming(response, parameter, f"(a UTC day), {YEARS}")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"start_date": FAR_PAST, "end_date": "2024-01-01"}, "start_date"),
        ({"start_date": "2024-01-01", "end_date": FAR_FUTURE}, "end_date"),
    ],
)
def test_restore_refuses_extreme_dates(staff, body, parameter):
    response = staff.post("/retention/restore", body, format="json")
    assert_400_naming(response, parameter, f"Enter a date {YEARS}.")


def test_history_refuses_a_huge_number_of_days(staff):
    response = staff.get("/retention/history?days=99999999999999999999")
    assert_400_naming(response, "days", A_WHOLE_NUMBER)


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
         "'0001-01-01' is not a date"),
        ("archive_to_s3", ["--dry-run", "--as-of", "9999-12-31"], "--as-of '9999-12-31' is not"),
        ("downsample_hourly", ["--start", "0001-01-01", "--dry-run"], "'0001-01-01' is not a date"),
    ],
)  # fmt: skip
def test_commands_refuse_dates_influxdb_cannot_hold(command, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(command, *args)
    assert not RetentionRun.objects.exists()
