"""aWATTar adapter against the local replay server: units, slot widths, DST, history, errors."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from collectors.base import ConfigError, Credentials, SiteInfo, Window
from collectors.pricing.awattar import AwattarAdapter
from enrich.http import AuthError, MalformedResponse, TransientError
from tests.collectors.scenarios_pricing import AWATTAR_NOW, SCENARIOS
from tests.support.http_faults import (
    fails_without_retry,
    gives_up_at_the_timeout,
    rate_limited_for,
)
from tests.support.pricing import CET_DST_DAYS, assert_slots, per_kwh, split

PATH = "/v1/marketdata"
HAND_MADE_DAY = [85.96, 80.10, 75.00, 70.00, 72.50, 78.00, 95.00, 120.00, 130.40, 110.00,
                 60.00, 20.00, -5.12, -10.00, 5.00, 40.00, 90.00, 140.00, 160.25, 150.00,
                 125.00, 100.00, 92.00, 88.00]  # fmt: skip  # EUR/MWh, local hours 0..23


@pytest.fixture
def adapter() -> AwattarAdapter:
    return AwattarAdapter()


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def run(adapter, server, now=AWATTAR_NOW, start=None, region="DE"):
    site = SiteInfo("home", 52.5, 13.4, pricing_region=region)
    credentials = Credentials(options={"base_url": server.url})
    window = Window(start=start or now - timedelta(hours=1), end=now, now=now)
    return adapter.fetch(adapter.target(site, credentials), credentials, window)


def test_hourly_day_in_eur_per_kwh(replay_server, adapter):
    site, credentials, now = SCENARIOS["awattar"](replay_server)
    target = adapter.target(site, credentials)
    assert target.key == "DE"
    result = adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))

    [request] = replay_server.calls("GET", PATH)
    assert request.query == {
        "start": ms(now - timedelta(hours=1)),
        "end": ms(now + timedelta(hours=48)),
    }
    assert "Authorization" not in request.headers

    forecast, headline = split(result)
    assert len(forecast) == 24
    first = forecast[0]
    assert first.time == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)  # local midnight
    assert first.fields == {"price": 0.08596, "slot_minutes": 60.0}  # 85.96 EUR/MWh
    assert forecast[12].fields["price"] == -0.00512  # negative prices are valid
    assert [r.fields["price"] for r in forecast] == [per_kwh(p, 1000) for p in HAND_MADE_DAY]
    assert {r.tags["provider"] for r in result.readings} == {"awattar"}
    assert first.tags == {"provider": "awattar", "currency": "EUR", "region": "DE"}

    # now 00:20 local: the current slot is 00:00 (85.96)
    assert headline.time == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)
    assert headline.tags == {**first.tags, "window_hours": "3"}  # the default window_hours
    assert headline.fields["current_price"] == 0.08596
    # 12 of the 24 hours are dearer than 85.96 -> not in the dearest quarter
    assert headline.fields["peak_period"] is False
    assert headline.fields["average_price_24h"] == pytest.approx(sum(HAND_MADE_DAY) / 24 / 1000)
    # from 01:00 local on: -10 (13 h), -5.12 (12 h), 5 (14 h) local = 10-12 UTC
    assert json.loads(headline.fields["cheapest_hours"]) == [
        "2026-05-01T10:00:00+00:00", "2026-05-01T11:00:00+00:00", "2026-05-01T12:00:00+00:00"
    ]  # fmt: skip
    # 160.25 (18 h), 150 (19 h), 140 (17 h) local = 15-17 UTC
    assert json.loads(headline.fields["most_expensive_hours"]) == [
        "2026-05-01T15:00:00+00:00", "2026-05-01T16:00:00+00:00", "2026-05-01T17:00:00+00:00"
    ]  # fmt: skip
    assert result.current["current_price"] == 0.08596
    assert result.current["unit"] == "EUR/kWh"
    assert result.current["time"] == "2026-04-30T22:00:00+00:00"
    json.dumps(result.current)


@pytest.mark.parametrize(("hours", "tag"), [(0.3333, "0.333333"), ("1.5", "1.5")])
def test_window_hours_of_whole_minutes_name_their_cheapest_and_dearest_slots(
    replay_server, adapter, hours, tag
):
    """0.3333 h is 20 minutes, as the windows API reads it: the cheapest 20 minutes are in the
    -10 EUR/MWh hour (13 h local), the dearest in the 160.25 one (18 h). Before, 0.3333 h
    (1199.88 s) was searched as it was, no window of the slots lasted it, and both lists
    were empty at every fetch."""
    site, credentials, now = SCENARIOS["awattar"](replay_server)
    credentials = replace(credentials, options={**credentials.options, "window_hours": hours})
    target = adapter.target(site, credentials)
    _, headline = split(adapter.fetch(target, credentials, Window(now, now, now)))
    cheapest = json.loads(headline.fields["cheapest_hours"])
    dearest = json.loads(headline.fields["most_expensive_hours"])
    if tag == "1.5":  # -10 and the cheaper half of -5.12 / 5; 160.25 and half of 150 / 140
        assert cheapest == ["2026-05-01T10:00:00+00:00", "2026-05-01T11:00:00+00:00"]
        assert dearest == ["2026-05-01T16:00:00+00:00", "2026-05-01T17:00:00+00:00"]
    else:
        assert cheapest == ["2026-05-01T11:00:00+00:00"]
        assert dearest == ["2026-05-01T16:00:00+00:00"]
    assert headline.tags["window_hours"] == tag


def test_current_slot_and_peak_in_the_evening(replay_server, adapter):
    SCENARIOS["awattar"](replay_server)
    now = datetime(2026, 5, 1, 16, 30, tzinfo=UTC)  # 18:30 local: 160.25, the day's maximum
    _, headline = split(run(adapter, replay_server, now=now))
    assert headline.time == datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
    assert headline.fields["current_price"] == 0.16025
    # the day's maximum, but only 6 h of the next 24 are priced (< 12 h): the peak is unknown
    # and not written (before, any slot in the top quarter of 6 h was "peak")
    assert "peak_period" not in headline.fields
    # known from 18:00 local: 160.25 150 125 100 92 88
    assert headline.fields["average_price_24h"] == pytest.approx(
        (160.25 + 150 + 125 + 100 + 92 + 88) / 6 / 1000
    )
    # only 5 h known from 19:00 local: the cheapest 3 are 88, 92, 100 (21-23 h local)
    assert json.loads(headline.fields["cheapest_hours"]) == [
        "2026-05-01T19:00:00+00:00", "2026-05-01T20:00:00+00:00", "2026-05-01T21:00:00+00:00"
    ]  # fmt: skip


@pytest.mark.parametrize("season", list(CET_DST_DAYS))
def test_quarter_hours_on_dst_days(replay_server, adapter, season):
    slots, first, last_end = CET_DST_DAYS[season]
    payload = replay_server.load_fixture(f"awattar/marketdata_quarter_dst_{season}.json")
    replay_server.add("GET", PATH, json=payload)
    forecast, headline = split(
        run(adapter, replay_server, now=first + timedelta(hours=10, minutes=5))
    )
    assert_slots(forecast, slots, first, last_end, minutes=15)
    assert [r.fields["price"] for r in forecast] == [
        per_kwh(row["marketprice"], 1000) for row in payload["data"]
    ]
    # the current slot is the quarter containing now (10:05 after the first slot)
    assert headline.time == first + timedelta(hours=10)
    # 3 h of quarter-hours = 12 slot starts
    assert len(json.loads(headline.fields["cheapest_hours"])) == 12


def test_backfill_asks_for_the_missed_period_up_to_seven_days(replay_server, adapter):
    SCENARIOS["awattar"](replay_server)
    run(adapter, replay_server, start=AWATTAR_NOW - timedelta(days=3))
    run(adapter, replay_server, start=AWATTAR_NOW - timedelta(days=30))
    first, second = replay_server.calls("GET", PATH)
    assert first.query["start"] == ms(AWATTAR_NOW - timedelta(days=3))
    assert second.query["start"] == ms(AWATTAR_NOW - timedelta(days=7))
    assert adapter.history == timedelta(days=7)
    assert (adapter.budget, adapter.budget_scope) == ("100/day", "account")


def test_region_must_be_de_or_at(adapter):
    at = adapter.target(SiteInfo("Wien", 48.2, 16.4, pricing_region="at"), Credentials())
    assert at.key == "AT"
    with pytest.raises(ConfigError, match="Site.pricing_region.*PRICING_REGION.*DE or AT"):
        adapter.target(SiteInfo("Zürich", 47.4, 8.5, pricing_region="CH"), Credentials())
    with pytest.raises(ConfigError, match="window_hours"):
        adapter.target(
            SiteInfo("x", 0, 0, pricing_region="DE"), Credentials(options={"window_hours": 0})
        )


def test_empty_answer_writes_nothing(replay_server, adapter):
    replay_server.add("GET", PATH, json={"object": "list", "data": []})
    result = run(adapter, replay_server)
    assert result.readings == []
    assert result.current["message"] == "the answer holds no prices"


def test_wrong_unit_or_missing_field_is_malformed(replay_server, adapter):
    row = {"start_timestamp": 1777586400000, "end_timestamp": 1777590000000, "marketprice": 85.96}
    replay_server.add(
        "GET", PATH, json={"object": "list", "data": [{**row, "unit": "Eur/kWh"}]}, times=1
    )
    with pytest.raises(MalformedResponse, match="unit is 'Eur/kWh', expected 'Eur/MWh'"):
        run(adapter, replay_server)
    replay_server.add(
        "GET",
        PATH,
        json={"object": "list", "data": [{"unit": "Eur/MWh", **row, "marketprice": None}]},
    )
    with pytest.raises(MalformedResponse, match=r"data\[0\].marketprice should be a number"):
        run(adapter, replay_server)


def test_non_json_answer_is_malformed_and_not_retried(replay_server, adapter):
    replay_server.add(
        "GET", PATH, body="<html>Wartungsarbeiten</html>", headers={"Content-Type": "text/html"}
    )
    with fails_without_retry(replay_server, "GET", PATH, MalformedResponse, "not JSON"):
        run(adapter, replay_server)


def test_auth_failure_is_permanent_and_not_retried(replay_server, adapter):
    replay_server.add("GET", PATH, status=403, body="Forbidden")
    with fails_without_retry(replay_server, "GET", PATH, AuthError):
        run(adapter, replay_server)


def test_server_error_is_retried_then_transient(replay_server, adapter):
    replay_server.add("GET", PATH, status=503, body="busy", times=1)
    replay_server.add(
        "GET", PATH, json=replay_server.load_fixture("awattar/marketdata_hourly.json")
    )
    assert len(run(adapter, replay_server).readings) == 25
    replay_server.reset()
    replay_server.add("GET", PATH, status=500, body="oops")
    with pytest.raises(TransientError, match="HTTP 500"):
        run(adapter, replay_server)
    assert len(replay_server.calls("GET", PATH)) == 2  # HTTP_MAX_RETRIES = 1


def test_429_retry_after(replay_server, adapter):
    replay_server.add("GET", PATH, status=429, headers={"Retry-After": "0"}, body="", times=1)
    replay_server.add(
        "GET", PATH, json=replay_server.load_fixture("awattar/marketdata_hourly.json")
    )
    assert len(run(adapter, replay_server).readings) == 25
    assert len(replay_server.calls("GET", PATH)) == 2
    replay_server.reset()
    with rate_limited_for(replay_server, "GET", PATH, seconds=3600):
        run(adapter, replay_server)
    assert len(replay_server.calls("GET", PATH)) == 1  # longer than we wait inline


def test_hang_longer_than_the_timeout(replay_server, adapter, settings):
    replay_server.add("GET", PATH, json={"object": "list", "data": []}, delay=5)
    with gives_up_at_the_timeout(settings):
        run(adapter, replay_server)
