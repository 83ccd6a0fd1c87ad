"""/api/plan and /api/plan/loads at every minute around DST changes and carbon edges, against
exhaustive search over the documented payloads, not with the planner's code
(tests/support/plan_probe.py): the window, its averages, score, cost and emissions, the
carried carbon, running now and the cheapest and greenest windows, and a split plan's judged
average; with real InfluxDB, the data written by the real collectors. The samples below come
from a longer probe of the same checks at every minute (tests/support/plan_probe_sites.py):
Octopus and UK Carbon Intensity into the UK's DST days, Tibber with each carbon provider,
penalties, `max_windows` and `pareto`."""

from datetime import time, timedelta

import pytest

from collectors import clock
from collectors.models import FlexibleLoad
from tests.support import plan_probe as probe
from tests.support import plan_probe_sites as sites

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
            span = (now, round(hours * 60), before)
            problems += probe.split_differences(split.json(), prices, carbon,
                                                sites.first_start(now), span, 2000,
                                                0, f"split {label}")  # fmt: skip
    assert problems == []


# (hours, carbon_price, penalty_percent, max_windows) of the /api/plan samples
RULES = [(0.75, 700, 0.5, None), (2.5, 2000, 50, 2), (1, 0, 150, None), (0.5, 150, 12.5, 3)]


def loads_of(site) -> list[FlexibleLoad]:
    rules = [(0.5, time(1, 30), 3000, True, None), (1.5, time(7), 150, True, None),
             (2, time(6), 500, False, 2), (1.25, time(2, 30), 800, False, None)]  # fmt: skip
    return [FlexibleLoad.objects.create(site=site, name=f"load {i}", hours=hours, deadline=wall,
                                        carbon_price=cp, kw=2.0, contiguous=whole,
                                        max_windows=most)
            for i, (hours, wall, cp, whole, most) in enumerate(rules)]  # fmt: skip


def sample(api, monkeypatch, site, data, moments, settings) -> list[str]:
    """The loads' plans and /api/plan (unbroken with pareto, split with RULES' penalty and
    cap, up to 9 h ahead) at each of `moments`, against exhaustive search."""
    loads, share = loads_of(site), settings.PLAN_INTERRUPTION_PENALTY_PERCENT / 100
    problems = []
    for now in moments:
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        problems += sites.loads_differences(api, site, data, loads, now, share)
        before = min(data[0][-1][1], now + timedelta(hours=9))
        problems += sites.plan_differences(api, data, now, before, RULES)
    return problems


@pytest.mark.parametrize("kind", ["spring", "autumn"])
def test_uk_plans_across_midnight_into_the_dst_day(own_storage, replay_server, api, monkeypatch,
                                                   settings, kind):  # fmt: skip
    # Octopus' half hours of the eve and the DST day, UK Carbon Intensity's half hours ending
    # 3 h before the prices (its cleanest last value carried); London's clock skips 01:00-02:00
    # (spring: a 01:30 deadline is the jump, 01:00 UTC) or reads it twice (autumn: 00:30 UTC)
    site, slots, forecast, points = sites.uk_dst_site(replay_server, kind)
    eve = sites.UK_DST[kind][0] + timedelta(hours=23, minutes=35)
    moments = [eve + m * MINUTE for m in (26, 84, 113)]  # after midnight, the hour, after it
    assert sample(api, monkeypatch, site, (slots, forecast, points), moments, settings) == []


@pytest.mark.parametrize("case", ["switch_watttime", "lone_em"])
def test_tibber_plans_with_a_carbon_forecast(own_storage, replay_server, api, monkeypatch,
                                             settings, case):  # fmt: skip
    # hourly today then quarter hours with WattTime's 5 minutes (from 14:05: before it only
    # later time has carbon), or a quarter-hour day whose 15:00 UTC hour is one entry (15
    # minutes, then no price to 16:00) with Electricity Maps' hours carried after 20:00
    site, data = sites.tibber_case(replay_server, case)
    start = (
        probe.utc(2026, 5, 1, 14, 2) if case == "switch_watttime" else probe.utc(2026, 5, 1, 14, 53)
    )
    moments = [start + m * MINUTE for m in (0, 4, 19)]
    assert sample(api, monkeypatch, site, data, moments, settings) == []


def test_a_split_plan_is_never_worse_than_the_best_unbroken_window(own_storage, replay_server,
                                                                  api, monkeypatch):  # fmt: skip
    # Tibber's hourly prices, UK Carbon Intensity's half hours: at 13:01 the running hour's
    # cleaner half (13:30, 149 g/kWh against 188) makes 13:15-14:00 the best 45 minutes;
    # split sets take only slots from 14:00 on, and running now (13:01-13:46) is dirtier
    site, data = sites.tibber_case(replay_server, "hourly_uk")
    now = probe.utc(2026, 5, 1, 13, 1)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    before = now + timedelta(hours=9)
    query = {"hours": "0.75", "carbon_price": "700", "before": before.isoformat()}
    unbroken = api.get("/api/plan", query).json()
    assert (unbroken["start"], unbroken["end"]) == ("2026-05-01T13:15:00+00:00",
                                                    "2026-05-01T14:00:00+00:00")  # fmt: skip
    for penalty in ("0", "6", "150"):
        split = api.get("/api/plan", {**query, "contiguous": "false", "penalty_percent": penalty})
        shown = split.json()
        assert (shown["start"], shown["end"], shown["windows_used"]) == (unbroken["start"],
                                                                        unbroken["end"], 1)  # fmt: skip
        assert shown["average_score"] == unbroken["average_score"] == pytest.approx(0.8358)
    rules = [(0.75, 700, 0, None), (0.75, 700, 6, 2), (1.75, 700, 150, None)]
    assert sites.plan_differences(api, data, now, before, rules) == []
