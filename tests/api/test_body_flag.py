"""params.flag, the one reader of a true/false field of a POST body (`dry_run` of the tier and
archive endpoints): absent is the default, a value the caller sent is read or refused, never
taken for false."""

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from enrich.api import params


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, False),
        ({"start": "2024-01-01"}, False),
        ({"dry_run": True}, True),
        ({"dry_run": False}, False),
        ({"dry_run": 1}, True),
        ({"dry_run": 0}, False),
        ({"dry_run": "true"}, True),
        ({"dry_run": "True"}, True),
        ({"dry_run": "yes"}, True),
        ({"dry_run": "on"}, True),  # an HTML checkbox
        ({"dry_run": "1"}, True),
        ({"dry_run": "FALSE"}, False),
        ({"dry_run": "no"}, False),
        ({"dry_run": "off"}, False),
        ({"dry_run": "0"}, False),
    ],
)
def test_a_flag_is_read_and_absent_is_the_default(data, expected):
    assert params.flag(data, "dry_run") is expected


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("", "given empty: send true or false (leaving dry_run out means false)."),
        (None, "given as null: send true or false (leaving dry_run out means false)."),
        ("maybe", "'maybe' is not valid: expected true or false."),
        (" true", "' true' is not valid: expected true or false."),
        (2, "2 is not valid: expected true or false."),
        (0.5, "0.5 is not valid: expected true or false."),
        # As JSON writes them: the caller sent JSON (it said "[True]", Python's spelling).
        ([True], "[true] is not valid: expected true or false."),
        ({"a": None}, '{"a": null} is not valid: expected true or false.'),
    ],
)
def test_a_flag_the_caller_sent_but_did_not_say_is_refused_naming_it(raw, said):
    with pytest.raises(ValidationError) as info:
        params.flag({"dry_run": raw}, "dry_run")
    assert info.value.detail == {"dry_run": said}


def test_a_form_body_with_a_field_given_twice_is_refused_naming_it():
    with pytest.raises(ValidationError) as info:
        params.body(QueryDict("dry_run=true&start=2024-01-01&dry_run=false"), "dry_run")
    assert info.value.detail == {"dry_run": "given 2 times: give it once."}
    assert params.body(QueryDict("dry_run=true&start=2024-01-01"), "dry_run") == {
        "dry_run": "true",
        "start": "2024-01-01",
    }
