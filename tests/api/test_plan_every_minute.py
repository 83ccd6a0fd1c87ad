"""/api/plan and /api/plan/loads at every minute around DST changes and carbon edges, against
exhaustive search over the documented payloads, not with the planner's code
(tests/support/plan_probe.py): the window, its averages, score, cost and emissions, the
carried carbon, running now and the cheapest and greenest windows, and a split plan's judged
average; with real InfluxDB, the data written by the real collectors."""

from datetime import time, timedelta

import pytest

from collectors import clock
from collectors.models import FlexibleLoad
from tests.support import plan_probe as probe

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb, pytest.mark.usefixtures("many_reads")]
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("kind", ["spring", "autumn"])
def test_loads_at_every_minute_before_the_dst_change(own_storage, replay_server, api, monkeypatch,
                                                     kind):  # fmt: skip
    # Berlin's clock skips 02:00-03:00 (spring: 02:30 is the jump, 01:00 UTC) or reads it twice
    # (autumn: 02:30 is its first time, 00:30 UTC); quarter-hour prices, hourly carbon whose
    # last (cleanest) value is carried to the prices' end: the plans for tomorrow's deadline
    site, forecast, points = probe.berlin_dst_site(replay_server, kind)
    prices = probe.per_minute(probe.awattar_slots(f"awattar/marketdata_quarter_dst_{kind}.json"))
    rules = [(0.5, time(2, 30), 3000), (0.75, time(3, 0), 150), (1, time(7), 0)]
    loads = [FlexibleLoad.objects.create(site=site, name=f"load {i}", hours=hours, deadline=wall,
                                         carbon_price=cp, kw=2.0)
             for i, (hours, wall, cp) in enumerate(rules)]  # fmt: skip
    problems = []
    for minute in range(0, 41):
        now = probe.utc(2026, 3, 29) if kind == "spring" else probe.utc(2026, 10, 25)
        now += minute * MINUTE
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        body = api.get("/api/plan/loads", {"site": site.pk}).json()
        for load, shown in zip(loads, body["loads"], strict=True):
            label = f"{load.name} at {now.isoformat()}"
            before = probe.local_deadline(load.deadline, now, load.hours)
            assert shown["before"] == before.isoformat(), label
            carbon = probe.carbon_minutes(forecast, points, now, before)
            minutes = round(load.hours * 60)
            expected = probe.best_windows(prices, carbon, now, minutes, before, load.carbon_price)
            assert shown["plan"] is not None, (label, shown["message"])
            problems += probe.differences(shown["plan"], expected, 2.0, label)
    assert problems == []


def test_plans_at_every_minute_as_watttime_starts(own_storage, replay_server, api, monkeypatch):
    # hourly prices; WattTime's 5-minute carbon starts at 14:05: before it only later time has
    # both a price and carbon; a split plan (no penalty) takes the cleanest 5 minutes anywhere
    probe.watttime_site(replay_server)
    slots = probe.awattar_slots("awattar/marketdata_hourly.json")
    prices, forecast = probe.per_minute(slots), probe.watttime_slots()
    problems = []
    for minute in range(0, 31, 2):
        now = probe.utc(2026, 5, 1, 13, 58) + minute * MINUTE
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        before = probe.utc(2026, 5, 1, 22)
        for hours in (0.75, 2):
            query = {"hours": str(hours), "carbon_price": "2000", "kw": "2",
                     "before": before.isoformat()}  # fmt: skip
            label = f"{hours} h at {now.isoformat()}"
            carbon = probe.carbon_minutes(forecast, [], now, before)
            expected = probe.best_windows(prices, carbon, now, round(hours * 60), before, 2000)
            problems += probe.differences(api.get("/api/plan", query).json(), expected, 2.0, label)
            split = api.get("/api/plan", {**query, "contiguous": "false", "penalty_percent": "0"})
            first = min(a for a, _, _ in slots if a >= now)
            span = (now, round(hours * 60), before)
            problems += probe.split_differences(split.json(), prices, carbon, first, span, 2000,
                                                0, f"split {label}")  # fmt: skip
    assert problems == []
