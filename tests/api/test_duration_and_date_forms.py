"""Readings the bad-input fuzz found lenient or misleading, each a 400 naming the parameter sent:
a `within` with a unit given twice or out of order (`1h1h` was read as 2h), a `within` under a
minute (accepted, then blamed on `hours`), and a time whose date is an ISO 8601 ordinal date
(told only "expected an ISO 8601 time" while week dates are read)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from enrich.api import params
from tests.support.api import assert_400_naming_only

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

DURATION_URLS = ("/api/pricing/windows?hours=0.0166667", "/api/pricing/slots?site=1")


@pytest.mark.parametrize("within", ["1h1h", "1d1d", "30m30m", "30m1h", "1h1d", "1d30m2h"])
def test_a_unit_given_twice_or_out_of_order_is_refused(staff, within):
    # "1h1h" was read as 2h and "30m1h" as 90m: a repeated unit is almost certainly a typo.
    for url in DURATION_URLS:
        answer = staff.get(f"{url}&{urlencode({'within': within})}")
        assert_400_naming_only(answer, "within", f"{within!r} is not valid: expected a duration")
        assert "each unit once and in the order d, h, m" in str(answer.json()["within"])


@pytest.mark.parametrize("within", ["0.0000001m", "0.5m", ".01h", "0d0h0.9m"])
def test_a_within_under_a_minute_is_refused_naming_within(staff, within):
    # Was accepted, and the window's `hours` was then told "at most 1.66667e-09h (within)".
    for url in DURATION_URLS:
        answer = staff.get(f"{url}&{urlencode({'within': within})}")
        assert_400_naming_only(
            answer, "within",
            f"{within!r} is not valid: expected a duration of at least a minute (1m), such as 24h.",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("within", "value"),
    [
        ("1d2h30m", timedelta(days=1, hours=2, minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        ("1m", timedelta(minutes=1)),
        ("1.5m", timedelta(seconds=90)),
    ],
)
def test_units_once_in_order_from_a_minute_are_read(within, value):
    assert params.duration(QueryDict(urlencode({"within": within})), "within") == value


ORDINAL = "2026-340T12:00:00Z"  # day 340 of 2026: 2026-12-06
SAID = "an ordinal date (2026-340) is not read: write its day as YYYY-MM-DD."


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/pricing/windows?hours=1", "before"),
        ("/api/plan?hours=1", "before"),
        ("/api/views/hourly_room_activity?end=2026-12-07", "start"),
    ],
)
@pytest.mark.parametrize("value", [ORDINAL, "2026340T120000Z"])
def test_an_ordinal_date_is_told_it_is_not_read(staff, url, parameter, value):
    # Was "expected an ISO 8601 time with a time zone", though it is one (week dates are read).
    answer = staff.get(f"{url}&{urlencode({parameter: value})}")
    assert_400_naming_only(answer, parameter, f"{value!r} is not valid: expected ")
    assert str(answer.json()[parameter]).endswith(SAID)


def test_a_week_date_is_read_as_the_docs_say():
    query = QueryDict(urlencode({"before": "2026-W49-7T12:00:00Z"}))
    assert params.moment(query, "before") == datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "weeks"),
    [
        ("2027-W53-1T00:00:00Z", "2027 has weeks 01 to 52"),  # 2026 has 53, 2027 not
        ("2027W531T000000Z", "2027 has weeks 01 to 52"),
        ("2026-W54-1T00:00:00Z", "2026 has weeks 01 to 53"),
        ("2026-W00-1T00:00:00Z", "2026 has weeks 01 to 53"),
        ("2026-W53-8T00:00:00Z", "2026 has weeks 01 to 53"),
    ],
)
def test_a_week_its_year_does_not_have_is_told_so(staff, value, weeks):
    # Was "expected an ISO 8601 time with a time zone", though it is written as one.
    for url, parameter in [("/api/plan?hours=1", "before"),
                           ("/api/views/hourly_room_activity?end=2027-01-07", "start")]:  # fmt: skip
        answer = staff.get(f"{url}&{urlencode({parameter: value})}")
        assert_400_naming_only(
            answer, parameter,
            f"{value!r} is not valid: expected a time that exists (a week of its year: {weeks}, "
            "days 1 to 7), e.g. 2026-11-27T06:00:00Z.",
        )  # fmt: skip


def test_week_53_of_a_year_that_has_one_is_read():
    query = QueryDict(urlencode({"before": "2026-W53-5T06:00:00Z"}))  # New Year's Day 2027
    assert params.moment(query, "before") == datetime(2027, 1, 1, 6, tzinfo=UTC)
