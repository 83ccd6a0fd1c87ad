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
from zoneinfo import ZoneInfo

import pytest

from collectors import clock, pipeline
from tests.collectors.scenarios_pricing import TIBBER_NOW
from tests.support.replay import load_fixture
from tests.support.stored_prices import cheapest_run, tibber_config

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
    """The cheapest unbroken window of `hours` from NOW ending by `limit` (exhaustive search)."""
    return cheapest_run(per_minute(), NOW, hours, limit)


@pytest.fixture
def switched(own_storage, replay_server, monkeypatch):
    config = tibber_config(replay_server, load_fixture(FIXTURE), timezone="Europe/Stockholm")
    assert pipeline.collect(config, now=TIBBER_NOW).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return config.site


@pytest.mark.parametrize("hours", ["1.5", "1", "0.75", "2.25", "4"])
def test_a_window_over_hourly_then_quarter_hour_prices_may_start_inside_an_hour(switched, api,
                                                                               hours):  # fmt: skip
    # 1.5 h: 11:00-12:30 = (0.4516 + 0.5 x 0.5316) / 1.5 = 0.4783; whole slots could only
    # make 1.5 h from tomorrow's quarter hours (or 21:00 + two of them), about 0.95
    assert_cheapest(api, hours, *best_window(float(hours), NOW + timedelta(hours=24)))


def assert_cheapest(api, hours: str, start: datetime, price: float) -> None:
    """/api/plan (by price alone) and /api/pricing/windows both name the window from `start`,
    at `price` on average."""
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


# --- the switch on a DST day ---------------------------------------------------------------
# /api/plan and /api/pricing/windows when the switch from hourly to quarter-hour prices meets
# a DST change: Tibber's answer for Berlin's autumn DST day (25 hourly prices, 02:00-03:00 twice)
# followed by 96 quarter hours the next day, negative prices among them, collected through the
# real pipeline. At the fold, just before the switch and just after it, the cheapest unbroken
# window (any length: 45 min, 1.5 h, 3 h) must be the one an exhaustive search over every
# minute of the payload finds, not computed with the planner's code.
DST_DAY = datetime(2026, 10, 24, 22, tzinfo=UTC)  # 2026-10-25 00:00 CEST
DST_SWITCH = datetime(2026, 10, 25, 23, tzinfo=UTC)  # 2026-10-26 00:00 CET: quarter hours on
ZONE = ZoneInfo("Europe/Berlin")


def tibber_entry(start: datetime, total: float) -> dict:
    local = start.astimezone(ZONE).isoformat(timespec="milliseconds")
    return {"total": total, "startsAt": local, "level": "NORMAL"}


# EUR/kWh; negative in both 02:00 hours (00:00 and 01:00 UTC) and in some quarter hours
HOURLY = [round(0.30 + 0.05 * ((h * 7) % 9) - (0.70 if h in (2, 3, 14) else 0), 4)
          for h in range(25)]  # fmt: skip
QUARTERS = [round(0.25 + 0.03 * ((q * 5) % 11) - (0.60 if q in (3, 4, 41) else 0), 4)
            for q in range(96)]  # fmt: skip
TODAY = [tibber_entry(DST_DAY + timedelta(hours=h), p) for h, p in enumerate(HOURLY)]
TOMORROW = [tibber_entry(DST_SWITCH + q * 15 * MINUTE, p) for q, p in enumerate(QUARTERS)]


def dst_payload(current: dict) -> dict:
    info = {"current": {"currency": "EUR", "energy": 0.1, "tax": 0.1, **current},
            "today": TODAY, "tomorrow": TOMORROW}  # fmt: skip
    return {"data": {"viewer": {"home": {"currentSubscription": {"priceInfo": info}}}}}


def dst_per_minute() -> dict[datetime, float]:
    """EUR/kWh per minute: today's prices hold an hour, tomorrow's a quarter."""
    slots = [(DST_DAY + timedelta(hours=h), p, 60) for h, p in enumerate(HOURLY)]
    slots += [(DST_SWITCH + q * 15 * MINUTE, p, 15) for q, p in enumerate(QUARTERS)]
    return {start + i * MINUTE: price for start, price, length in slots for i in range(length)}


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 10, 25, 0, 59, tzinfo=UTC),  # 02:59 CEST, the first 02:00 hour ends
     datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # 02:00 CET, the second one
     datetime(2026, 10, 25, 22, 59, tzinfo=UTC),  # the last hourly minute
     datetime(2026, 10, 25, 23, 0, tzinfo=UTC)],  # the first quarter hour
)  # fmt: skip
@pytest.mark.parametrize("hours", ["0.75", "1.5", "3"])
def test_cheapest_window_across_the_fold_and_the_switch(own_storage, replay_server, api,
                                                        monkeypatch, now, hours):  # fmt: skip
    current = TODAY[8]
    config = tibber_config(replay_server, dst_payload(current), name="Berlin", latitude=52.5,
                           longitude=13.4, timezone="Europe/Berlin")  # fmt: skip
    assert pipeline.collect(config, now=DST_DAY + timedelta(hours=8, minutes=7)).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    start, price = cheapest_run(dst_per_minute(), now, float(hours), now + timedelta(hours=24))
    assert_cheapest(api, hours, start, price)
