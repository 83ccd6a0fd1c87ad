"""Emporia Vue answers that are not the documented shape (found by fuzzing): each is a
MalformedResponse naming what was wrong, never a TypeError, IndexError or OverflowError out of
the adapter, an AuthError asking a person to act, or readings written on a guess."""

from datetime import timedelta

import pytest

from collectors.base import Window
from collectors.smart_meter.emporia import cognito
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from enrich.http import AuthError, MalformedResponse
from tests.collectors.scenarios_smart_meter import (
    CHART,
    EMPORIA_NOW,
    MINUTE_USAGE,
    SITE,
    answer_app_api,
    cognito_answers,
    emporia_credentials,
    emporia_routes,
)

POOL = "us-east-2_ghlOXVLi1"


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


def fetch(server):
    adapter = EmporiaVueAdapter()
    credentials = emporia_credentials(server)
    window = Window(start=EMPORIA_NOW - timedelta(minutes=5), end=EMPORIA_NOW, now=EMPORIA_NOW)
    return adapter.fetch(adapter.target(SITE, credentials), credentials, window)


def devices_answer(server, change) -> None:
    """The device list of devices.json after `change(devices)`, before the usual routes."""
    devices = server.load_fixture("emporia/devices.json")
    change(devices["devices"])
    server.add("GET", "/customers/devices", json=devices)
    emporia_routes(server)


def usage_answer(server, change) -> None:
    """The minute usage of usage_1min.json after `change(devices)`, before the usual routes."""
    usage = server.load_fixture("emporia/usage_1min.json")
    change(usage["deviceListUsages"]["devices"])
    answer_app_api(server, MINUTE_USAGE, json=usage)
    emporia_routes(server)


def set_in(path: tuple, value):
    """A change setting the item at `path` (keys and indexes) to `value`."""

    def change(tree):
        for key in path[:-1]:
            tree = tree[key]
        tree[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "path, value, problem",
    [
        ((0, "channels"), 7, "device 1234: channels should be a list"),
        ((0, "devices"), 7, "device 1234: devices should be a list"),
        ((0, "devices", 0, "channels"), True, "device 2345: channels should be a list"),
    ],
)
def test_device_list_parts_that_are_no_lists_are_malformed(replay_server, path, value, problem):
    devices_answer(replay_server, set_in(path, value))
    with pytest.raises(MalformedResponse, match=problem):
        fetch(replay_server)


def test_a_device_listing_one_channel_twice_is_malformed(replay_server):
    def twice(devices):
        channels = devices[0]["channels"]
        channels.append({**channels[1], "name": "Washer"})  # channelNum "2" again

    devices_answer(replay_server, twice)
    with pytest.raises(MalformedResponse, match="device 1234: channels list channelNum '2' twice"):
        fetch(replay_server)


@pytest.mark.parametrize("nested", [{"deviceGid": 2345, "channelUsages": []}, 7])
def test_nested_devices_that_are_no_list_are_malformed(replay_server, nested):
    usage_answer(replay_server, set_in((0, "channelUsages", 0, "nestedDevices"), nested))
    with pytest.raises(MalformedResponse, match=r"channel 1234/1,2,3: nestedDevices should be"):
        fetch(replay_server)


@pytest.mark.parametrize("gid", [[1234], "", "1234", 12.5, True])
def test_a_usage_device_gid_that_is_no_integer_is_malformed(replay_server, gid):
    """The documented answers give deviceGid as a JSON integer; "" was written as a device of
    no name, then failed building the Redis key of the watch; "1234" became a second device."""
    usage_answer(replay_server, set_in((0, "deviceGid"), gid))
    with pytest.raises(MalformedResponse, match=r"a device usage: deviceGid should be an integer"):
        fetch(replay_server)


def test_a_nested_usage_device_gid_that_is_no_integer_is_malformed(replay_server):
    path = (0, "channelUsages", 0, "nestedDevices", 0, "deviceGid")
    usage_answer(replay_server, set_in(path, "2345"))
    with pytest.raises(MalformedResponse, match="deviceGid should be an integer, got '2345'"):
        fetch(replay_server)


def test_a_channel_answered_twice_in_one_device_usage_is_malformed(replay_server):
    """Two values for one channel and minute: keeping either would store a guess."""

    def twice(devices):
        usages = devices[0]["channelUsages"]
        usages.append({**usages[3], "usage": 0.05})  # Furnace, channelNum "7", again

    usage_answer(replay_server, twice)
    with pytest.raises(MalformedResponse, match="device usage 1234: channelNum '7' is answered"):
        fetch(replay_server)
    assert not any(r.query.get("apiMethod") == "getChartUsage" for r in replay_server.requests)


def test_a_chart_starting_in_year_9999_is_malformed(replay_server):
    emporia_routes(replay_server)
    answer_app_api(
        replay_server,
        {**CHART, "end": "2026-05-01T14:06:00.000Z"},
        json={"firstUsageInstant": "9999-12-31T23:59:00Z", "usageList": [0.0171, 0.0174]},
    )
    with pytest.raises(MalformedResponse, match="firstUsageInstant"):
        fetch(replay_server)


# --- Cognito's answers ---


def login(server):
    return cognito.Cognito("emporia_vue", server.url_for("/c"), POOL, "client").login(
        "Vue.Owner@example.com", "vue-password-1"
    )


@pytest.mark.parametrize("key", ["SALT", "SRP_B", "SECRET_BLOCK", "USER_ID_FOR_SRP"])
def test_an_empty_srp_challenge_parameter_is_malformed(replay_server, key):
    """pycognito reads an empty SALT with an IndexError; no proof is sent for such a one."""
    challenge = replay_server.load_fixture("emporia/cognito_challenge.json")
    challenge["ChallengeParameters"][key] = ""
    replay_server.add("POST", "/c", json=challenge)
    with pytest.raises(MalformedResponse, match=f"the SRP challenge's {key} should be a non-empty"):
        login(replay_server)
    assert len(replay_server.calls("POST", "/c")) == 1  # no RespondToAuthChallenge


@pytest.mark.parametrize("answer", [{}, {"ChallengeName": None}, {"ChallengeName": 7}])
def test_an_initiate_auth_answer_naming_no_challenge_is_malformed_not_an_auth_error(
    replay_server, answer
):
    """An AuthError tells a person to finish a step in the Emporia app: there is none here."""
    replay_server.add("POST", "/c", json=answer)
    with pytest.raises(MalformedResponse, match="neither the expected tokens nor a ChallengeName"):
        login(replay_server)


def test_a_proof_answered_without_tokens_or_a_challenge_is_malformed(replay_server):
    cognito_answers(replay_server, "challenge", path="/c")
    replay_server.add("POST", "/c", json={"ChallengeParameters": {}})
    with pytest.raises(MalformedResponse, match="ChallengeName") as caught:
        login(replay_server)
    assert not isinstance(caught.value, AuthError)


@pytest.mark.parametrize("kwh", [float("nan"), float("inf")])
def test_a_chart_minute_that_is_no_finite_number_is_malformed(replay_server, kwh):
    """Python's JSON reads NaN and Infinity; float() let them through to the write."""
    emporia_routes(replay_server)
    answer_app_api(
        replay_server,
        {**CHART, "end": "2026-05-01T14:06:00.000Z"},
        json={"firstUsageInstant": "2026-05-01T13:56:00Z", "usageList": [0.0171, kwh]},
    )
    with pytest.raises(
        MalformedResponse, match=r"getChartUsage: usageList\[1\] should be a finite"
    ):
        fetch(replay_server)
