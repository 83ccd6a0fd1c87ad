"""A field of a POST that queues work (view rebuild, downsample, archive, restore) sent empty or
null, in the body or the query string, is a 400 naming it and saying so: never "Required" as if
it were left out, nor "'' is not valid", "This field may not be null" or "may not be blank"."""

import pytest

from retention.models import RetentionRun
from tests.support.api import assert_400_naming_only

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
REBUILD = "/api/views/daily_energy_by_device/rebuild"
RESTORE = "/retention/restore"
DAY = "date as YYYY-MM-DD"
# (url, the other fields, field, what the 400 tells to send instead)
FIELDS = [
    (REBUILD, {"end": "2024-01-02"}, "start", DAY),
    (REBUILD, {"start": "2024-01-01"}, "end", DAY),
    ("/api/views/daily_carbon_summary/rebuild", {"start": "2024-01-01"}, "end", DAY),
    (RESTORE, {"end_date": "2024-01-02"}, "start_date", DAY),
    (RESTORE, {"start_date": "2024-01-01"}, "end_date", DAY),
    (RESTORE, {"start_date": "2024-01-01", "end_date": "2024-01-02"}, "database",
     "the name of an InfluxDB database (leaving database out means RESTORE_INFLUXDB_DATABASE)"),
    ("/retention/downsample-hourly", {"dry_run": "true"}, "start", "a day as YYYY-MM-DD"),
    ("/retention/downsample-daily", {"dry_run": "true"}, "end", "a day as YYYY-MM-DD"),
    ("/retention/archive", {}, "dry_run", "true or false"),
]  # fmt: skip


def _form(fields: dict[str, str]) -> str:
    return "&".join(f"{name}={value}" for name, value in fields.items())


@pytest.mark.parametrize(("url", "others", "name", "expected"), FIELDS)
@pytest.mark.parametrize("where", ["json", "form", "query"])
def test_an_empty_field_is_a_400_saying_it_is_empty(staff, url, others, name, expected, where):
    if where == "json":
        response = staff.post(url, {**others, name: ""}, format="json")
    elif where == "form":
        response = staff.post(url, _form({**others, name: ""}), content_type=FORM)
    else:
        response = staff.post(f"{url}?{name}=", others, format="json")
    assert_400_naming_only(response, name, "given empty: send ")
    assert expected in response.json()[name]
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(("url", "others", "name", "expected"), FIELDS)
def test_a_null_field_is_a_400_saying_it_is_null(staff, url, others, name, expected):
    response = staff.post(url, {**others, name: None}, format="json")
    assert_400_naming_only(response, name, "given as null: send ")
    assert expected in response.json()[name]
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("url", "others", "name"),
    [
        (REBUILD, {"end": "2024-01-02"}, "start"),
        (RESTORE, {"start_date": "2024-01-01"}, "end_date"),
    ],
)
def test_a_required_field_sent_empty_is_not_told_to_be_left_out(staff, url, others, name):
    # The query string's "leave ?start= out" would send the caller to a second 400.
    response = staff.post(f"{url}?{name}=", others, format="json")
    assert "out" not in response.json()[name]
