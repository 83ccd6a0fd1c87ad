"""Smart-meter budgets per account, through the real pipeline (PostgreSQL, Redis, InfluxDB):
Sense's 1/minute and Emporia's 2,000/day are each account's own, Emporia counts the calls it
really makes (one chart per top-level Vue), and an account whose Vues would pass 2,000 a day is
collected less often, saying so in the run record, never failing or going over."""

from datetime import timedelta

import pytest

from collectors import pipeline, registry
from collectors.base import Window
from collectors.models import CollectorRun
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from enrich.models import ProviderConfig, Site
from enrich.redis.budget import Budget
from tests.collectors.scenarios_smart_meter import (
    CHART,
    EMPORIA_NOW,
    MINUTE_USAGE,
    SENSE_LOGIN_SESSION,
    SENSE_NOW,
    SITE,
    USAGE,
    answer_app_api,
    cognito_answers,
    emporia_credentials,
    emporia_routes,
    sense_credentials,
    sense_routes,
)
from tests.support.isolation import own_storage

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]  # the adapter-only tests need neither
FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture
def isolated(settings):
    """Own InfluxDB database and Redis key prefix (budgets included); fresh adapters."""
    registry.adapter_for.cache_clear()
    with own_storage(settings, "meter-budget") as ts:
        yield ts
    registry.adapter_for.cache_clear()


def meter_config(site_name: str, provider: str, credentials) -> ProviderConfig:
    site = Site.objects.create(
        name=site_name, latitude=41.88, longitude=-87.63, timezone="America/Chicago"
    )
    return ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider=provider,
        interval_seconds=300,
        username=credentials.username,
        password=credentials.password,
        options=dict(credentials.options),
    )


def other_account(credentials, email: str):
    return credentials.__class__(
        username=email, password="other-password", options=credentials.options
    )


def test_two_sense_accounts_are_both_collected_in_the_same_minute(
    isolated, settings, replay_server, feed
):
    sense_routes(replay_server)
    first = sense_credentials(replay_server, feed.url)
    second = other_account(first, "Second.Home@example.com")
    outcomes = [
        pipeline.collect(meter_config("Home", "sense", first), now=SENSE_NOW),
        pipeline.collect(meter_config("Cabin", "sense", second), now=SENSE_NOW),
    ]
    # One budget for all accounts refused the second every cycle; each account has its own.
    assert [o.status for o in outcomes] == ["ok", "ok"]
    assert len(feed.connections) == 2

    def left(email: str) -> int:
        return Budget.from_spec("sense", "1/minute", target=email).remaining()

    assert (left("sense.owner@example.com"), left("second.home@example.com")) == (0, 0)
    assert left("third.home@example.com") == 1
    # Both homes' whole-home power is stored, each in its own series (the site tag).
    query = 'SELECT "total_power_w" FROM "smart_meter" GROUP BY "site"'
    rows = isolated.query(settings.INFLUXDB_DATABASE, query)
    assert sorted(r.tags["site"] for r in rows) == ["Cabin", "Home"]


def login_routes(server, logins: int) -> None:
    for _ in range(logins):
        cognito_answers(server, "challenge", "tokens")


def test_emporia_accounts_have_their_own_day_and_count_the_calls_made(isolated, replay_server):
    emporia_routes(replay_server)
    login_routes(replay_server, 1)  # the second account's login
    first = emporia_credentials(replay_server)
    second = other_account(first, "barn.owner@example.com")
    assert pipeline.collect(meter_config("Home", "emporia_vue", first), now=EMPORIA_NOW).status == (
        "ok"
    )
    made_first = len(replay_server.calls("GET"))
    assert made_first == 4  # device list, minute usage, day total, the one Vue's chart
    assert pipeline.collect(
        meter_config("Barn", "emporia_vue", second), now=EMPORIA_NOW
    ).status == ("ok")

    def left(email: str) -> int:
        return Budget.from_spec("emporia_vue", "2000/day", target=email).remaining()

    # 6 calls were reserved for each fetch (Vues not known yet); the 2 not made were given back.
    assert left("vue.owner@example.com") == 2000 - made_first
    assert left("barn.owner@example.com") == 2000 - 4
    assert left("third.owner@example.com") == 2000  # not shared with the others


def test_a_retry_emporia_counts_against_its_day_as_well(isolated, replay_server):
    """Emporia gives back the reserved calls it did not make; a call the HTTP door retried
    was two requests, and Emporia's 2,000 a day counts both."""
    replay_server.add("GET", "/customers/devices", status=503, body="busy", times=1)
    emporia_routes(replay_server)
    config = meter_config("Home", "emporia_vue", emporia_credentials(replay_server))
    assert pipeline.collect(config, now=EMPORIA_NOW).status == "ok"
    made = len(replay_server.calls("GET"))
    assert made == 1 + 4  # the device list twice, minute usage, day total, the chart
    left = Budget.from_spec("emporia_vue", "2000/day", target="vue.owner@example.com")
    assert left.remaining() == 2000 - made


@pytest.mark.parametrize(("status", "sent"), [(503, 2), (403, 1)])
def test_an_emporia_fetch_failing_at_its_first_call_is_charged_what_it_sent(
    isolated, replay_server, status, sent
):
    """Emporia down (503, its retry too) or refusing (403) at the minute usage, the first call
    of a fetch that reserved 6: the budget counts the requests Emporia received, not the 6 (a
    whole reservation kept burnt the day 3-6 times faster than Emporia counts it)."""
    emporia_routes(replay_server)
    config = meter_config("Home", "emporia_vue", emporia_credentials(replay_server))
    assert pipeline.collect(config, now=EMPORIA_NOW).status == "ok"
    budget = Budget.from_spec("emporia_vue", "2000/day", target="vue.owner@example.com")
    assert budget.remaining() == 2000 - 4
    replay_server.reset()  # Emporia goes down; the device list is still known
    answer_app_api(replay_server, MINUTE_USAGE, status=status, body="down")
    outcome = pipeline.collect(config, now=EMPORIA_NOW + FIVE_MINUTES)
    assert outcome.status == "failed"
    assert [r.query["scale"] for r in replay_server.requests] == ["1MIN"] * sent
    assert budget.remaining() == 2000 - 4 - sent


def test_emporia_down_at_the_minute_usage_costs_that_call_and_each_default_retry(
    isolated, replay_server, settings
):
    """With the default HTTP_MAX_RETRIES (3), Emporia down at the minute usage receives it 4
    times, and the day counts those 4: not "that call and its retry", not the 6 reserved."""
    from enrich.http.policy import HttpPolicy

    settings.HTTP_MAX_RETRIES = HttpPolicy().max_retries  # the default a user runs with
    emporia_routes(replay_server)
    config = meter_config("Home", "emporia_vue", emporia_credentials(replay_server))
    assert pipeline.collect(config, now=EMPORIA_NOW).status == "ok"
    budget = Budget.from_spec("emporia_vue", "2000/day", target="vue.owner@example.com")
    replay_server.reset()
    answer_app_api(replay_server, MINUTE_USAGE, status=503, body="down")
    assert pipeline.collect(config, now=EMPORIA_NOW + FIVE_MINUTES).status == "failed"
    sent = len(replay_server.requests)
    assert sent == 1 + HttpPolicy().max_retries == 4
    assert budget.remaining() == 2000 - 4 - sent


def sense_with_saved_session(server, feed, **options) -> ProviderConfig:
    """A Sense account whose saved login is used: its runs call no REST login."""
    config = meter_config("Home", "sense", sense_credentials(server, feed.url, **options))
    config.save_session(SENSE_LOGIN_SESSION)
    return config


def test_a_failed_sense_read_still_costs_its_minute(isolated, replay_server, feed):
    """The realtime read goes over the websocket, not enrich.http: a read the feed refused
    (HTTP 503 at the handshake, no REST call in the fetch) was still made, and Sense's 1/minute
    keeps it: the next run waits for the next minute."""
    feed.script(503)
    config = sense_with_saved_session(replay_server, feed)
    outcome = pipeline.collect(config, now=SENSE_NOW)
    assert outcome.status == "failed" and "HTTP 503" in outcome.error
    assert len(feed.connections) == 1 and replay_server.requests == []
    assert Budget.from_spec("sense", "1/minute", target="sense.owner@example.com").remaining() == 0
    later = pipeline.collect(config, now=SENSE_NOW + timedelta(minutes=1))
    assert later.status == "budget" and len(feed.connections) == 1


def test_each_sense_read_costs_one_call_and_a_rest_call_one_more(isolated, replay_server, feed):
    """The first run reads the feed and the day's trends (REST); the next only the feed: each
    read costs one call of the budget, and the trends call, made beyond the one reserved, one
    more: Sense received it (here 3/minute, so all fit in the minute)."""
    sense_routes(replay_server)
    config = sense_with_saved_session(replay_server, feed, budget="3/minute")
    budget = Budget.from_spec("sense", "3/minute", target="sense.owner@example.com")
    assert pipeline.collect(config, now=SENSE_NOW).status == "ok"
    assert len(replay_server.calls("GET", "/app/history/trends")) == 1
    assert len(replay_server.requests) == 1 and len(feed.connections) == 1
    assert budget.remaining() == 3 - 2
    assert pipeline.collect(config, now=SENSE_NOW + timedelta(minutes=1)).status == "ok"
    assert len(replay_server.requests) == 1  # the trends are known for 15 minutes
    assert len(feed.connections) == 2
    assert budget.remaining() == 0


SIX_VUES = range(3001, 3007)


def six_vue_routes(server) -> None:
    login_routes(server, 1)
    server.add(
        "GET", "/customers/devices", json=server.load_fixture("emporia/devices_six_vues.json")
    )
    minute = server.load_fixture("emporia/usage_1min_six_vues.json")
    server.add("GET", "/AppAPI", query={**USAGE, "scale": "1MIN"}, json=minute)
    day = server.load_fixture("emporia/usage_1day_six_vues.json")
    server.add("GET", "/AppAPI", query={**USAGE, "scale": "1D"}, json=day)
    for gid in SIX_VUES:
        chart = {"apiMethod": CHART["apiMethod"], "deviceGid": str(gid)}
        server.add(
            "GET",
            "/AppAPI",
            query=chart,
            json={"firstUsageInstant": "2026-05-01T13:56:00Z", "usageList": [0.012] * 30},
        )


def charted(server) -> list[str]:
    return [r.query["deviceGid"] for r in server.calls("GET", "/AppAPI") if "deviceGid" in r.query]


def test_six_vues_lower_the_accounts_cadence_and_say_so(isolated, replay_server, caplog):
    six_vue_routes(replay_server)
    credentials = emporia_credentials(replay_server, budget="2000/day")
    config = meter_config("Farm", "emporia_vue", credentials)
    budget = Budget.from_spec("emporia_vue", "2000/day", target="vue.owner@example.com")

    # First fetch: the Vues are not known yet, so 6 calls are reserved; the device list shows
    # six Vues and the fetch stays within the 6: minute usage, then 4 charts (no day total).
    first = pipeline.collect(config, now=EMPORIA_NOW)
    assert first.status == "ok"
    assert charted(replay_server) == ["3001", "3002", "3003", "3004"]
    assert "charted by the next fetch" in caplog.text
    assert budget.remaining() == 2000 - 6

    # Every 5 minutes, six Vues in one zone would make (1 + 6) x 288 + 96 + 1 + 24 = 2,137
    # calls a day (the 1: the day that ended), plus 5 % for retries: above 2,000. The next run 5 minutes later skips the call and says why.
    before = len(replay_server.calls("GET"))
    second = pipeline.collect(config, now=EMPORIA_NOW + FIVE_MINUTES)
    assert second.status == "budget"
    assert len(replay_server.calls("GET")) == before
    run = CollectorRun.objects.filter(status="budget").get()
    assert run.served.startswith(
        "cadence lowered to every 6 min for this account: every 5 min would make 2244 calls, "
        "above its budget 2000/day"
    )

    # 10 minutes after the first: fetched, all six charts from the last success (the skipped
    # run's minutes included), the day total, and exactly what was called is counted.
    third = pipeline.collect(config, now=EMPORIA_NOW + 2 * FIVE_MINUTES)
    assert third.status == "ok"
    assert (
        "cadence lowered to every 6 min" in CollectorRun.objects.filter(status="ok").first().served
    )
    assert charted(replay_server)[4:] == [str(gid) for gid in SIX_VUES]
    made = len(replay_server.calls("GET")) - before
    assert made == 1 + 1 + 6  # minute usage, day total, six charts (device list still known)
    assert budget.remaining() == 2000 - 6 - made
    chart_starts = {
        r.query["start"]
        for r in replay_server.calls("GET", "/AppAPI")[before:]
        if "start" in r.query
    }
    assert chart_starts == {"2026-05-01T14:01:00.000Z"}  # back to the first run, less 5 min


def null_usage_fetch(server, calls: int):
    """One Vue whose minute usage answers null twice: what a fetch calls within `calls`."""
    emporia_routes(server, usage="emporia/usage_1min_null.json")
    again = server.load_fixture("emporia/usage_1min_null_again.json")
    server.add("GET", "/AppAPI", query={**USAGE, "scale": "1MIN"}, json=again)
    adapter = EmporiaVueAdapter()
    credentials = emporia_credentials(server)
    target = adapter.target(SITE, credentials)
    window = Window(EMPORIA_NOW - FIVE_MINUTES, EMPORIA_NOW, EMPORIA_NOW, calls=calls)
    return adapter.fetch(target, credentials, window)


def minute_usages(server) -> int:
    minute = {**USAGE, "scale": "1MIN"}
    calls = server.calls("GET", "/AppAPI")
    return len([r for r in calls if all(r.query.get(k) == v for k, v in minute.items())])


def test_retries_of_null_usage_are_counted_as_calls(replay_server):
    result = null_usage_fetch(replay_server, calls=6)
    # Device list, the minute usage and its two retries, the day total, the chart.
    assert result.calls == len(replay_server.calls("GET")) == 6
    assert minute_usages(replay_server) == 3


def test_with_few_calls_reserved_the_chart_comes_before_retries(replay_server):
    result = null_usage_fetch(replay_server, calls=3)
    assert result.calls == len(replay_server.calls("GET")) == 3
    assert minute_usages(replay_server) == 1  # no retry, no day total: the chart needs the call
    assert charted(replay_server) == ["1234"]
