"""Every endpoint and command taking a day reads it with the one reader (params.as_day) and says
the same of the same bad value, naming the parameter: the format when it is not written
YYYY-MM-DD, that the day does not exist when it is written so but names none (2026-02-30,
2026-13-01), the days InfluxDB can hold when its year lies outside them.

Before, the views said "expected a date as YYYY-MM-DD" of 2026-02-30 (written just so), the tier
runs "'2026-02-30' is not a date: use YYYY-MM-DD (a UTC day), from ...", a restore DRF's "Date
has wrong format. Use one of these formats instead: YYYY-MM-DD." and the commands "is not a
date; use YYYY-MM-DD, e.g. ...": four wordings, none saying that the day does not exist.
"""

import pytest
from django.core.management import CommandError, call_command

from retention.models import RetentionRun
from tests.support import bad_input as hostile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

FORMAT = "a date as YYYY-MM-DD, e.g. 2026-11-27"
NO_SUCH_MONTH = "a date that exists (a month from 01 to 12), e.g. 2026-11-27"
YEARS = "a date from 1900-01-01 to 2199-12-31"
DAY_OR_TIME = f"{FORMAT}, or an ISO 8601 time with a time zone, e.g. 2026-11-27T06:00:00Z"


def days_of(month: str, last: int) -> str:
    return (
        f"a date that exists (a day of its month: {month} has days 01 to {last}), e.g. 2026-11-27"
    )


BAD_DAYS = [
    ("2026-02-30", days_of("February 2026", 28)),
    ("2024-02-30", days_of("February 2024", 29)),  # a leap year
    ("2026-04-31", days_of("April 2026", 30)),
    ("2026-01-00", days_of("January 2026", 31)),
    ("2026-13-01", NO_SUCH_MONTH),
    ("2026-00-10", NO_SUCH_MONTH),
    ("yesterday", FORMAT),
    ("20260101", FORMAT),
    ("2026-1-1", FORMAT),
    ("2024-W10-1", FORMAT),
    ("0000-01-01", YEARS),
    ("1899-12-31", YEARS),
    ("9999-12-31", YEARS),
]

# (method, url, the other fields a request needs, the parameter the bad day is sent as)
ENDPOINTS = [
    ("get", "/api/views/daily_energy_by_device", {"end": "2024-01-02"}, "start"),
    ("get", "/api/views/daily_energy_by_device", {"start": "2024-01-01"}, "end"),
    ("get", "/api/views/daily_carbon_summary", {"start": "2024-01-01"}, "end"),
    ("get", "/api/views/hourly_room_activity", {"end": "2024-01-02"}, "start"),
    ("post", "/api/views/daily_energy_by_device/rebuild", {"end": "2024-01-02"}, "start"),
    ("post", "/api/views/daily_carbon_summary/rebuild", {"start": "2024-01-01"}, "end"),
    ("post", "/retention/downsample-hourly", {"dry_run": True}, "start"),
    ("post", "/retention/downsample-hourly", {"start": "2024-01-01"}, "end"),
    ("post", "/retention/downsample-daily", {"dry_run": True}, "start"),
    ("post", "/retention/downsample-daily", {"dry_run": True}, "end"),
    ("post", "/retention/restore", {"end_date": "2024-01-03"}, "start_date"),
    ("post", "/retention/restore", {"start_date": "2024-01-01"}, "end_date"),
]


def said(staff, method: str, url: str, others: dict, parameter: str, value) -> str:
    """What the endpoint answers of `value` sent as `parameter`: a 400 naming it alone, with
    nothing recorded or queued."""
    before = hostile.counts()
    if method == "get":
        answer = staff.get(url, {**others, parameter: value})
    else:
        answer = staff.post(url, {**others, parameter: value}, format="json")
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == [parameter], answer.json()
    assert hostile.counts() == before
    return answer.json()[parameter]


@pytest.mark.parametrize(
    ("method", "url", "others", "parameter", "value", "expected"),
    [
        # hourly_room_activity also takes a time (ISO 8601): a value written as neither is
        # told both forms (it was told the time's alone, or a date's alone at 10 characters).
        (*endpoint, value, DAY_OR_TIME if room_activity and expected == FORMAT else expected)
        for endpoint in ENDPOINTS
        for room_activity in [endpoint[1].endswith("hourly_room_activity")]
        for value, expected in BAD_DAYS
    ],
)
def test_every_endpoint_says_the_same_of_a_bad_day(
    staff, home, method, url, others, parameter, value, expected
):
    answer = said(staff, method, url, others, parameter, value)
    assert answer == f"'{value}' is not valid: expected {expected}."


@pytest.mark.parametrize(
    ("method", "url", "others", "parameter"), [e for e in ENDPOINTS if e[0] == "post"]
)
@pytest.mark.parametrize("value", [20260101, ["2026-01-01"], True])
def test_a_day_sent_as_json_of_another_type_is_told_the_format(
    staff, home, method, url, others, parameter, value
):
    # A restore said DRF's "Date has wrong format. Use one of these formats instead: ...".
    answer = said(staff, method, url, others, parameter, value)
    assert answer.endswith(f"is not valid: expected {FORMAT}."), answer


# (command, its arguments with {} for the day, what the message starts with)
COMMANDS = [
    ("downsample_hourly", ["--start", "{}", "--dry-run"], "--start: "),
    ("downsample_daily", ["--end", "{}", "--dry-run"], "--end: "),
    ("rebuild_view", ["daily_energy_by_device", "--start", "{}", "--end", "2024-01-01"],
     "--start "),
    ("rebuild_view", ["daily_energy_by_device", "--start", "2024-01-01", "--end", "{}"], "--end "),
    ("archive_to_s3", ["--dry-run", "--as-of", "{}"], "--as-of "),
    ("restore_from_archive", ["{}", "2024-01-01"], "start_date "),
    ("restore_from_archive", ["2024-01-01", "{}"], "end_date "),
]  # fmt: skip


@pytest.mark.parametrize(("command", "args", "option"), COMMANDS)
@pytest.mark.parametrize(("value", "expected"), BAD_DAYS)
def test_every_command_says_what_the_api_says_of_a_bad_day(command, args, option, value, expected):
    with pytest.raises(CommandError) as refused:
        call_command(command, *(value if arg == "{}" else arg for arg in args))
    assert str(refused.value) == f"{option}'{value}' is not valid: expected {expected}."
    assert not RetentionRun.objects.exists()
