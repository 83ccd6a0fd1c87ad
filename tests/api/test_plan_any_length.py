"""/api/plan, /api/pricing/windows and /api/plan/loads for lengths the price slots do not
divide (1.5 h and 45 min over hourly prices), against real InfluxDB.

aWATTar's hourly day (Berlin, 2026-05-01, net EUR/MWh / 1000 per kWh) and Electricity Maps'
zone DE with its hourly forecast from 14:00 UTC are collected from their documented payloads
through the replay server at 14:20 UTC; the clock then reads 15:00 UTC. Hours (UTC) left:

    slot      15:00  16:00   17:00  18:00  19:00  20:00  21:00  (prices end at 22:00)
    EUR/MWh   140    160.25  150    125    100    92     88
    gCO2/kWh  307    314     321    328    335    342    349

Every expected window below is worked out by hand from this table.
"""

from datetime import UTC, datetime, time

import pytest

from collectors import clock
from collectors.models import FlexibleLoad
from tests.collectors import scenarios_carbon
from tests.support.plan_probe import awattar_site, em_config
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

COLLECTED = datetime(2026, 5, 1, 14, 20, tzinfo=UTC)
NOW = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)


def utc(hour: int, minute: int = 0) -> str:
    return datetime(2026, 5, 1, hour, minute, tzinfo=UTC).isoformat()


@pytest.fixture
def berlin(own_storage, replay_server, monkeypatch):
    scenarios_carbon.electricitymaps(replay_server)
    replay_server.add("GET", "/v3/carbon-intensity/forecast",
                      json=load_fixture("electricitymaps/carbon_intensity_forecast.json"))  # fmt: skip
    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    site = awattar_site(replay_server, "electricitymaps", em_config(replay_server),
                        (COLLECTED, COLLECTED))  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return site


def test_one_and_a_half_hours_start_inside_a_slot(berlin, api):
    # By price: 20:30-22:00 = (0.5 x 92 + 88) / 1.5 = 89.33 beats 20:00-21:30 (90.67) and
    # 19:30-21:00 (94.67); it starts half-way through the 20:00 hour.
    response = api.get("/api/plan", {"hours": "1.5", "carbon_price": "0", "kw": "2"})
    body = response.json()
    assert response.status_code == 200, body
    assert (body["start"], body["end"]) == (utc(20, 30), utc(22))
    assert body["average_price"] == pytest.approx(0.26800 / 3)  # EUR/kWh
    assert body["average_carbon"] == pytest.approx((0.5 * 342 + 349) / 1.5)
    assert (body["hours"], body["kwh"]) == (1.5, 3.0)
    assert body["cost"] == pytest.approx(3 * (0.5 * 0.092 + 0.088) / 1.5)  # 0.268 EUR
    assert body["emissions_kg"] == pytest.approx(3 * (0.5 * 342 + 349) / 1.5 / 1000)
    assert [(s["start"], s["end"], s["price"], s["carbon"]) for s in body["slots"]] == [
        (utc(20, 30), utc(21), 0.092, 342), (utc(21), utc(22), 0.088, 349)]  # fmt: skip
    assert body["windows"] == [{"start": utc(20, 30), "end": utc(22),
                                "average_price": pytest.approx(0.268 / 3),
                                "average_carbon": pytest.approx(1040 / 3)}]  # fmt: skip
    # running now, 15:00-16:30: (140 + 0.5 x 160.25) / 1.5 per MWh
    now = body["compared"]["running_now"]
    assert (now["start"], now["end"]) == (utc(15), utc(16, 30))
    assert now["average_price"] == pytest.approx((0.140 + 0.5 * 0.16025) / 1.5)
    assert now["cost_saving"] == pytest.approx(3 * (now["average_price"] - body["average_price"]))
    # the same window from /api/pricing/windows
    windows = api.get("/api/pricing/windows", {"hours": "1.5"}).json()
    assert (windows["start"], windows["end"]) == (utc(20, 30), utc(22))
    assert windows["average_price"] == pytest.approx(body["average_price"])
    assert windows["saving_vs_now"] == pytest.approx(now["price_saving"])


def test_one_and_a_half_hours_end_inside_a_slot(berlin, api):
    # At 700 EUR/t a slot scores price + 0.0007 x gCO2: 19:00 0.3345, 20:00 0.3314, 21:00
    # 0.3323 (earlier hours 0.35 and more). 20:00-21:30 = (0.3314 + 0.5 x 0.3323) / 1.5 =
    # 0.33170 beats 20:30-22:00 (0.33200) and 19:30-21:00 (0.33243): it ends half-way
    # through the 21:00 hour.
    body = api.get("/api/plan", {"hours": "1.5", "carbon_price": "700", "kw": "2"}).json()
    assert (body["start"], body["end"]) == (utc(20), utc(21, 30))
    price, carbon = (0.092 + 0.5 * 0.088) / 1.5, (342 + 0.5 * 349) / 1.5
    assert body["average_price"] == pytest.approx(price)  # 0.09067 EUR/kWh
    assert body["average_carbon"] == pytest.approx(carbon)  # 344.33 g
    assert body["average_score"] == pytest.approx(price + 700 * carbon / 1e6)
    assert body["cost"] == pytest.approx(3 * price)  # 0.272 EUR
    assert [(s["start"], s["end"]) for s in body["slots"]] == [(utc(20), utc(21)),
                                                               (utc(21), utc(21, 30))]  # fmt: skip
    # the cheapest-only window is still 20:30-22:00
    assert body["compared"]["cheapest"]["start"] == utc(20, 30)


def test_a_window_shorter_than_a_slot(berlin, api):
    # 45 min by price: within the 88 of 21:00; of 21:00-21:45 and 21:15-22:00 the later
    body = api.get("/api/plan", {"hours": "0.75", "carbon_price": "0", "kw": "4"}).json()
    assert (body["start"], body["end"]) == (utc(21, 15), utc(22))
    assert (body["average_price"], body["average_carbon"]) == (pytest.approx(0.088), 349)
    assert body["cost"] == pytest.approx(3 * 0.088)
    # at 700 EUR/t the 20:00 hour scores lowest: its last 45 min
    green = api.get("/api/plan", {"hours": "0.75", "carbon_price": "700"}).json()
    assert (green["start"], green["end"], green["average_carbon"]) == (utc(20, 15), utc(21), 342)
    windows = api.get("/api/pricing/windows", {"hours": "0.75"}).json()
    assert (windows["start"], windows["end"]) == (utc(21, 15), utc(22))
    assert windows["slots"] == [{"start": utc(21, 15), "end": utc(22), "price": 0.088}]


def test_a_split_plan_of_one_and_a_half_hours(berlin, api):
    # contiguous=false without a penalty: the 88 hour and half of the 92 one, next to it
    body = api.get("/api/plan", {"hours": "1.5", "carbon_price": "0", "contiguous": "false",
                                 "penalty_percent": "0"}).json()  # fmt: skip
    assert [(s["start"], s["end"]) for s in body["slots"]] == [(utc(20, 30), utc(21)),
                                                               (utc(21), utc(22))]  # fmt: skip
    assert body["windows_used"] == 1
    assert body["average_price"] == pytest.approx(0.268 / 3)


def test_a_flexible_load_of_one_and_a_half_hours_is_planned(berlin, api):
    # finished by 23:30 in Berlin (21:30 UTC), 700 EUR/t: 20:00-21:30, as /api/plan says
    FlexibleLoad.objects.create(site=berlin, name="Dishwasher", hours=1.5, deadline=time(23, 30),
                                carbon_price=700, kw=2)  # fmt: skip
    body = api.get("/api/plan/loads").json()
    [load] = body["loads"]
    assert (load["hours"], load["before"], load["message"]) == (1.5, utc(21, 30), None)
    assert load["start"] == load["plan"]["start"] == utc(20)
    assert load["plan"]["end"] == utc(21, 30)
    assert load["plan"]["cost"] == pytest.approx(3 * (0.092 + 0.5 * 0.088) / 1.5)
    same = api.get("/api/plan", {"hours": "1.5", "carbon_price": "700", "kw": "2",
                                 "before": utc(21, 30)}).json()  # fmt: skip
    assert load["plan"] == same


def test_a_deadline_inside_a_slot_may_end_the_window(berlin, api):
    # 1 h finished by 21:30: 20:30-21:30 = (0.5 x 92 + 0.5 x 88) = 90 beats 20:00-21:00 (92),
    # the best of whole slots (1.5 h, which whole slots cannot make, already could end there)
    before = utc(21, 30)
    body = api.get("/api/plan", {"hours": "1", "carbon_price": "0", "before": before}).json()
    assert (body["start"], body["end"]) == (utc(20, 30), before)
    assert body["average_price"] == pytest.approx(0.090)
    assert [(s["start"], s["end"]) for s in body["slots"]] == [(utc(20, 30), utc(21)),
                                                               (utc(21), before)]  # fmt: skip
    windows = api.get("/api/pricing/windows", {"hours": "1", "before": before}).json()
    assert (windows["start"], windows["end"]) == (utc(20, 30), before)
    # a dishwasher finished by 23:30 in Berlin (21:30 UTC) starts at 20:30 UTC
    FlexibleLoad.objects.create(site=berlin, name="Dishwasher", hours=1, deadline=time(23, 30),
                                carbon_price=0)  # fmt: skip
    [load] = api.get("/api/plan/loads").json()["loads"]
    assert (load["before"], load["start"]) == (before, utc(20, 30))


def test_a_split_plan_uses_the_part_of_a_slot_before_a_deadline(berlin, api):
    # 1 h split, finished by 21:30: 21:00-21:30 (88) and half of the 20:00 hour (92), the later
    # half (ties go to later time): 90; whole slots alone give 20:00-21:00 (92)
    before = utc(21, 30)
    query = {"hours": "1", "carbon_price": "0", "before": before, "contiguous": "false"}
    body = api.get("/api/plan", query).json()
    assert [(s["start"], s["end"]) for s in body["slots"]] == [(utc(20, 30), utc(21)),
                                                               (utc(21), before)]  # fmt: skip
    assert (body["average_price"], body["windows_used"]) == (pytest.approx(0.090), 1)
    windows = api.get("/api/pricing/windows", {"hours": "1", "before": before,
                                               "contiguous": "false"}).json()  # fmt: skip
    assert [(s["start"], s["end"], s["price"]) for s in windows["slots"]] == [
        (utc(20, 30), utc(21), 0.092), (utc(21), before, 0.088)]  # fmt: skip
    # a split load finished by 23:30 in Berlin (21:30 UTC) says the same
    FlexibleLoad.objects.create(site=berlin, name="Heat pump", hours=1, deadline=time(23, 30),
                                carbon_price=0, contiguous=False)  # fmt: skip
    [load] = api.get("/api/plan/loads").json()["loads"]
    assert (load["before"], load["start"], load["plan"]["end"]) == (before, utc(20, 30), before)


def test_a_zero_written_with_a_minus_sign_is_answered_as_zero(berlin, api):
    # "-0" is 0 (not negative, so valid): the answer echoes 0.0, never -0.0 (nor a -0.0 cost)
    response = api.get("/api/plan", {"hours": "1.5", "carbon_price": "-0", "contiguous": "false",
                                     "penalty_percent": "-0"})  # fmt: skip
    body = response.json()
    assert (body["penalty_percent"], body["carbon_price"], body["penalty_cost"]) == (0, 0, 0)
    assert "-0.0" not in response.content.decode()
    assert [(s["start"], s["end"]) for s in body["slots"]] == [(utc(20, 30), utc(21)),
                                                               (utc(21), utc(22))]  # fmt: skip
