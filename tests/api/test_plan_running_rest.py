"""Split plans (contiguous=false) that use the rest of the running slot, against real InfluxDB
(docs/plan.md, "The rules").

aWATTar's documented hourly day (2026-05-01, EUR/MWh / 1000 per kWh) is collected through the
replay server for a site with no carbon provider (plans by price alone). From 13:00 UTC: 40
(13:00), 90, 140, 160.25, 150, 125, 100, 92 (20:00), 88 (21:00) EUR/MWh; the plans end by
22:00. At 13:20 the running hour is the cheapest and the next cheap one is 21:00, so the best
100 minutes are 13:20-14:00 and 21:00-22:00: 68.8 EUR/MWh, where running now (13:20-15:00)
averages 70 and the best set from 14:00 on (20:20-22:00) 89.6.
"""

from datetime import UTC, datetime, time, timedelta

import pytest

from collectors import clock, pipeline
from collectors.models import FlexibleLoad
from enrich.models import ProviderConfig, Site
from tests.support.pricing import per_kwh
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = datetime(2026, 5, 1, tzinfo=UTC)
BEFORE = DAY + timedelta(hours=22)
HOURS = "1.6667"  # 100 minutes


def at(hour: int, minute: int = 0, second: int = 0) -> str:
    return (DAY + timedelta(hours=hour, minutes=minute, seconds=second)).isoformat()


def eur(per_mwh: float) -> float:
    return per_kwh(per_mwh, 1000)


@pytest.fixture
def hourly(own_storage, replay_server, monkeypatch):
    """The site, its aWATTar day collected at 12:50; the clock is set by each test."""
    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="awattar",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(config, now=DAY + timedelta(hours=12, minutes=50)).status == "ok"
    return site


def clock_at(monkeypatch, moment: str) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: datetime.fromisoformat(moment))


def plan(api, penalty: str, **more) -> dict:
    query = {"hours": HOURS, "carbon_price": "0", "kw": "2", "contiguous": "false",
             "penalty_percent": penalty, "before": BEFORE.isoformat(), **more}  # fmt: skip
    response = api.get("/api/plan", query)
    assert response.status_code == 200, response.json()
    return response.json()


def spans(body: dict, key: str) -> list[tuple[str, str, float]]:
    price = "price" if key == "slots" else "average_price"
    return [(s["start"], s["end"], s[price]) for s in body[key]]


@pytest.mark.usefixtures("hourly")
@pytest.mark.parametrize("penalty", ["0", "1"])
def test_a_split_plan_uses_the_rest_of_the_running_hour(api, monkeypatch, penalty):
    clock_at(monkeypatch, at(13, 20))
    body = plan(api, penalty)

    assert (
        spans(body, "windows")
        == spans(body, "slots")
        == [
            (at(13, 20), at(14), pytest.approx(eur(40))),
            (at(21), at(22), pytest.approx(eur(88))),
        ]
    )
    assert (body["start"], body["end"], body["windows_used"]) == (at(13, 20), at(22), 2)
    average = (40 * eur(40) + 60 * eur(88)) / 100  # 0.0688 EUR/kWh
    assert body["average_price"] == body["average_score"] == pytest.approx(average)
    # 2 kW: 40 minutes at 0.04 and an hour at 0.088
    assert body["kwh"] == pytest.approx(10 / 3)
    assert body["cost"] == pytest.approx(2 * (40 / 60 * eur(40) + eur(88)))
    # 1 %: 0.0688 x 1.01 = 0.069488 is still below running now's 0.07
    assert body["penalty_cost"] == pytest.approx(float(penalty) / 100 * average)
    running = body["compared"]["running_now"]
    assert (running["start"], running["end"]) == (at(13, 20), at(15))
    assert running["average_price"] == pytest.approx((40 * eur(40) + 60 * eur(90)) / 100)
    assert running["price_saving"] == pytest.approx(0.0012)


@pytest.mark.usefixtures("hourly")
def test_the_penalty_still_prefers_running_now(api, monkeypatch):
    # 6 %: 0.0688 x 1.06 = 0.072928, more than running now's 0.07
    clock_at(monkeypatch, at(13, 20))
    body = plan(api, "6")
    assert spans(body, "windows") == [(at(13, 20), at(15), pytest.approx(0.07))]
    assert (body["windows_used"], body["penalty_cost"]) == (1, 0)


@pytest.mark.usefixtures("hourly")
def test_the_windows_api_and_a_loads_plan_answer_the_same(api, monkeypatch, settings):
    clock_at(monkeypatch, at(13, 20))
    windows = api.get("/api/pricing/windows", {"hours": HOURS, "contiguous": "false",
                                               "penalty_percent": "1",
                                               "before": BEFORE.isoformat()}).json()  # fmt: skip
    assert spans(windows, "windows") == [
        (at(13, 20), at(14), pytest.approx(eur(40))),
        (at(21), at(22), pytest.approx(eur(88))),
    ]
    assert windows["average_price"] == pytest.approx(0.0688)
    assert windows["saving_vs_now"] == pytest.approx(0.0012)
    # a flexible load (the status page's Plan panel, Home Assistant's sensor) plans the same
    settings.PLAN_INTERRUPTION_PENALTY_PERCENT = 1
    site = Site.objects.get()
    FlexibleLoad.objects.create(site=site, name="dishwasher", hours=100 / 60, deadline=time(22),
                                carbon_price=0, kw=2.0, contiguous=False)  # fmt: skip
    (load,) = api.get("/api/plan/loads", {"site": site.pk}).json()["loads"]
    assert (load["before"], load["start"]) == (BEFORE.isoformat(), at(13, 20))
    assert spans(load["plan"], "windows") == spans(windows, "windows")


# at 13:20:37 the split plan uses 13:20:37-14:00 (39 min 23 s), the first 37 s of the 14:00
# hour, which join it, and the 21:00 hour: 69.108 EUR/MWh, with 1 % for the interruption 69.8,
# against running now's 70.617 (13:20:37-15:00:37: 39 min 23 s at 40, an hour at 90, 37 s at
# 140); at 13:59:30 those 30 s at 40, the first 39 min 30 s of the 14:00 hour and the 21:00
# hour: 88.55, 89.4355 with 1 %, below 14:20-15:00 and 21:00-22:00 (88.8, 89.688), the best
# unbroken 100 minutes, 20:20-22:00 (89.6), and running now (109.5)
@pytest.mark.usefixtures("hourly")
@pytest.mark.parametrize(("moment", "joined", "running"), [
    ((13, 20, 37), (14, 0, 37), (2363 * 40 + 3600 * 90 + 37 * 140) / 6000),
    ((13, 59, 30), (14, 39, 30), (30 * 40 + 3600 * 90 + 2370 * 140) / 6000),
])  # fmt: skip
def test_a_split_plan_starts_at_now_as_running_now_does(api, monkeypatch, moment, joined,
                                                        running):  # fmt: skip
    clock_at(monkeypatch, at(*moment))
    body = plan(api, "1")
    assert spans(body, "slots") == [
        (at(*moment), at(14), pytest.approx(eur(40))),
        (at(14), at(*joined), pytest.approx(eur(90))),
        (at(21), at(22), pytest.approx(eur(88))),
    ]
    assert [(w["start"], w["end"]) for w in body["windows"]] == [
        (at(*moment), at(*joined)), (at(21), at(22))]  # fmt: skip
    left = (DAY + timedelta(hours=14) - datetime.fromisoformat(at(*moment))).total_seconds()
    average = (left * eur(40) + (2400 - left) * eur(90) + 3600 * eur(88)) / 6000
    assert body["average_price"] == pytest.approx(average)
    assert body["cost"] == pytest.approx(2 * 100 / 60 * average)
    assert body["compared"]["running_now"]["average_price"] == pytest.approx(eur(running))


@pytest.mark.usefixtures("hourly")
def test_with_the_default_penalty_the_unbroken_window_wins_at_1359(api, monkeypatch):
    # 13:59:30, 6 %: the split plan above judges 93.863, the unbroken 20:20-22:00 89.6
    clock_at(monkeypatch, at(13, 59, 30))
    unbroken = plan(api, "6")
    assert spans(unbroken, "windows") == [(at(20, 20), at(22), pytest.approx(0.0896))]
    assert spans(unbroken, "slots") == [
        (at(20, 20), at(21), pytest.approx(eur(92))),
        (at(21), at(22), pytest.approx(eur(88))),
    ]
    assert unbroken["cost"] == pytest.approx(2 * (40 / 60 * eur(92) + eur(88)))
