"""Sense answers that are not the documented shape (found by fuzzing): the login answer, the
realtime frames and the trends. Each is a MalformedResponse naming what was wrong (permanent:
asking again gives the same), never a ValueError or OverflowError out of the adapter, a wait
for the feed's timeout classed as transient, or readings written on a guess."""

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import Window
from collectors.smart_meter.sense.adapter import SenseAdapter
from enrich.http import MalformedResponse, TransientError
from tests.collectors.scenarios_smart_meter import SENSE_NOW, SITE, sense_credentials, sense_routes
from tests.collectors.sense_feed import CLOSE
from tests.support.replay import load_fixture

HELLO = load_fixture("sense/frame_hello.json")


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1


def fetch(server, feed_url, start=SENSE_NOW - timedelta(minutes=5), **options):
    adapter = SenseAdapter()
    credentials = sense_credentials(server, feed_url, **options)
    window = Window(start=start, end=SENSE_NOW, now=SENSE_NOW)
    return adapter.fetch(adapter.target(SITE, credentials), credentials, window)


def realtime(**payload) -> dict:
    """The documented realtime_update frame with `payload` values replaced."""
    frame = load_fixture("sense/frame_realtime_update.json")
    frame["payload"].update(payload)
    return frame


# --- the login answer ---


@pytest.mark.parametrize(
    "where, value, problem",
    [
        ("monitor", "", "monitors[0]: id should be a number or letters and digits, got ''"),
        ("monitor", None, "monitors[0]: id should be"),
        ("monitor", "98765/../1", "monitors[0]: id should be"),
        ("user", None, "the login answer: user_id should be a number or letters and digits"),
        ("user", True, "the login answer: user_id should be"),
    ],
)
def test_login_ids_that_are_none_are_malformed(replay_server, feed, where, value, problem):
    """The monitor id goes into the feed's URL and the `device` tag ("" failed the watch's
    Redis key after the readings were written), the user id into each renewal."""
    login = replay_server.load_fixture("sense/authenticate.json")
    if where == "monitor":
        login["monitors"][0]["id"] = value
    else:
        login["user_id"] = value
    replay_server.add("POST", "/authenticate", json=login)
    sense_routes(replay_server)
    with pytest.raises(MalformedResponse) as caught:
        fetch(replay_server, feed.url)
    assert problem in str(caught.value)
    assert "access-one" not in str(caught.value)  # the login answer is not shown: its tokens
    assert feed.connections == []


# --- realtime frames ---


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"devices": 7}, "devices should be a list"),
        ({"devices": {"id": "11654c89", "name": "Dryer", "w": 5584.7}}, "devices should be"),
        ({"devices": "x"}, "devices should be a list"),
        ({"epoch": 1777644342000}, "epoch 1777644342000.0 is not seconds"),  # milliseconds
        ({"epoch": 1777644342e6}, "epoch 1777644342000000.0 is not seconds"),  # microseconds
        ({"epoch": math.nan}, "epoch should be a finite number"),
        ({"epoch": math.inf}, "epoch should be a finite number"),
        ({"epoch": -math.inf}, "epoch should be a finite number"),
        ({"epoch": -1e13}, "epoch -10000000000000.0 is not"),  # before year 1
        ({"epoch": 10_000_000_000}, "epoch 10000000000.0 is not seconds"),  # 2286: past InfluxDB
    ],
)
def test_a_realtime_value_of_another_shape_is_malformed(replay_server, feed, value, problem):
    sense_routes(replay_server)
    feed.script([HELLO, realtime(**value)])
    with pytest.raises(MalformedResponse, match=f"realtime_update: {re.escape(problem)}"):
        fetch(replay_server, feed.url)


@pytest.mark.parametrize(
    "frame, problem",
    [
        ([1, 2], "a frame has no 'type'"),
        ("just text", "a frame has no 'type'"),
        ({"payload": {"w": 1.0}}, "a frame has no 'type'"),
        ({"type": 7}, "a frame has no 'type'"),
        ({"type": "error", "payload": "boom"}, "error has no payload object"),
        ({"type": "error"}, "error has no payload object"),
    ],
)
def test_a_frame_that_is_not_the_documented_shape_is_malformed_not_transient(
    replay_server, feed, frame, problem
):
    """Every frame is {"type": ..., "payload": {...}}: anything else is no feed we can read,
    and the next run would get the same; it was skipped, then timed out as transient."""
    sense_routes(replay_server)
    feed.script([HELLO, frame if not isinstance(frame, str) else f'"{frame}"'])
    with pytest.raises(MalformedResponse, match=problem):
        fetch(replay_server, feed.url, realtime_timeout=1)


def test_a_feed_that_closes_the_connection_is_transient(replay_server, feed):
    """websocket-client answers a close frame with "": that is the feed going away (e.g. a
    restart), which the next run may find back, not a frame that is no JSON."""
    sense_routes(replay_server)
    feed.script([HELLO, CLOSE])
    with pytest.raises(TransientError, match="closed the connection before a realtime_update"):
        fetch(replay_server, feed.url)


# --- trends after an outage ---


def trends_day(**changes) -> dict:
    body = load_fixture("sense/trends_day.json")
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"steps": math.nan}, "steps"),
        ({"steps": math.inf}, "steps"),
        ({"steps": 10**18}, "in 1e\\+18 steps"),  # a step of no time: every hour at 04:00
        ({"consumption": {"total": 23.84, "totals": [math.nan]}}, r"consumption.totals\[0\]"),
        ({"consumption": {"total": 23.84, "totals": [0.9, math.inf]}}, r"totals\[1\]"),
    ],
)
def test_trends_of_an_outage_that_are_not_a_day_of_steps_are_malformed(
    replay_server, feed, changes, problem
):
    sense_routes(replay_server)
    replay_server.add(
        "GET",
        "/app/history/trends",
        query={"start": "2026-05-01T04:00:00"},
        json=trends_day(**changes),
    )
    outage = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
    with pytest.raises(MalformedResponse, match=problem):
        fetch(replay_server, feed.url, start=outage)
