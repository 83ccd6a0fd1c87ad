"""A provider counts every request against its limits, retries included: the API budget must
too. Real PostgreSQL, Redis, InfluxDB and a replayed API; AirNow stands in for any provider
whose calls go through enrich.http.
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline, registry
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from enrich.redis.budget import Budget
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.collectors.scenarios_carbon import WATTTIME_NOW
from tests.support import configs
from tests.support.carbon_sites import watttime_config
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def config(isolated, settings, replay_server):
    settings.HTTP_MAX_RETRIES = 3  # the default: a bad hour costs up to 4 requests a call
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    return configs.airnow(site, replay_server.url, api_key="AIRNOW-KEY-123", interval_seconds=3600)


def with_budget(config, spec: str) -> Budget:
    config.options = {**config.options, "budget": spec}
    config.save()
    return Budget.from_spec("airnow", spec)


def requests_made(server) -> int:
    return len(server.calls("GET", AIRNOW_CURRENT_PATH))


def answers(server, *statuses: int) -> None:
    """The replies in turn: a 5xx "upstream down", then the fixture's observations for 200."""
    for status in statuses:
        if status == 200:
            observations = server.load_fixture("airnow/observation_current.json")
            server.add("GET", AIRNOW_CURRENT_PATH, json=observations, times=1)
        else:
            server.add("GET", AIRNOW_CURRENT_PATH, status=status, body="upstream down", times=1)


def test_a_retried_call_takes_each_request_from_the_budget(config, replay_server):
    budget = with_budget(config, "10/hour")
    answers(replay_server, 503, 200)
    outcome = pipeline.collect(config, now=datetime.now(UTC))
    assert outcome.status == "ok"
    assert requests_made(replay_server) == 2
    assert budget.remaining() == 10 - 2  # the provider counted both, so does the budget


def test_a_call_failing_every_attempt_counts_each_attempt(config, settings, replay_server):
    settings.HTTP_MAX_RETRIES = 2
    budget = with_budget(config, "10/hour")
    answers(replay_server, 503, 503, 503)
    outcome = pipeline.collect(config, now=datetime.now(UTC))
    assert outcome.status == "failed" and outcome.transient
    assert "after 3 attempts" in outcome.error
    assert requests_made(replay_server) == 3
    assert budget.remaining() == 10 - 3


def test_no_retry_once_the_budget_is_used_up_and_the_next_run_waits(config, replay_server, caplog):
    budget = with_budget(config, "2/hour")
    assert budget.take(1) is not None  # an earlier run's call
    answers(replay_server, 503, 503, 503, 503, 200)
    with caplog.at_level(logging.WARNING):
        outcome = pipeline.collect(config, now=datetime.now(UTC))
    # The call takes the last of 2/hour; a retry would pass it.
    assert requests_made(replay_server) == 1
    assert budget.remaining() == 0
    assert outcome.status == "failed" and outcome.transient
    assert "after 1 attempt (budget used up, not retried)" in outcome.error
    assert "budget used up, not retried" in caplog.text
    run = CollectorRun.objects.get()
    assert "budget used up, not retried" in run.error

    later = pipeline.collect(config, now=datetime.now(UTC) + timedelta(minutes=1))
    assert later.status == "budget" and requests_made(replay_server) == 1


def test_a_429_sat_out_inline_is_a_request_too(config, replay_server):
    budget = with_budget(config, "10/hour")
    replay_server.add(
        "GET", AIRNOW_CURRENT_PATH, status=429, headers={"Retry-After": "0"}, body="", times=1
    )
    answers(replay_server, 200)
    assert pipeline.collect(config, now=datetime.now(UTC)).status == "ok"
    assert requests_made(replay_server) == 2
    assert budget.remaining() == 10 - 2


def test_the_default_budget_counts_every_attempt_of_the_policy(config, replay_server):
    answers(replay_server, 503, 503, 503, 503)
    outcome = pipeline.collect(config, now=datetime.now(UTC))
    assert outcome.status == "failed" and "after 4 attempts." in outcome.error
    assert requests_made(replay_server) == 4
    assert Budget.from_spec("airnow", "500/hour").remaining() == 500 - 4


@pytest.fixture
def uk_national(isolated, settings, replay_server):
    """UK Carbon Intensity's national figure: 2 calls a fetch (the current half hour, then the
    48 h forecast), under a budget of 20/hour (8 kept for the fetches every 15 minutes: 12 for
    retries)."""
    settings.HTTP_MAX_RETRIES = 3
    site = Site.objects.create(name="Reading", latitude=51.45, longitude=-0.97, grid_region="GB")
    ProviderConfig.objects.create(
        site=site,
        source="carbon_intensity",
        provider="uk_carbon_intensity",
        options={"base_url": replay_server.url, "budget": "20/hour"},
    )
    return ProviderConfig.objects.get(site=site)


@pytest.mark.parametrize(("status", "sent"), [(503, 4), (403, 1)])
def test_a_fetch_failing_at_its_first_call_is_charged_the_requests_it_sent(
    uk_national, replay_server, status, sent
):
    """Down (503, every retry too) or refusing (403) at the first of its 2 calls: the forecast
    call was never sent, so its reserved call is given back; the budget counts exactly what
    reached the provider (a whole reservation kept burnt the budget faster than the provider)."""
    replay_server.add("GET", "/intensity", status=status, body="upstream down")
    outcome = pipeline.collect(uk_national, now=datetime.now(UTC))
    assert outcome.status == "failed"
    assert len(replay_server.requests) == sent
    assert Budget.from_spec("uk_carbon_intensity", "20/hour").remaining() == 20 - sent


@pytest.fixture
def watttime_calls(isolated, replay_server):
    """WattTime's forecast plan (2 calls reserved a fetch: signal index, forecast) with a fresh
    adapter, so its first fetch has no token yet and logs in first."""
    registry.adapter_for.cache_clear()
    yield lambda path: len(replay_server.calls("GET", path))
    registry.adapter_for.cache_clear()


REFUSED_TOKEN = {"status": 401, "json": {"error": "invalid token"}, "times": 1}


def test_a_watttime_login_is_charged_with_the_calls_it_made_possible(
    watttime_calls, replay_server, caplog
):
    """The login of a fetch without a token, and the one after a token refused (HTTP 401), are
    requests WattTime counted: the budget counts them, not just the 2 calls reserved."""
    replies = {"/v3/signal-index": [{"json": load_fixture("watttime/signal_index.json"), "times": 1},
                                    REFUSED_TOKEN, {"json": load_fixture("watttime/signal_index.json")}]}  # fmt: skip
    config = watttime_config(replay_server, replies, budget="10/5min")
    budget = Budget.from_spec("watttime", "10/5min")
    with caplog.at_level(logging.INFO, logger="collectors"):
        assert pipeline.collect(config, now=WATTTIME_NOW).status == "ok"
    assert [watttime_calls(p) for p in ("/login", "/v3/signal-index", "/v3/forecast")] == [1, 1, 1]
    assert budget.remaining() == 10 - 3
    # One call, counted in words: it said "1 call(s) made beyond".
    assert "1 call made beyond the 2 reserved; 1 taken from the API budget" in caplog.text

    # The token is refused: a second login, and the signal index asked again.
    assert pipeline.collect(config, now=WATTTIME_NOW + timedelta(minutes=5)).status == "ok"
    assert len(replay_server.requests) == 3 + 4
    assert budget.remaining() == 10 - 7


def test_calls_beyond_the_reservation_use_up_the_budget_but_never_pass_it(
    watttime_calls, replay_server
):
    """3/5min: the fetch reserves 2 (1 left) and makes 5 (login, signal index refused, login,
    signal index, forecast): the 1 left is taken, the budget is at 0, not at -2, and the next
    fetch waits for calls to free up."""
    replies = {"/v3/signal-index": [REFUSED_TOKEN, {"json": load_fixture("watttime/signal_index.json")}]}  # fmt: skip
    config = watttime_config(replay_server, replies, budget="3/5min")
    budget = Budget.from_spec("watttime", "3/5min")
    assert pipeline.collect(config, now=WATTTIME_NOW).status == "ok"
    assert len(replay_server.requests) == 5
    assert budget.remaining() == 0
    assert get_redis().zcard(budget.key) == 3  # the log holds the limit, nothing past it
    later = pipeline.collect(config, now=WATTTIME_NOW + timedelta(minutes=5))
    assert later.status == "budget" and len(replay_server.requests) == 5
