"""The price now at the last second of a slot and the first of the next, at every edge of a
DST day: Berlin's 92 and 100 quarter hours (aWATTar, with negative prices) and London's 50
half hours of its autumn day (Octopus), collected from their documented payloads through the
real pipeline. GET /api/enrichment/current and Home Assistant's price entity must both name
the slot covering the moment to the microsecond (hh:14:59, hh:14:59.999999, hh:15:00); the
per-minute sweep (test_price_clock.py) never looks inside a minute. Expected prices come
straight from the payloads."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from collectors.ha_mqtt.entities import pricing_states
from enrich.models import ProviderConfig, Site
from tests.support.pricing import CET_DST_DAYS, per_kwh
from tests.support.replay import load_fixture
from tests.support.stored_prices import (
    TIBBER_PATH,
    Case,
    assert_slot_served,
    collect,
    payload_slots,
    tibber_config,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

SECOND, TICK = timedelta(seconds=1), timedelta(microseconds=1)
CASES = {
    f"awattar_15min_{season}": Case("awattar", f"awattar/marketdata_quarter_dst_{season}.json",
                                    "DE", "EUR", 15, first, end, first)
    for season, (_, first, end) in CET_DST_DAYS.items()
} | {
    # London 2026-10-25: 01:00-02:00 BST, then 01:00-02:00 GMT again (25 h, 50 half hours)
    "octopus_30min_autumn": Case("octopus", "octopus/agile_dst_autumn.json",
                                 "E-1R-AGILE-24-10-01-C", "GBP", 30,
                                 datetime(2026, 10, 24, 23, tzinfo=UTC),
                                 datetime(2026, 10, 26, 0, tzinfo=UTC),
                                 datetime(2026, 10, 25, 0, tzinfo=UTC)),
}  # fmt: skip


def assert_every_edge(site: Site, expected: list, minutes: int, api, monkeypatch) -> None:
    """At the last microsecond and the first of every slot (hh:14:59.999999, hh:15:00), and after the
    last: the price of the slot covering the moment, in the REST answer and in Home
    Assistant's price entity; none after the last slot."""
    for slot in expected:
        assert slot[1] - slot[0] == timedelta(minutes=minutes)
        for moment in (slot[1] - TICK, slot[0]):
            assert_slot_served(api, site, moment, slot, monkeypatch)
    after = expected[-1][1]
    monkeypatch.setattr(clock, "utc_now", lambda: after)
    [entry] = api.get("/api/enrichment/current").json()["sources"]["electricity_pricing"][
        "providers"
    ]
    assert entry["stale"] is True
    [price_state, *_] = pricing_states(site, entry, 1, after)
    assert price_state.state is None


@pytest.mark.usefixtures("many_reads")
@pytest.mark.parametrize("name", CASES)
def test_last_second_of_a_slot_is_its_own_price_and_the_edge_the_next(
    name, own_storage, replay_server, api, monkeypatch
):
    case = CASES[name]
    config = collect(case, replay_server)
    expected = payload_slots(case)
    assert len(expected) == {"awattar_15min_spring": 92, "awattar_15min_autumn": 100,
                             "octopus_30min_autumn": 50}[name]  # fmt: skip
    assert any(price < 0 for _, _, price in expected) or case.provider == "octopus"
    assert_every_edge(config.site, expected, case.slot_minutes, api, monkeypatch)


@pytest.mark.usefixtures("many_reads")
@pytest.mark.parametrize("season", list(CET_DST_DAYS))
def test_hourly_prices_of_a_dst_day_change_at_each_hour(
    season, own_storage, replay_server, api, monkeypatch
):
    """aWATTar answering Berlin's DST days in hours (23 or 25 of them, each at its first
    quarter's price from the documented payload): the edges are those of the hours."""
    count, first, end = CET_DST_DAYS[season]
    quarters = load_fixture(f"awattar/marketdata_quarter_dst_{season}.json")["data"]
    hours = [{**row, "end_timestamp": row["start_timestamp"] + 3_600_000}
             for row in quarters[::4]]  # fmt: skip
    assert len(hours) == count // 4 and hours[-1]["end_timestamp"] == end.timestamp() * 1000
    replay_server.add("GET", "/v1/marketdata", json={"object": "list", "data": hours})
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                               timezone="Europe/Berlin", pricing_region="DE")  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="awattar",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(config, now=first + timedelta(hours=6, minutes=7)).status == "ok"
    expected = [(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC),
                 datetime.fromtimestamp(r["end_timestamp"] / 1000, UTC),
                 per_kwh(r["marketprice"], 1000)) for r in hours]  # fmt: skip
    assert_every_edge(site, expected, 60, api, monkeypatch)


def test_a_gap_in_quarter_hours_with_the_api_down_serves_each_slot_then_says_stale(
    own_storage, replay_server, api, monkeypatch
):
    """Tibber's quarter hours of Berlin's spring DST day with three of them missing (12:30 to
    13:15 CEST) and negative prices, fetched once at 08:07 CEST; every later run fails. The
    price follows the stored slots (not stale) up to the gap's first second, is stale in the
    gap (the REST answer shows the last fetch as it was, Home Assistant no price), comes back
    at its end, and after the day's last slot is stale for good."""
    payload = load_fixture("tibber/price_info_dst_spring.json")
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    gap = {f"2026-03-29T{t}:00.000+02:00" for t in ("12:30", "12:45", "13:00")}
    info["today"] = [
        {**entry, "total": round(entry["total"] - 0.7, 4) if i % 5 == 0 else entry["total"]}
        for i, entry in enumerate(info["today"])
        if entry["startsAt"] not in gap
    ]
    info["current"] = {**info["current"], "startsAt": "2026-03-29T08:00:00.000+02:00",
                       "total": info["today"][28]["total"]}  # fmt: skip
    assert len(info["today"]) == 89 and min(e["total"] for e in info["today"]) < 0
    day_end = datetime(2026, 3, 29, 22, tzinfo=UTC)  # 24:00 CEST: the last slot ends
    config = tibber_config(replay_server, payload, timezone="Europe/Berlin")
    replay_server.add("POST", TIBBER_PATH, status=503, body="down")  # after the first answer
    site = config.site
    fetched = datetime(2026, 3, 29, 6, 7, tzinfo=UTC)
    assert pipeline.collect(config, now=fetched).status == "ok"
    assert pipeline.collect(config, now=fetched + timedelta(hours=1)).status == "failed"
    slots = {
        datetime.fromisoformat(e["startsAt"]).astimezone(UTC): e["total"] for e in info["today"]
    }

    def seen(moment: datetime) -> tuple[dict, object]:
        monkeypatch.setattr(clock, "utc_now", lambda: moment)
        body = api.get("/api/enrichment/current").json()
        [entry] = body["sources"]["electricity_pricing"]["providers"]
        [price_state, *_] = pricing_states(site, entry, 1, moment)
        return entry, price_state

    gap_start = datetime(2026, 3, 29, 10, 30, tzinfo=UTC)
    gap_end = datetime(2026, 3, 29, 11, 15, tzinfo=UTC)
    for moment in (
        fetched + timedelta(hours=2),
        gap_start - SECOND,
        gap_start - TICK,
        gap_end,
        gap_end + timedelta(minutes=14, seconds=59),
        day_end - TICK,
    ):
        start = max(s for s in slots if s <= moment)
        entry, price_state = seen(moment)
        assert entry["stale"] is False, moment
        assert entry["value"]["current_price"] == slots[start], moment
        assert entry["time"] == start.isoformat(), moment
        assert float(price_state.state) == slots[start], moment
    for moment in (gap_start, gap_end - TICK, day_end, day_end + timedelta(hours=5)):
        entry, price_state = seen(moment)
        assert entry["stale"] is True, moment
        assert "no stored price slot covers now" in entry["message"]
        # the last good answer, as it was: the slot running when it was fetched
        assert entry["time"] == "2026-03-29T06:00:00+00:00"
        assert price_state.state is None
        assert price_state.attributes["stale"] is True
        if moment < day_end:  # the windows start after the gap, with no price now to compare
            body = api.get("/api/pricing/windows", {"hours": "0.5"}).json()
            assert body["current_price"] is None and body["saving_vs_now"] is None, body
            assert datetime.fromisoformat(body["start"]) >= gap_end
            plan = api.get("/api/plan", {"hours": "0.5", "carbon_price": "0"}).json()
            assert datetime.fromisoformat(plan["start"]) >= gap_end, plan
