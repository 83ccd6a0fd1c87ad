"""Tibber adapter against the local replay server: GraphQL request, quarter hours, partial
answers (also in InfluxDB), homes lookup, GraphQL errors inside HTTP 200, HTTP errors."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.pricing.tibber import TibberAdapter
from enrich.http import (
    USER_AGENT,
    AuthError,
    MalformedResponse,
    PermanentError,
    TransientError,
)
from enrich.influx import get_timeseries
from tests.collectors.scenarios_pricing import (
    SCENARIOS,
    TIBBER_HOME,
    TIBBER_NOW,
    TIBBER_TOKEN,
)
from tests.support.http_faults import (
    fails_without_retry,
    gives_up_at_the_timeout,
    rate_limited_for,
)
from tests.support.isolation import fresh_database
from tests.support.pricing import CET_DST_DAYS, assert_slots, split

PATH = "/v1-beta/gql"
FIRST_HOME = "96a14971-525a-4420-aae9-e5aedaa129ff"


@pytest.fixture
def adapter() -> TibberAdapter:
    return TibberAdapter()


def run(adapter, server, now=TIBBER_NOW, home_id=TIBBER_HOME, token=TIBBER_TOKEN):
    options = {"base_url": server.url, **({"home_id": home_id} if home_id else {})}
    credentials = Credentials(api_key=token, options=options)
    target = adapter.target(SiteInfo("home", 59.9, 17.6), credentials)
    return adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))


def answer(server, name):
    server.add("POST", PATH, json=server.load_fixture(f"tibber/{name}"))


def test_quarter_hours_with_empty_tomorrow(replay_server, adapter):
    site, credentials, now = SCENARIOS["tibber"](replay_server)
    target = adapter.target(site, credentials)
    assert target.key == TIBBER_HOME
    result = adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))

    [request] = replay_server.calls("POST", PATH)
    assert request.headers["Authorization"] == f"Bearer {TIBBER_TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    query = request.json()["query"]
    assert f'home(id: "{TIBBER_HOME}")' in query
    assert "priceInfo(resolution: QUARTER_HOURLY)" in query

    forecast, headline = split(result)
    # tomorrow is [] (before ~13:00 CET): today's 96 quarter hours only, nothing invented
    assert len(forecast) == 96
    assert {r.fields["slot_minutes"] for r in forecast} == {15.0}
    assert forecast[0].time == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)  # 00:00 Stockholm
    assert forecast[-1].time == datetime(2026, 5, 1, 21, 45, tzinfo=UTC)
    payload = replay_server.load_fixture("tibber/price_info_today_only.json")
    today = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]["today"]
    assert [r.fields["price"] for r in forecast] == [entry["total"] for entry in today]
    assert forecast[0].tags == {"provider": "tibber", "currency": "SEK", "region": TIBBER_HOME}

    # now 14:20 local: the current slot is 14:15 local, total 1.2633 SEK/kWh incl. VAT
    assert headline.time == datetime(2026, 5, 1, 12, 15, tzinfo=UTC)
    assert headline.fields["current_price"] == 1.2633
    assert result.current["currency"] == "SEK"
    assert result.current["unit"] == "SEK/kWh"
    assert result.current["slots_known_until"] == "2026-05-01T22:00:00+00:00"
    # the cheapest 3 h of what is left today: 12 quarter-hours, all after now
    cheapest = json.loads(headline.fields["cheapest_hours"])
    assert len(cheapest) == 12
    assert all(datetime.fromisoformat(t) >= TIBBER_NOW for t in cheapest)
    later = [r for r in forecast if r.time >= TIBBER_NOW]
    ranked = sorted(r.fields["price"] for r in later)
    assert max(r.fields["price"] for r in later if r.time.isoformat() in cheapest) <= ranked[11]


def test_hourly_series_today_and_tomorrow(replay_server, adapter):
    answer(replay_server, "price_info_hourly.json")
    forecast, headline = split(run(adapter, replay_server))
    assert len(forecast) == 48
    assert {r.fields["slot_minutes"] for r in forecast} == {60.0}
    assert forecast[-1].time == datetime(2026, 5, 2, 21, 0, tzinfo=UTC)
    assert headline.time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # 14:00 Stockholm
    assert len(json.loads(headline.fields["cheapest_hours"])) == 3


def test_slot_length_is_decided_per_day(replay_server, adapter):
    # The day the market switched: `today` hourly, `tomorrow` already quarter-hourly.
    answer(replay_server, "price_info_hourly_today_quarter_tomorrow.json")
    result = run(adapter, replay_server)

    forecast, headline = split(result)
    assert len(forecast) == 24 + 96
    today = [r for r in forecast if r.time < datetime(2026, 5, 1, 22, tzinfo=UTC)]
    tomorrow = [r for r in forecast if r.time >= datetime(2026, 5, 1, 22, tzinfo=UTC)]
    # Today keeps 60-minute slots: every hour of today is covered, none shrinks to 15 minutes.
    assert len(today) == 24 and {r.fields["slot_minutes"] for r in today} == {60.0}
    assert len(tomorrow) == 96 and {r.fields["slot_minutes"] for r in tomorrow} == {15.0}
    covered = sum(r.fields["slot_minutes"] for r in forecast)
    assert covered == 2 * 24 * 60  # two whole days, no uncovered minute
    # now 14:20 local lies in today's 14:00 hour (0.5316 SEK/kWh), not in a 15-minute gap.
    assert headline.time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert headline.fields["current_price"] == 0.5316
    assert result.current["slot_minutes"] == 60.0
    assert result.current["slots_known_until"] == "2026-05-02T22:00:00+00:00"


@pytest.mark.parametrize("season", list(CET_DST_DAYS))
def test_dst_days(replay_server, adapter, season):
    slots, first, end = CET_DST_DAYS[season]
    answer(replay_server, f"price_info_dst_{season}.json")
    now = first + timedelta(hours=11, minutes=3)  # 12:03 local in both cases
    forecast, headline = split(run(adapter, replay_server, now=now))
    assert_slots(forecast, slots, first, end, minutes=15)
    assert headline.time == first + timedelta(hours=11)


@pytest.fixture
def database(settings):
    with fresh_database("pricing") as name:
        yield name


@pytest.mark.influxdb
def test_a_partial_answer_keeps_earlier_future_slots_in_influxdb(replay_server, adapter, database):
    ts = get_timeseries()
    answer(replay_server, "price_info_hourly.json")  # today and tomorrow, hourly
    ts.write(database, run(adapter, replay_server).readings)
    replay_server.reset()
    answer(replay_server, "price_info_today_only.json")  # tomorrow: []
    ts.write(database, run(adapter, replay_server).readings)

    rows = list(
        ts.query(
            database,
            'SELECT "price", "slot_minutes" FROM "electricity_pricing_forecast" '
            'WHERE "provider" = $provider',
            params={"provider": "tibber"},
        )  # fmt: skip
    )
    tomorrow = [r for r in rows if r.time >= datetime(2026, 5, 1, 22, tzinfo=UTC)]
    today = [r for r in rows if r.time < datetime(2026, 5, 1, 22, tzinfo=UTC)]
    assert len(tomorrow) == 24  # still there, hourly, from the first answer
    assert {r.values["slot_minutes"] for r in tomorrow} == {60}
    assert len(today) == 96  # today's quarter hours (the hourly points at :00 overwritten)
    assert {r.values["slot_minutes"] for r in today} == {15}


def test_first_home_is_looked_up_once(replay_server, adapter):
    answer(replay_server, "homes.json")
    answer(replay_server, "price_info_today_only.json")
    credentials = Credentials(api_key=TIBBER_TOKEN, options={"base_url": replay_server.url})
    target = adapter.target(SiteInfo("home", 59.9, 17.6), credentials)
    assert target.key.startswith("account-") and TIBBER_TOKEN not in target.key
    window = Window(TIBBER_NOW - timedelta(hours=1), TIBBER_NOW, TIBBER_NOW)
    result = adapter.fetch(target, credentials, window)
    adapter.fetch(target, credentials, window)
    homes, prices, again = replay_server.calls("POST", PATH)
    assert "homes" in homes.json()["query"]
    assert f'home(id: "{FIRST_HOME}")' in prices.json()["query"]
    assert f'home(id: "{FIRST_HOME}")' in again.json()["query"]  # cached, no second lookup
    assert result.readings[0].tags["region"] == target.key


def test_without_home_id_the_region_tag_names_the_token_by_its_digest(replay_server, adapter):
    """docs/providers.md: the `region` tag is `account-` and 12 hex digits of the token's
    SHA-256 when no home_id is set, so a query for a home's prices can name it."""
    answer(replay_server, "homes.json")
    answer(replay_server, "price_info_today_only.json")
    result = run(adapter, replay_server, home_id=None)
    digest = hashlib.sha256(TIBBER_TOKEN.encode()).hexdigest()[:12]
    assert {r.tags["region"] for r in result.readings} == {f"account-{digest}"}


def test_without_home_id_the_first_home_with_a_running_subscription_is_used(replay_server, adapter):
    # An account that moved house lists the old home first, its subscription ended (or none).
    # Its first home was taken, so the prices asked for were the old home's, or none at all.
    homes = replay_server.load_fixture("tibber/homes.json")
    listed = homes["data"]["viewer"]["homes"]
    moved_out = {"id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "currentSubscription": None}
    ended = {"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "currentSubscription": {
        "status": "ended"}}  # fmt: skip
    homes["data"]["viewer"]["homes"] = [moved_out, ended, *listed]
    replay_server.add("POST", PATH, json=homes)
    answer(replay_server, "price_info_today_only.json")
    result = run(adapter, replay_server, home_id="")
    _, prices = replay_server.calls("POST", PATH)
    assert f'home(id: "{listed[0]["id"]}")' in prices.json()["query"]
    assert len(result.readings) == 97


def test_graphql_unauthenticated_in_http_200_is_an_auth_error(replay_server, adapter):
    answer(replay_server, "error_unauthenticated.json")
    with fails_without_retry(replay_server, "POST", PATH, AuthError, "developer.tibber.com"):
        run(adapter, replay_server)


def test_http_400_with_unauthenticated_is_an_auth_error(replay_server, adapter):
    replay_server.add(
        "POST",
        PATH,
        status=400,
        json=replay_server.load_fixture("tibber/error_unauthenticated.json"),
    )
    with fails_without_retry(replay_server, "POST", PATH, AuthError):
        run(adapter, replay_server)


def test_http_401_is_an_auth_error_not_retried(replay_server, adapter):
    replay_server.add("POST", PATH, status=401, body="Unauthorized")
    with fails_without_retry(replay_server, "POST", PATH, AuthError):
        run(adapter, replay_server)


def test_http_428_is_transient_not_a_settings_problem(replay_server, adapter):
    # Tibber's client (pyTibber, HTTP_CODES_RETRIABLE) retries 428 like 429: it was a
    # PermanentError telling the user to check the region, zone, tariff and base URL
    body = {"errors": [{"message": "Precondition Required", "extensions": {"code": "UNKNOWN"}}]}
    replay_server.add("POST", PATH, status=428, json=body)
    with fails_without_retry(replay_server, "POST", PATH, TransientError, "HTTP 428.*not at fault"):
        run(adapter, replay_server)


@pytest.mark.parametrize(
    ("code", "error"),
    [("INTERNAL_SERVER_ERROR", TransientError), ("GRAPHQL_VALIDATION_FAILED", PermanentError)],
)
def test_other_graphql_errors_by_code(replay_server, adapter, code, error):
    body = {"errors": [{"message": "something failed", "extensions": {"code": code}}]}
    replay_server.add("POST", PATH, json=body)
    with pytest.raises(error, match=code) as caught:
        run(adapter, replay_server)
    assert not isinstance(caught.value, AuthError)


def test_config_errors(adapter):
    with pytest.raises(ConfigError, match="personal access token.*PRICING_API_KEY"):
        adapter.target(SiteInfo("home", 0, 0), Credentials())
    with pytest.raises(ConfigError, match="home_id"):
        adapter.target(
            SiteInfo("home", 0, 0), Credentials(api_key="t", options={"home_id": 'x") { y'})
        )


def test_missing_total_is_malformed(replay_server, adapter):
    payload = replay_server.load_fixture("tibber/price_info_today_only.json")
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    del info["today"][3]["total"]
    replay_server.add("POST", PATH, json=payload)
    with pytest.raises(MalformedResponse, match=r"priceInfo.today\[3\] has no 'total'"):
        run(adapter, replay_server)


def test_non_json_is_malformed(replay_server, adapter):
    replay_server.add(
        "POST", PATH, body="<html>502 Bad Gateway</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(MalformedResponse):
        run(adapter, replay_server)


def test_5xx_and_429(replay_server, adapter):
    replay_server.add("POST", PATH, status=502, body="bad gateway")
    with pytest.raises(TransientError, match="HTTP 502"):
        run(adapter, replay_server)
    assert len(replay_server.calls("POST", PATH)) == 2
    replay_server.reset()
    replay_server.add("POST", PATH, status=429, headers={"Retry-After": "0"}, body="", times=1)
    answer(replay_server, "price_info_today_only.json")
    assert len(run(adapter, replay_server).readings) == 97
    replay_server.reset()
    with rate_limited_for(replay_server, "POST", PATH, seconds=600):
        run(adapter, replay_server)


def test_hang_longer_than_the_timeout(replay_server, adapter, settings):
    replay_server.add("POST", PATH, json={}, delay=5)
    with gives_up_at_the_timeout(settings):
        run(adapter, replay_server)
