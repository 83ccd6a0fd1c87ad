"""enrich.http counts every request a piece of work sends, retries included, and sends a retry
only once whoever counts has paid for it (the pipeline's API budgets). Against the replay
server: real sockets, real retries."""

import logging
import threading

import pytest

from enrich import http
from enrich.http import HttpPolicy, RateLimitedError, TransientError
from tests.support.replay import unused_url

FAST = HttpPolicy(timeout=2.0, max_retries=3, backoff=0.01, max_retry_after=5.0)


class Payer:
    """Pays for `allowed` retries, then refuses, saying "budget used up"."""

    def __init__(self, allowed: int) -> None:
        self.allowed, self.asked = allowed, 0

    def __call__(self) -> str:
        self.asked += 1
        return "" if self.asked <= self.allowed else "budget used up"


def test_each_attempt_is_counted_and_each_retry_paid_for(replay_server):
    replay_server.add("GET", "/prices", 503, body="maintenance", times=2)
    replay_server.add("GET", "/prices", json={"data": []})
    pay = Payer(allowed=10)
    with http.counting(pay) as attempts:
        assert http.get_json("awattar", replay_server.url + "/prices", policy=FAST) == {"data": []}
    assert (attempts.sent, attempts.retries) == (3, 2) == (len(replay_server.requests), pay.asked)


def test_nothing_is_asked_without_a_retry_due(replay_server):
    replay_server.add("GET", "/ok", json={})
    replay_server.add("GET", "/gone", 404, body="no such tariff")
    replay_server.add("GET", "/down", 503, body="maintenance")
    pay = Payer(allowed=0)
    with http.counting(pay) as attempts:
        http.get_json("awattar", replay_server.url + "/ok", policy=FAST)
        with pytest.raises(http.PermanentError):
            http.get_json("awattar", replay_server.url + "/gone", policy=FAST)
        with pytest.raises(TransientError):  # the policy allows no retry: none to pay for
            http.get_json("awattar", replay_server.url + "/down", policy=FAST, max_retries=0)
    assert (attempts.sent, attempts.retries, pay.asked) == (3, 0, 0)


@pytest.mark.parametrize("answer", ["503", "429", "refused"])
def test_a_retry_not_paid_for_is_not_sent_and_the_error_says_so(replay_server, caplog, answer):
    url = replay_server.url + "/prices"
    if answer == "503":
        replay_server.add("GET", "/prices", 503, body="maintenance")
    elif answer == "429":
        replay_server.add("GET", "/prices", 429, headers={"Retry-After": "0"}, body="")
    else:
        url = unused_url() + "/prices"
    pay = Payer(allowed=1)
    with caplog.at_level(logging.INFO, logger="enrich.http"):
        with http.counting(pay) as attempts, pytest.raises(TransientError) as caught:
            http.get_json("awattar", url, policy=FAST)
    assert (attempts.sent, attempts.retries, pay.asked) == (2, 1, 2)
    assert len(replay_server.requests) == (0 if answer == "refused" else 2)
    error = caught.value
    assert error.attempts == 2
    assert "after 2 attempts (budget used up, not retried)" in str(error)
    assert isinstance(error, RateLimitedError) == (answer == "429")
    records = [r for r in caplog.records if r.name == "enrich.http"]
    assert [r.outcome for r in records][0] == "retry"
    assert records[-1].getMessage().endswith("budget used up, not retried")


def test_outside_counting_every_retry_of_the_policy_goes(replay_server):
    replay_server.add("GET", "/prices", 503, body="maintenance")
    with pytest.raises(TransientError) as caught:
        http.get_json("awattar", replay_server.url + "/prices", policy=FAST)
    assert caught.value.attempts == len(replay_server.requests) == 4
    assert "after 4 attempts." in str(caught.value)


def test_each_thread_counts_its_own_requests(replay_server):
    replay_server.add("GET", "/prices", json={})
    url = replay_server.url + "/prices"
    counted = {}

    def fetch(name: str, calls: int, ready: threading.Barrier) -> None:
        with http.counting() as attempts:
            ready.wait()
            for _ in range(calls):
                http.get_json("awattar", url, policy=FAST)
            ready.wait()
            counted[name] = attempts.sent

    ready = threading.Barrier(2)
    threads = [threading.Thread(target=fetch, args=(n, c, ready)) for n, c in (("a", 1), ("b", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counted == {"a": 1, "b": 3}


def test_a_retry_whose_wait_would_outlast_the_deadline_is_not_made(replay_server):
    """A 429 asking for a wait the policy sits out, again and again: only the waits that end
    within the work's time are sat out; then the 429 fails at once, the wait attached (so the
    pipeline remembers it), where the collect task's time limit stopped the run mid-wait."""
    replay_server.add("GET", "/prices", 429, headers={"Retry-After": "2"}, body="")
    pay = Payer(allowed=10)
    with http.counting(pay, seconds=3) as attempts:
        with pytest.raises(RateLimitedError) as raised:
            http.get_json("tibber", replay_server.url + "/prices", policy=FAST)
    assert raised.value.retry_after == 2.0
    assert (attempts.sent, attempts.retries, pay.asked) == (2, 1, 1)  # the refused one unpaid
    assert "the 2 s wait would outlast the time this work has, not retried" in str(raised.value)
