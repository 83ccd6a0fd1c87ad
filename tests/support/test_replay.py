"""The replay server itself: routing, queues, recording, outages."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.replay import ReplayServer, load_fixture


def test_unmatched_request_gets_a_404_naming_it(replay_server):
    replay_server.add("GET", "/known")

    response = requests.get(replay_server.url + "/unknown?zone=DE", timeout=5)

    assert response.status_code == 404
    assert response.json() == {
        "error": "no replay route matches this request",
        "method": "GET",
        "path": "/unknown",
        "query": {"zone": "DE"},
        "registered": ["GET /known"],
    }
    [recorded] = replay_server.requests
    assert not recorded.matched and recorded.path == "/unknown"


def test_queued_replies_are_served_in_order_and_the_last_one_sticks(replay_server):
    replay_server.add("GET", "/x", 503, body="busy")
    replay_server.add("GET", "/x", json={"n": 1})

    statuses = [requests.get(replay_server.url_for("/x"), timeout=5).status_code for _ in range(3)]

    assert statuses == [503, 200, 200]


def test_times_limits_a_reply_and_then_the_route_is_used_up(replay_server):
    replay_server.add("GET", "/once", json={"n": 1}, times=2)

    statuses = [
        requests.get(replay_server.url_for("/once"), timeout=5).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 404]


def test_query_subset_matching_prefers_the_most_specific_route(replay_server):
    replay_server.add("GET", "/v3/carbon-intensity/latest", json={"zone": "any"})
    replay_server.add("GET", "/v3/carbon-intensity/latest?zone=DE", json={"zone": "DE"})
    url = replay_server.url + "/v3/carbon-intensity/latest"

    de = requests.get(url, params={"zone": "DE", "extra": "1"}, timeout=5).json()
    fr = requests.get(url, params={"zone": "FR"}, timeout=5).json()

    assert (de, fr) == ({"zone": "DE"}, {"zone": "any"})
    assert [r.query for r in replay_server.requests] == [
        {"zone": "DE", "extra": "1"},
        {"zone": "FR"},
    ]


def test_requests_are_recorded_with_headers_and_body(replay_server):
    replay_server.add("POST", "/login", json={"token": "t"}, headers={"X-Trace": "abc"})

    response = requests.post(
        replay_server.url + "/login", json={"user": "u"}, headers={"X-Api-Key": "k"}, timeout=5
    )

    assert response.headers["X-Trace"] == "abc"
    assert response.headers["Content-Type"] == "application/json"
    [recorded] = replay_server.calls("POST", "/login")
    assert recorded.json() == {"user": "u"}
    assert recorded.headers["x-api-key"] == "k"  # case-insensitive
    assert replay_server.calls("GET") == []


def test_stopped_server_refuses_connections_and_restarts_on_the_same_port(replay_server):
    replay_server.add("GET", "/x", json={"ok": True})
    url = replay_server.url_for("/x")

    replay_server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    replay_server.start()

    assert requests.get(url, timeout=5).json() == {"ok": True}


def test_a_hung_reply_does_not_block_stopping_the_server():
    with ReplayServer() as server:
        server.add("GET", "/hang", delay=60)
        with pytest.raises(requests.Timeout):
            requests.get(server.url + "/hang", timeout=0.2)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5  # stop() did not wait out the 60 s delay
    assert len(server.requests) == 1


def test_a_held_reply_answers_once_the_test_lets_it_go(replay_server):
    held = threading.Event()
    replay_server.add("GET", "/token", json={"late": True}, held=held, times=1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(requests.get, replay_server.url + "/token", timeout=10)
        while not replay_server.requests:
            time.sleep(0.01)
        time.sleep(0.2)
        assert not answer.done()  # the request arrived; its answer waits
        released = time.monotonic()
        held.set()
        assert answer.result(timeout=5).json() == {"late": True}
    assert time.monotonic() - released < 1


def test_a_held_reply_does_not_block_stopping_the_server():
    with ReplayServer() as server:
        server.add("GET", "/held", held=threading.Event())
        with pytest.raises(requests.Timeout):
            requests.get(server.url + "/held", timeout=0.2)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5


def test_load_fixture_explains_a_missing_file(replay_server):
    with pytest.raises(FileNotFoundError, match="no-such.json"):
        replay_server.load_fixture("no-such.json")
    with pytest.raises(FileNotFoundError, match="tests/fixtures"):
        load_fixture("no-such.json")


def test_reset_forgets_routes_and_requests(replay_server):
    replay_server.add("GET", "/x")
    requests.get(replay_server.url_for("/x"), timeout=5)

    replay_server.reset()

    assert replay_server.requests == []
    assert requests.get(replay_server.url_for("/x"), timeout=5).status_code == 404


def test_a_stopped_server_has_ended_its_loop_and_starts_again_on_its_port():
    """serve()'s stop (tests/support/serving.py) returns once the loop has ended, however soon
    after the start, and a second stop is harmless; the restarted server answers at its URL."""
    server = ReplayServer().start()
    url = server.url_for("/x")
    server.add("GET", "/x", json={"n": 1})
    assert requests.get(url, timeout=5).json() == {"n": 1}
    loops = [t for t in threading.enumerate() if t.name == f"replay-server-{server.port}"]
    assert len(loops) == 1
    server.stop()
    server.stop()
    assert not loops[0].is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    server.start()
    try:
        assert requests.get(url, timeout=5).json() == {"n": 1}
    finally:
        server.stop()
