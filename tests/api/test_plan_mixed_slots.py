"""/api/plan and /api/pricing/windows over mixed slot lengths, against real InfluxDB.

Tibber's answer of the day the market switched to quarter hours (Uppsala, documented payload
`price_info_hourly_today_quarter_tomorrow.json`): today hourly, tomorrow (from 22:00 UTC)
quarter-hourly, collected through the real pipeline at 12:20 UTC; the clock then reads 09:10.
Today's cheap hours (UTC): 10:00 0.5369, 11:00 0.4516, 12:00 0.5316 SEK/kWh. The expected
windows are found by exhaustive search over every minute of the payload, not with the
planner's code: a window may start or end inside an hourly slot even where the quarter hours
make its length a whole number of slots.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_pricing import TIBBER_HOME, TIBBER_NOW, TIBBER_TOKEN
from tests.support.replay import load_fixture
from tests.support.stored_prices import TIBBER_PATH

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FIXTURE = "tibber/price_info_hourly_today_quarter_tomorrow.json"
NOW = datetime(2026, 5, 1, 9, 10, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def per_minute() -> dict[datetime, float]:
    """SEK/kWh per minute, straight from the payload: today's entries last an hour, tomorrow's
    a quarter."""
    info = load_fixture(FIXTURE)["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    values = {}
    for day, minutes in (("today", 60), ("tomorrow", 15)):
        for entry in info[day]:
            start = datetime.fromisoformat(entry["startsAt"]).astimezone(UTC)
            for i in range(minutes):
                values[start + i * MINUTE] = entry["total"]
    return values


def best_window(hours: float, limit: datetime) -> tuple[datetime, float]:
    """The cheapest unbroken window of `hours` starting at a whole minute from NOW and ending
    by `limit`; ties to the later one."""
    prices, length = per_minute(), round(hours * 60)
    found = []
    start = NOW
    while start + length * MINUTE <= limit:
        minutes = [start + i * MINUTE for i in range(length)]
        if all(m in prices for m in minutes):
            found.append((sum(prices[m] for m in minutes) / length, start))
        start += MINUTE
    best = min(price for price, _ in found)
    return [a for price, a in found if price <= best + 1e-12][-1], best


@pytest.fixture
def switched(own_storage, replay_server, monkeypatch):
    replay_server.add("POST", TIBBER_PATH, json=load_fixture(FIXTURE))
    site = Site.objects.create(name="Uppsala", latitude=59.86, longitude=17.64,
                               timezone="Europe/Stockholm")  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="tibber", api_key=TIBBER_TOKEN,
                                           options={"base_url": replay_server.url,
                                                    "home_id": TIBBER_HOME})  # fmt: skip
    assert pipeline.collect(config, now=TIBBER_NOW).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return site


@pytest.mark.parametrize("hours", ["1.5", "1", "0.75", "2.25", "4"])
def test_a_window_over_hourly_then_quarter_hour_prices_may_start_inside_an_hour(switched, api,
                                                                               hours):  # fmt: skip
    # 1.5 h: 11:00-12:30 = (0.4516 + 0.5 x 0.5316) / 1.5 = 0.4783; whole slots could only
    # make 1.5 h from tomorrow's quarter hours (or 21:00 + two of them), about 0.95
    start, price = best_window(float(hours), NOW + timedelta(hours=24))
    length = timedelta(hours=float(hours))
    plan = api.get("/api/plan", {"hours": hours, "carbon_price": "0"}).json()
    assert (plan["start"], plan["end"]) == (start.isoformat(), (start + length).isoformat())
    assert plan["average_price"] == pytest.approx(price)
    windows = api.get("/api/pricing/windows", {"hours": hours}).json()
    assert (windows["start"], windows["end"]) == (plan["start"], plan["end"])
    assert windows["average_price"] == pytest.approx(price)


def test_a_split_plan_over_mixed_slots_may_use_part_of_an_hour(switched, api):
    # the cheapest 90 minutes anywhere: the 11:00 hour and half of the 12:00 one; without a
    # penalty its later half (ties go later), with one next to 11:00
    start, price = best_window(1.5, NOW + timedelta(hours=24))
    query = {"hours": "1.5", "carbon_price": "0", "contiguous": "false"}
    free = api.get("/api/plan", {**query, "penalty_percent": "0"}).json()
    assert [(s["start"], s["end"]) for s in free["slots"]] == [
        ("2026-05-01T11:00:00+00:00", "2026-05-01T12:00:00+00:00"),
        ("2026-05-01T12:30:00+00:00", "2026-05-01T13:00:00+00:00")]  # fmt: skip
    assert free["average_price"] == pytest.approx(price)
    body = api.get("/api/plan", {**query, "penalty_percent": "6"}).json()
    assert (body["start"], body["end"], body["windows_used"]) == (
        start.isoformat(), (start + timedelta(hours=1.5)).isoformat(), 1)  # fmt: skip
    assert body["average_price"] == pytest.approx(price)
