"""enrich.http against the local replay server: real sockets, real timeouts, real sleeps."""

import base64
import logging
import pickle
import random
import time
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from enrich import http
from enrich.http import (
    AuthError,
    HttpPolicy,
    MalformedResponse,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from tests.support.replay import unused_url
from tests.support.startup import run_django

# Small backoff keeps the retry tests fast while still really sleeping between attempts.
FAST = HttpPolicy(timeout=2.0, max_retries=2, backoff=0.01, max_retry_after=5.0)


def attempt_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "enrich.http"]


@pytest.fixture(autouse=True)
def http_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="enrich.http")


def test_get_json_returns_parsed_body_and_logs_one_ok_attempt(replay_server, caplog):
    replay_server.add("GET", "/v3/signal-index", json={"data": [{"value": 37.0}]})

    body = http.get_json(
        "watttime", replay_server.url + "/v3/signal-index", params={"region": "CAISO_NORTH"}
    )

    assert body == {"data": [{"value": 37.0}]}
    [sent] = replay_server.requests
    assert sent.query == {"region": "CAISO_NORTH"}
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"].startswith("enrich/")
    [record] = attempt_records(caplog)
    endpoint = replay_server.url + "/v3/signal-index?region=CAISO_NORTH"
    assert record.levelno == logging.INFO
    assert (record.provider, record.method, record.endpoint) == ("watttime", "GET", endpoint)
    assert (record.status, record.outcome, record.attempt) == (200, "ok", 1)
    assert isinstance(record.duration_ms, int) and record.duration_ms >= 0
    message = record.getMessage()
    for text in ("provider=watttime", "method=GET", f"endpoint={endpoint}", "status=200"):
        assert text in message
    assert "outcome=ok" in message and "duration_ms=" in message and "attempt=1/" in message


def test_post_json_sends_json_body_and_returns_answer(replay_server):
    replay_server.add("POST", "/v1-beta/gql", json={"data": {"viewer": {"homes": []}}})

    body = http.post_json(
        "tibber",
        replay_server.url + "/v1-beta/gql",
        json={"query": "{ viewer { homes { id } } }"},
        headers={"Authorization": "Bearer tok-123456"},
    )

    assert body == {"data": {"viewer": {"homes": []}}}
    [sent] = replay_server.requests
    assert sent.method == "POST"
    assert sent.json() == {"query": "{ viewer { homes { id } } }"}
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"] == "Bearer tok-123456"


def test_request_returns_the_raw_response_for_non_json_payloads(replay_server):
    replay_server.add("GET", "/api/xml", body="<Publication_MarketDocument/>")

    response = http.request("entsoe", "GET", replay_server.url + "/api/xml")

    assert response.status_code == 200
    assert response.text == "<Publication_MarketDocument/>"


def test_session_is_shared_and_keeps_the_connection_alive(replay_server):
    replay_server.add("GET", "/ping", json={"ok": True})

    assert http.get_session() is http.get_session()
    http.get_json("test", replay_server.url + "/ping")
    http.get_json("test", replay_server.url + "/ping")

    first, second = replay_server.requests
    assert first.client_port == second.client_port  # pooled: one TCP connection, two calls


def test_timeout_raises_transient_after_all_attempts_without_hanging(replay_server, caplog):
    replay_server.add("GET", "/slow", json={"late": True}, delay=2.0)
    policy = HttpPolicy(timeout=0.3, max_retries=1, backoff=0.01, max_retry_after=5.0)

    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        http.get_json("electricitymaps", replay_server.url + "/slow", policy=policy)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0  # each attempt gave up at the 0.3 s timeout, not after the 2 s delay
    assert len(replay_server.requests) == 2
    error = caught.value
    assert not isinstance(error, RateLimitedError)
    assert error.attempts == 2 and error.status is None
    assert "no answer within 0.3 s" in str(error) and "after 2 attempts" in str(error)
    assert [r.outcome for r in attempt_records(caplog)] == ["retry", "transient"]
    assert [r.error for r in attempt_records(caplog)] == ["ReadTimeout", "ReadTimeout"]
    assert "status=ReadTimeout" in attempt_records(caplog)[0].getMessage()


def test_per_call_timeout_and_max_retries_override_the_policy(replay_server):
    replay_server.add("GET", "/slow", json={}, delay=2.0)

    with pytest.raises(TransientError):
        http.get_json("p", replay_server.url + "/slow", policy=FAST, timeout=0.2, max_retries=0)

    assert len(replay_server.requests) == 1


def test_connection_refused_is_transient_and_retried(caplog):
    url = unused_url() + "/v1/products"

    with pytest.raises(TransientError) as caught:
        http.get_json("octopus", url, policy=FAST)

    assert caught.value.attempts == 3
    assert "could not connect" in str(caught.value)
    records = attempt_records(caplog)
    assert [r.outcome for r in records] == ["retry", "retry", "transient"]
    assert [r.attempt for r in records] == [1, 2, 3]
    assert all(r.error == "ConnectionError" and r.status is None for r in records)


def test_5xx_is_retried_then_given_up_with_the_body_kept(replay_server, caplog):
    replay_server.add(
        "GET", "/intensity", 500, json={"error": {"code": "500", "message": "db down"}}
    )

    with pytest.raises(TransientError) as caught:
        http.get_json("uk_carbon", replay_server.url + "/intensity", policy=FAST)

    assert len(replay_server.requests) == 1 + FAST.max_retries
    error = caught.value
    assert error.status == 500 and error.attempts == 3
    assert "db down" in error.body_excerpt and "db down" in str(error)
    assert [r.outcome for r in attempt_records(caplog)] == ["retry", "retry", "transient"]
    assert [r.status for r in attempt_records(caplog)] == [500, 500, 500]


def test_503_then_200_succeeds_on_the_second_attempt(replay_server, caplog):
    replay_server.add("GET", "/prices", 503, body="maintenance")
    replay_server.add("GET", "/prices", json={"data": [1, 2]})

    assert http.get_json("awattar", replay_server.url + "/prices", policy=FAST) == {"data": [1, 2]}

    assert len(replay_server.requests) == 2
    assert [(r.status, r.outcome) for r in attempt_records(caplog)] == [
        (503, "retry"),
        (200, "ok"),
    ]


def test_429_with_retry_after_is_honoured_then_succeeds(replay_server, caplog):
    replay_server.add(
        "GET", "/latest", 429, json={"error": "slow down"}, headers={"Retry-After": "1"}
    )
    replay_server.add("GET", "/latest", json={"carbonIntensity": 474})

    body = http.get_json("electricitymaps", replay_server.url + "/latest", policy=FAST)

    assert body == {"carbonIntensity": 474}
    first, second = replay_server.requests
    assert second.time - first.time >= 1.0
    assert [r.outcome for r in attempt_records(caplog)] == ["retry", "ok"]
    assert "retry_in=1.00s" in attempt_records(caplog)[0].getMessage()


def test_429_with_retry_after_beyond_the_maximum_raises_at_once(replay_server, caplog):
    replay_server.add("GET", "/latest", 429, body="quota", headers={"Retry-After": "120"})

    with pytest.raises(RateLimitedError) as caught:
        http.get_json("electricitymaps", replay_server.url + "/latest", policy=FAST)

    assert len(replay_server.requests) == 1
    error = caught.value
    assert error.retry_after == 120.0 and error.status == 429 and error.attempts == 1
    assert "wait 120 s" in str(error)
    [record] = attempt_records(caplog)
    assert record.outcome == "rate_limited"


def test_429_retry_after_as_http_date_is_parsed(replay_server):
    when = datetime.now(UTC) + timedelta(seconds=100)
    replay_server.add("GET", "/latest", 429, headers={"Retry-After": format_datetime(when, True)})

    with pytest.raises(RateLimitedError) as caught:
        http.get_json("electricitymaps", replay_server.url + "/latest", policy=FAST)

    assert 97.0 <= caught.value.retry_after <= 100.0
    assert len(replay_server.requests) == 1


def test_429_without_retry_after_backs_off_like_transient(replay_server, caplog):
    replay_server.add("GET", "/signal", 429, json={"error": "too many"})

    with pytest.raises(RateLimitedError) as caught:
        http.get_json("watttime", replay_server.url + "/signal", policy=FAST)

    assert len(replay_server.requests) == 3
    assert caught.value.retry_after is None and caught.value.attempts == 3
    assert [r.outcome for r in attempt_records(caplog)] == ["retry", "retry", "rate_limited"]


def test_429_when_no_retries_remain_keeps_retry_after_for_the_task(replay_server):
    replay_server.add("GET", "/signal", 429, headers={"Retry-After": "3"})

    with pytest.raises(RateLimitedError) as caught:
        http.get_json("watttime", replay_server.url + "/signal", policy=FAST, max_retries=0)

    assert caught.value.retry_after == 3.0
    assert len(replay_server.requests) == 1


def test_parse_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
    assert http.parse_retry_after("30", now) == 30.0
    assert http.parse_retry_after(" 2.5 ", now) == 2.5
    assert http.parse_retry_after("Tue, 03 Nov 2026 12:01:30 GMT", now) == 90.0
    assert http.parse_retry_after("Tue, 03 Nov 2026 11:00:00 GMT", now) == 0.0  # past: now
    assert http.parse_retry_after("-5", now) == 0.0
    assert http.parse_retry_after("soon", now) is None
    assert http.parse_retry_after(None, now) is None
    assert http.parse_retry_after("", now) is None
    for number in ("1e400", "inf", "-Infinity", "nan"):  # was "wait inf s", or no wait for NaN
        assert http.parse_retry_after(number, now) is None


@pytest.mark.parametrize(
    ("status", "error_class", "hint"),
    [
        (401, AuthError, "refused the credentials"),
        (403, AuthError, "refused the credentials"),
        (404, PermanentError, "retrying will not fix"),
        (400, PermanentError, "retrying will not fix"),
        (410, PermanentError, "retrying will not fix"),
    ],
)
def test_4xx_is_permanent_and_never_retried(replay_server, caplog, status, error_class, hint):
    replay_server.add("GET", "/aq/observation", status, json={"message": f"reason {status}"})

    with pytest.raises(PermanentError) as caught:
        http.get_json("airnow", replay_server.url + "/aq/observation", policy=FAST)

    error = caught.value
    assert type(error) is error_class
    assert len(replay_server.requests) == 1
    assert error.status == status and error.provider == "airnow"
    assert error.endpoint == replay_server.url + "/aq/observation"
    assert f"reason {status}" in error.body_excerpt
    assert hint in str(error) and "airnow" in str(error)
    [record] = attempt_records(caplog)
    assert (record.status, record.outcome) == (status, "permanent")


def test_malformed_json_on_200_raises_with_an_excerpt(replay_server, caplog):
    page = "<html><body>Service maintenance until 14:00</body></html>"
    replay_server.add("GET", "/api", body=page, headers={"Content-Type": "text/html"})

    with pytest.raises(MalformedResponse) as caught:
        http.get_json("sense", replay_server.url + "/api", policy=FAST)

    error = caught.value
    assert isinstance(error, PermanentError)
    assert len(replay_server.requests) == 1
    assert error.status == 200
    assert "Service maintenance until 14:00" in error.body_excerpt
    assert "not JSON" in str(error) and "text/html" in str(error)
    [record] = attempt_records(caplog)
    assert (record.status, record.outcome) == (200, "malformed")


def test_malformed_helper_lets_adapters_reject_valid_json(replay_server):
    replay_server.add("GET", "/v3/forecast", json={"meta": {}, "note": "x" * 1000})
    response = http.request("watttime", "GET", replay_server.url + "/v3/forecast")

    error = http.malformed("watttime", response, "no 'data' list in the forecast")

    assert isinstance(error, MalformedResponse)
    assert error.status == 200
    assert error.endpoint == replay_server.url + "/v3/forecast"
    assert "no 'data' list in the forecast" in str(error)
    assert error.body_excerpt.startswith('{"meta": {}')
    assert len(error.body_excerpt) <= http.EXCERPT_CHARS


def visible_text(caplog: pytest.LogCaptureFixture, error: http.HttpError) -> str:
    """Everything a log reader or an error report could show about a failed call."""
    # No chained exception may carry the raw URL (requests puts it in its messages).
    assert error.__cause__ is None and error.__context__ is None
    return "\n".join(
        [caplog.text, str(error), error.body_excerpt, error.endpoint]
        + traceback.format_exception_only(error)
    )


def test_secrets_never_reach_logs_or_errors(replay_server, caplog):
    replay_server.add("GET", "/v2/data", 503, body="busy")
    replay_server.add(
        "GET",
        "/v2/data",
        401,
        json={"error": "invalid api_key=SECRET123", "token": "T0K", "echo": "SECRETBEARER"},
    )
    url = replay_server.url + "/v2/data?api_key=SECRET123&token=T0K&zone=DE"

    with pytest.raises(AuthError) as caught:
        http.get_json(
            "electricitymaps", url, headers={"Authorization": "Bearer SECRETBEARER"}, policy=FAST
        )

    # The secrets did reach the provider, as they must.
    sent = replay_server.requests[-1]
    assert sent.query["api_key"] == "SECRET123" and sent.query["token"] == "T0K"
    assert sent.headers["Authorization"] == "Bearer SECRETBEARER"
    visible = visible_text(caplog, caught.value)
    for secret in ("SECRET123", "T0K", "SECRETBEARER"):
        assert secret not in visible
    assert "zone=DE" in caplog.text
    assert "api_key=***" in caplog.text and "token=***" in caplog.text
    assert [r.outcome for r in attempt_records(caplog)] == ["retry", "permanent"]


def test_at_log_level_debug_the_libraries_lines_reach_the_log_scrubbed(replay_server):
    """LOG_LEVEL=debug lets urllib3 log each request line, query and path included; what a
    process writes to its log (stderr) shows the line with the API key and the webhook id
    scrubbed, and the harmless parameters as they were."""
    replay_server.add("GET", "/api/webhook/HOOKID42", json={"ok": True})
    url = replay_server.url + "/api/webhook/HOOKID42"
    code = (
        "from enrich import http; "
        f"http.get_json('airnow', {url!r}, params={{'API_KEY': 'KEY5ECRET', 'zipCode': '20002'}})"
    )
    result = run_django(code, LOG_LEVEL="debug")
    assert result.returncode == 0, result.stderr
    assert replay_server.requests[-1].query["API_KEY"] == "KEY5ECRET"  # it was sent
    request_line = next(
        line
        for line in result.stderr.splitlines()
        if "urllib3.connectionpool" in line and "GET" in line
    )
    assert request_line.endswith(
        '"GET /api/webhook/***?API_KEY=***&zipCode=20002 HTTP/1.1" 200 12'
    ), request_line
    assert "KEY5ECRET" not in result.stderr and "HOOKID42" not in result.stderr


def test_url_userinfo_is_sent_as_basic_auth_but_never_shown(replay_server, caplog):
    replay_server.add("GET", "/v1/account", 500, body="oops for alice:pw-SECRETPW")
    host = replay_server.url.removeprefix("http://")

    with pytest.raises(TransientError) as caught:
        http.get_json("octopus", f"http://alice:pw-SECRETPW@{host}/v1/account", policy=FAST)

    assert replay_server.requests[0].headers["Authorization"].startswith("Basic ")
    visible = visible_text(caplog, caught.value)
    assert "SECRETPW" not in visible and "alice" not in visible
    assert f"endpoint={replay_server.url}/v1/account" in caplog.text


def test_basic_auth_past_latin_1_is_sent_as_utf_8(replay_server):
    # A WattTime password holding '€' failed before any call: "could not call .../login:
    # 'latin-1' codec can't encode character '\u20ac' in position 8 ... Check the base URL".
    replay_server.add("GET", "/login", json={"token": "t"})

    body = http.get_json("watttime", replay_server.url + "/login", auth=("Łukasz", "pässwörd€"))

    assert body == {"token": "t"}
    [sent] = replay_server.requests
    expected = base64.b64encode("Łukasz:pässwörd€".encode()).decode()  # RFC 7617's UTF-8
    assert sent.headers["Authorization"] == f"Basic {expected}"


def test_secrets_never_reach_logs_when_the_connection_fails(caplog):
    url = unused_url() + "/v1?apiKey=SECRET123&signal_type=co2_moer"

    with pytest.raises(TransientError) as caught:
        http.get_json("watttime", url, auth=("alice", "SECRETPW"), policy=FAST, max_retries=1)

    visible = visible_text(caplog, caught.value)
    assert "SECRET123" not in visible and "SECRETPW" not in visible
    assert "apiKey=***" in caplog.text and "signal_type=co2_moer" in caplog.text


def test_scrub_url_removes_userinfo_fragments_and_secret_values():
    scrub = http.scrub_url
    assert scrub("https://u:p@api.example.com:8443/v1/x?zone=DE#frag") == (
        "https://api.example.com:8443/v1/x?zone=DE"
    )
    assert scrub("https://h/p?API_KEY=a&accessToken=b&client_secret=c&zone=DE") == (
        "https://h/p?API_KEY=***&accessToken=***&client_secret=***&zone=DE"
    )
    assert scrub("https://h/cb?code=abc&state=xyz&sig=s&signal_type=co2") == (
        "https://h/cb?code=***&state=xyz&sig=***&signal_type=co2"
    )
    assert scrub("https://h/p?password=a&passwd=b&Signature=c&authCode=d&flag") == (
        "https://h/p?password=***&passwd=***&Signature=***&authCode=***&flag"
    )
    assert scrub("https://h/p") == "https://h/p"


def test_scrub_text_removes_secret_pairs_and_known_values():
    text = (
        '{"access_token": "ya29.abc", "refresh_token":"1//xyz", "error": {"code": "400 Bad"}}'
        " Authorization: Bearer eyJhbGciOi.payload see https://u:p@h/x?key=K1&zone=DE"
    )
    scrubbed = http.scrub_text(text, secrets={"payload-not-here", "1//xyz"})
    for secret in ("ya29.abc", "1//xyz", "eyJhbGciOi", "u:p@", "K1"):
        assert secret not in scrubbed
    assert '"code": "400 Bad"' in scrubbed and "zone=DE" in scrubbed


def test_backoff_delay_stays_within_full_jitter_bounds():
    rng = random.Random(1234)
    base, cap = 0.05, 0.3
    for attempt in range(8):
        ceiling = min(cap, base * 2**attempt)
        samples = [http.backoff_delay(attempt, base, cap, rng) for _ in range(500)]
        assert all(0 <= d <= ceiling for d in samples)
        # Full jitter spreads over the whole range, so the ceiling really grows per attempt.
        assert max(samples) > 0.9 * ceiling and min(samples) < 0.1 * ceiling


def test_policy_comes_from_settings_lazily(replay_server, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.4
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_BACKOFF_SECONDS = 0.02
    settings.HTTP_MAX_RETRY_AFTER_SECONDS = 7

    policy = HttpPolicy.from_settings()
    assert policy == HttpPolicy(timeout=0.4, max_retries=1, backoff=0.02, max_retry_after=7.0)

    replay_server.add("GET", "/down", 502)
    with pytest.raises(TransientError):
        http.get_json("p", replay_server.url + "/down")
    assert len(replay_server.requests) == 2  # HTTP_MAX_RETRIES=1 was used


def test_default_policy_matches_the_documented_settings():
    assert HttpPolicy() == HttpPolicy(timeout=5.0, max_retries=3, backoff=1.0, max_retry_after=60)


def test_errors_survive_pickling_for_celery():
    error = RateLimitedError(
        "p: slow down",
        provider="p",
        endpoint="https://h/x",
        status=429,
        body_excerpt="quota",
        attempts=2,
        retry_after=30.0,
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is RateLimitedError and str(copy) == "p: slow down"
    assert (copy.provider, copy.endpoint, copy.status) == ("p", "https://h/x", 429)
    assert (copy.retry_after, copy.attempts, copy.body_excerpt) == (30.0, 2, "quota")


def test_invalid_url_is_a_permanent_error_with_advice():
    with pytest.raises(PermanentError) as caught:
        http.get_json("awattar", "api.awattar.de/v1/marketdata?token=SECRET123")

    assert "Check the base URL" in str(caught.value)
    assert "SECRET123" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://a..b/x", f"http://{'a' * 70}.example/x"])
def test_a_host_urllib3_refuses_is_a_permanent_error_with_advice(url):
    # urllib3's LocationParseError is a ValueError, not a requests error: it escaped the call.
    with pytest.raises(PermanentError) as caught:
        http.get_json("awattar", url)
    assert "Check the base URL" in str(caught.value)


def test_invalid_policy_is_refused_before_any_request(replay_server):
    with pytest.raises(ValueError, match="HTTP_TIMEOUT_SECONDS"):
        http.get_json("p", replay_server.url + "/x", timeout=0)

    assert replay_server.requests == []


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "http://ha.local:8123/api/webhook/enrich-alerts-8f3a",
            "http://ha.local:8123/api/webhook/***",
        ),
        (
            "https://hooks.slack.com/services/T000/B000/XXXX?x=1",
            "https://hooks.slack.com/services/***?x=1",
        ),
        ("https://api.example.org/v3/zones?zone=DE", "https://api.example.org/v3/zones?zone=DE"),
    ],
)
def test_scrub_url_hides_webhook_ids_in_the_path(url, expected):
    assert http.scrub_url(url) == expected
