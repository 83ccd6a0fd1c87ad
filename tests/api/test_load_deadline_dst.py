"""A flexible load "finished before 07:00" through the nights of the clock changes, as the status
page and Home Assistant see it (GET /api/plan/loads): Berlin's 23-hour and 25-hour days with
aWATTar's documented quarter hours (negative prices among them) collected through the real
pipeline, asked every quarter hour from local midnight and every minute around the change and
around the last moment the load fits. Its deadline is 07:00 of the site's clock (the next
morning's once three hours no longer fit), and the plan lies between now and it, within the
stored prices, and is the cheapest run an exhaustive search over the payload finds (not the
planner's code). The deadlines at any minute of the days around each change match a reading of
the site's clock minute by minute: Berlin's, New York's, Sydney's, Lord Howe Island's 30-minute
changes, Chatham's (+12:45) and St John's (-2:30), and Santiago's and Beirut's at midnight (a
day starting at 01:00, or an hour before midnight read twice); for loads of up to 24 hours
too, whose deadline after a short day can be three days on (a 24-hour load done by 00:00,
asked at 23:50 before Lord Howe Island's 23.5-hour day: the midnight after next is 23 h 40 min
away), as GET /api/plan/loads answers it."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import clock, pipeline
from collectors.models import FlexibleLoad
from collectors.pricing.loads import next_deadline
from enrich.models import ProviderConfig, Site
from tests.support.pricing import CET_DST_DAYS, per_kwh
from tests.support.replay import load_fixture
from tests.support.stored_prices import cheapest_run

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")
# 07:00 on the day the clocks change: CEST (05:00 UTC) in spring, CET (06:00 UTC) in autumn
SEVEN = {"spring": datetime(2026, 3, 29, 5, tzinfo=UTC),
         "autumn": datetime(2026, 10, 25, 6, tzinfo=UTC)}  # fmt: skip
CHANGE = {"spring": datetime(2026, 3, 29, 1, tzinfo=UTC),  # 02:00 CET -> 03:00 CEST
          "autumn": datetime(2026, 10, 25, 1, tzinfo=UTC)}  # 03:00 CEST -> 02:00 CET  # fmt: skip


def quarter_prices(season: str) -> dict[datetime, float]:
    """EUR/kWh per minute of the day, straight from the payload."""
    rows = load_fixture(f"awattar/marketdata_quarter_dst_{season}.json")["data"]
    return {
        datetime.fromtimestamp(row["start_timestamp"] / 1000, UTC) + i * MINUTE: per_kwh(
            row["marketprice"], 1000
        )
        for row in rows
        for i in range(15)
    }


def moments(season: str) -> list[datetime]:
    """Every quarter hour from local midnight to 07:00, every minute ten minutes either side of
    the change and two either side of 04:00, the last moment three hours fit before 07:00."""
    _, first, _ = CET_DST_DAYS[season]
    seven = SEVEN[season]
    found = {first + 15 * n * MINUTE for n in range(round((seven - first) / MINUTE) // 15)}
    found |= {CHANGE[season] + n * MINUTE for n in range(-10, 11)}
    found |= {seven - timedelta(hours=3) + n * MINUTE for n in range(-2, 3)}
    return sorted(found)


@pytest.mark.usefixtures("many_reads")
@pytest.mark.parametrize("season", list(CET_DST_DAYS))
def test_a_load_before_seven_through_the_night_of_a_clock_change(
    season, own_storage, replay_server, api, monkeypatch
):
    count, first, end = CET_DST_DAYS[season]
    replay_server.add("GET", "/v1/marketdata",
                      json=load_fixture(f"awattar/marketdata_quarter_dst_{season}.json"))  # fmt: skip
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                               timezone="Europe/Berlin", pricing_region="DE")  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="awattar",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(config, now=first + timedelta(minutes=7)).status == "ok"
    FlexibleLoad.objects.create(site=site, name="Dishwasher", hours=3, deadline=time(7))
    prices, seven = quarter_prices(season), SEVEN[season]
    assert len(prices) == count * 15 and seven.astimezone(BERLIN).hour == 7
    for now in moments(season):
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        [load] = api.get("/api/plan/loads").json()["loads"]
        # no room left for 3 h: tomorrow's 07:00, planned within the prices stored so far
        before = seven if now + timedelta(hours=3) <= seven else seven + timedelta(hours=24)
        assert load["before"] == before.isoformat(), now
        start, price = cheapest_run(prices, now, 3.0, before)
        plan = load["plan"]
        assert (load["start"], plan["end"]) == (
            start.isoformat(), (start + timedelta(hours=3)).isoformat()), now  # fmt: skip
        assert plan["average_price"] == pytest.approx(price), now
        slots = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
                 for s in plan["slots"]]  # fmt: skip
        assert now <= slots[0][0] and slots[-1][1] <= min(before, end), now
        assert sum((b - a for a, b in slots), timedelta()) == timedelta(hours=3), now


def first_readings(zone: ZoneInfo, wall: time, around: datetime) -> list[datetime]:
    """Per day of `zone` from two days before `around` to three after, the first minute its
    clock reads `wall` or later, found by reading the clock minute by minute."""
    reached: dict = {}
    moment = around - timedelta(days=2)
    while moment < around + timedelta(days=3):
        local = moment.astimezone(zone)
        if local.time() >= wall:
            reached.setdefault(local.date(), moment)
        moment += MINUTE
    return sorted(reached.values())


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),  # 02:00 -> 03:00
        ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),  # 03:00 -> 02:00
        ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),  # 02:00 -> 03:00
        ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),  # 02:00 -> 01:00
        ("Australia/Sydney", datetime(2026, 4, 4, 16, tzinfo=UTC)),  # 03:00 -> 02:00
        ("Australia/Sydney", datetime(2026, 10, 3, 16, tzinfo=UTC)),  # 02:00 -> 03:00
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),  # 02:00 -> 01:30
        ("Australia/Lord_Howe", datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),  # 02:00 -> 02:30
        ("Pacific/Chatham", datetime(2026, 9, 26, 14, tzinfo=UTC)),  # 02:45 -> 03:45 (+12:45)
        ("America/St_Johns", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),  # 02:00 -> 01:00 (-2:30)
        ("America/Santiago", datetime(2026, 4, 5, 3, tzinfo=UTC)),  # 00:00 -> 23:00 the day before
        ("America/Santiago", datetime(2026, 9, 6, 4, tzinfo=UTC)),  # 00:00 -> 01:00
        ("Asia/Beirut", datetime(2026, 3, 28, 22, tzinfo=UTC)),  # 00:00 -> 01:00
        ("Asia/Beirut", datetime(2026, 10, 24, 21, tzinfo=UTC)),  # 00:00 -> 23:00 the day before
    ],
)
def test_a_deadline_around_a_clock_change_is_the_first_time_the_clock_reads_it(zone, change):
    site = Site(name="Home", latitude=0, longitude=0, timezone=zone)
    for wall in (time(7), time(3), time(2, 30), time(2, 15), time(1, 30), time(0), time(23, 30)):
        readings = first_readings(ZoneInfo(zone), wall, change)
        for hours in (1, 3, 8, 24):  # 24: by midnight, asked late the evening before a short day
            load = FlexibleLoad(site=site, name="Boiler", hours=hours, deadline=wall)
            for now in (change + n * 7 * MINUTE for n in range(-180, 180)):
                expected = min(m for m in readings if m >= now + timedelta(hours=hours))
                assert next_deadline(load, now) == expected, (wall, hours, now)


def test_a_day_long_load_asked_before_a_short_day_is_planned_for_the_deadline_after(
    api, monkeypatch
):
    """Lord Howe Island, 3 October 2026 23:50 (+10:30); the 4th lasts 23.5 hours. A 24-hour
    load done by 00:00 fits neither the 4th's midnight (10 minutes away) nor the 5th's (23 h
    40 min): its deadline is the 6th's, 00:00 +11 (13:00 UTC on the 5th)."""
    site = Site.objects.create(name="Lord Howe", latitude=-31.55, longitude=159.08,
                               timezone="Australia/Lord_Howe")  # fmt: skip
    FlexibleLoad.objects.create(site=site, name="Pool pump", hours=24, deadline=time(0))
    now = datetime(2026, 10, 3, 13, 20, tzinfo=UTC)
    assert now.astimezone(ZoneInfo("Australia/Lord_Howe")).isoformat() == (
        "2026-10-03T23:50:00+10:30")  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    answer = api.get("/api/plan/loads")
    assert answer.status_code == 200, answer.content[:300]
    [load] = answer.json()["loads"]
    assert load["before"] == "2026-10-05T13:00:00+00:00"
