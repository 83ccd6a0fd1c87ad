"""/api/plan, /api/pricing/windows and /api/plan/loads at the minutes of a clock change that
matter, against exhaustive search over the documented payloads (tests/support/plan_probe.py,
not with the planner's code), with the data written by the real collectors into real InfluxDB:
Octopus' half hours with UK Carbon Intensity's on London's DST days, and Tibber's quarter hours
with Electricity Maps' hours on Stockholm's. Deadlines lie in, or inside a slot of, the hour the
clock skips or reads twice; split plans use penalties of 1, 25 and 100 % (100: no interruption
at all) and `max_windows` caps; /api/pricing/windows' cheapest, dearest and split windows are
held to the same search. These minutes are samples of a longer probe of the same checks
(every third to seventh minute of both UK days, every thirteenth of the Tibber ones), with
`pareto`'s cheap end where two windows cost the same."""

from datetime import time, timedelta

import pytest

from collectors import clock
from collectors.models import FlexibleLoad
from tests.support import plan_probe as probe
from tests.support import plan_probe_sites as sites
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb, pytest.mark.usefixtures("many_reads")]
MINUTE = timedelta(minutes=1)
# (hours, carbon_price, penalty_percent, max_windows): /api/plan unbroken with pareto, split
RULES = [(0.75, 500, 1, None), (2.5, 150, 25, 3), (1.25, 2000, 100, None), (1.5, 0, 25, 1)]


def loads_of(site) -> list[FlexibleLoad]:
    """Loads finished by 01:00, 01:45 and 02:00 local: in, or inside a slot of, the hour the
    clock skips (London: 01:00-02:00, Stockholm: 02:00-03:00) or reads twice."""
    rules = [(0.5, time(1), 3000, True, None), (1, time(1, 45), 150, True, None),
             (1.5, time(1, 45), 500, False, 2), (0.75, time(2), 800, False, None),
             (2, time(2, 45), 200, False, 3)]  # fmt: skip
    return [FlexibleLoad.objects.create(site=site, name=f"load {i}", hours=hours, deadline=wall,
                                        carbon_price=cp, kw=2.0, contiguous=whole,
                                        max_windows=most)
            for i, (hours, wall, cp, whole, most) in enumerate(rules)]  # fmt: skip


def probed(api, monkeypatch, settings, site, data, moments) -> list[str]:
    """At each of `moments`, the loads' plans, /api/plan by each of RULES and
    /api/pricing/windows, up to 9 h ahead (the last moment: to the prices' end), against
    exhaustive search."""
    loads, share = loads_of(site), settings.PLAN_INTERRUPTION_PENALTY_PERCENT / 100
    problems = []
    for k, now in enumerate(moments):
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        problems += sites.loads_differences(api, site, data, loads, now, share)
        ahead = timedelta(hours=9 if k < len(moments) - 1 else 48)
        before = min(data[0][-1][1], now + ahead)
        problems += sites.plan_differences(api, data, now, before, RULES)
        for hours, _, penalty, most in RULES[k % 2 :: 2]:
            problems += sites.windows_differences(api, data[0], now, before,
                                                  (hours, penalty, most))  # fmt: skip
    return problems


# Both clocks change at 01:00 UTC: London's 00:59 GMT -> 02:00 BST (spring), 01:59 BST ->
# 01:00 GMT (autumn); Stockholm's 01:59 CET -> 03:00 CEST, 02:59 CEST -> 02:00 CET. Minutes
# before, at and after it, inside a running half hour too.
DAYS = {"spring": probe.utc(2026, 3, 29), "autumn": probe.utc(2026, 10, 25)}  # UTC midnight
MOMENTS = [(0, 44), (0, 59), (1, 0), (1, 17)]


@pytest.mark.parametrize("kind", ["spring", "autumn"])
def test_uk_plans_at_the_clock_change(own_storage, replay_server, api, monkeypatch, settings,
                                      kind):  # fmt: skip
    site, slots, forecast, points = sites.uk_dst_site(replay_server, kind)
    moments = [DAYS[kind] + timedelta(hours=h, minutes=m) for h, m in MOMENTS]
    data = (slots, forecast, points)
    assert probed(api, monkeypatch, settings, site, data, moments) == []


def tibber_dst_site(replay_server, kind: str):
    """Uppsala on a documented Tibber DST day (Europe/Stockholm: 92 or 100 quarter hours) and
    Electricity Maps' hourly forecast (made here) for 20 h from 23:00 local the day before,
    its last value carried to the day's end, collected at 00:05 local. Returns (site, (price
    slots, forecast slots, measured points))."""
    payload = load_fixture(f"tibber/price_info_dst_{kind}.json")
    midnight = probe.DST_DAYS[kind][0]  # local midnight in UTC, Stockholm's as Berlin's
    collected = midnight + timedelta(minutes=5)
    em, forecast, points = sites.em_forecast(replay_server, midnight - timedelta(hours=1), 20,
                                             collected)  # fmt: skip
    site = sites.tibber_site(replay_server, payload, "electricitymaps", em,
                             (collected, collected), "DE")  # fmt: skip
    return site, (sites.tibber_slots(payload), forecast, points)


@pytest.mark.parametrize("kind", ["spring", "autumn"])
def test_tibber_quarter_hours_at_the_clock_change(own_storage, replay_server, api, monkeypatch,
                                                  settings, kind):  # fmt: skip
    site, data = tibber_dst_site(replay_server, kind)
    moments = [DAYS[kind] + timedelta(hours=h, minutes=m) for h, m in MOMENTS[1:]]
    assert probed(api, monkeypatch, settings, site, data, moments) == []


def test_pareto_leaves_out_a_window_of_the_same_price_and_more_co2(own_storage, replay_server,
                                                                   api, monkeypatch):  # fmt: skip
    # 00:54 UTC on Stockholm's autumn DST day: the quarter hours from 00:00 and from 01:00
    # cost the same (0.9501, 0.9501, 0.9503, 0.9506 SEK/kWh), so running now (00:54-01:54)
    # costs what 01:00-02:00 costs, 0.950275, with 6 minutes of the cleaner 00:00 hour (88.55
    # g/kWh against 94). 01:00-02:00 is the cheapest window (ties go to the later), but not on
    # the Pareto front: running now is its cheap end.
    site, data = tibber_dst_site(replay_server, "autumn")
    now = DAYS["autumn"] + timedelta(minutes=54)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    before = now + timedelta(hours=9)
    query = {"hours": "1", "carbon_price": "150", "before": before.isoformat(), "pareto": "true"}
    body = api.get("/api/plan", query).json()
    assert body["compared"]["cheapest"]["start"] == "2026-10-25T01:00:00+00:00"
    cheap_end = body["pareto"][0]
    assert (cheap_end["start"], cheap_end["end"]) == ("2026-10-25T00:54:00+00:00",
                                                      "2026-10-25T01:54:00+00:00")  # fmt: skip
    assert (cheap_end["average_price"], cheap_end["average_carbon"]) == (0.950275, 88.55)
    assert sites.plan_differences(api, data, now, before, [(1, 150, 6, None)]) == []
