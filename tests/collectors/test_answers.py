"""`collectors.answers.Answer`: the one validator of provider answers refuses values no
InfluxDB point can hold, naming the answer field, before anything is written."""

from datetime import UTC, datetime

import pytest

from collectors.answers import Answer
from enrich.http import MalformedResponse

ANSWER = Answer("octopus", "https://api.octopus.energy/v1/products/")


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-05:00",  # past year 9999 in UTC: OverflowError out of astimezone
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC: the same
        "2262-04-12T00:00:00Z",  # past InfluxDB's last nanosecond
        "1677-09-21T00:00:00Z",  # before its first
        "1000-01-01T00:00:00+00:00",
    ],
)
def test_a_time_influxdb_cannot_store_is_malformed_naming_the_field(value):
    with pytest.raises(MalformedResponse) as error:
        ANSWER.time(value, "results[3].valid_to")
    assert f"results[3].valid_to {value!r} is outside the times InfluxDB can store" in str(
        error.value
    )


def test_times_inside_the_range_are_read_as_utc():
    assert ANSWER.time("2261-12-31T23:59:59+00:00", "t") == datetime(
        2261, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    assert ANSWER.time("1678-01-01T01:00:00+01:00", "t") == datetime(1678, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (-float("inf"), "-inf"),
        (10**400, "1" + "0" * 19),
    ],
)
def test_a_number_no_double_holds_is_malformed_naming_the_field(value, shown):
    row = {"value_inc_vat": value}
    for read in (
        lambda: ANSWER.number(row, "value_inc_vat", "results[0]"),
        lambda: ANSWER.typed(row, "value_inc_vat", (int, float), "results[0]"),
    ):
        with pytest.raises(
            MalformedResponse, match=r"results\[0\].*'?value_inc_vat'? should be a finite number"
        ) as error:
            read()
        assert shown in str(error.value)
