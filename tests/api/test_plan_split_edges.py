"""/api/plan for split plans (contiguous=false) over a carbon forecast finer than the price
slots, against real InfluxDB.

aWATTar's hourly day (2026-05-01, net EUR/MWh / 1000 per kWh) and WattTime's 5-minute MOER
forecast (CAISO_NORTH, lbs/MWh x 0.453592 = gCO2/kWh, from 14:05) are collected from their
documented payloads through the replay server for one site; the clock then reads 15:00 UTC,
and prices end at 22:00. The expected plan is the best set of whole minutes over the payloads
(`tests.support.minute_sets`), not the planner's slots: a part of an hour may be used up to a
5-minute carbon edge inside it.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from enrich.models import ProviderConfig
from tests.collectors.scenarios_carbon import WATTTIME_NOW
from tests.support.carbon_sites import watttime_config
from tests.support.minute_sets import MINUTE, best_minutes, judged
from tests.support.pricing import per_kwh
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

NOW = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
PRICES_END = datetime(2026, 5, 1, 22, 0, tzinfo=UTC)
G_PER_KWH = 0.453592  # per lbs/MWh
HOUR = timedelta(hours=1)


def per_minute() -> dict[datetime, tuple[float, float]]:
    """{minute: (EUR/kWh, gCO2/kWh)} from 15:00 to 22:00, straight from the payloads."""
    prices, carbon = {}, {}
    for entry in load_fixture("awattar/marketdata_hourly.json")["data"]:
        start = datetime.fromtimestamp(entry["start_timestamp"] / 1000, UTC)
        for i in range(60):
            prices[start + i * MINUTE] = per_kwh(entry["marketprice"], 1000)
    for point in load_fixture("watttime/forecast_25h.json")["data"]:
        start = datetime.fromisoformat(point["point_time"])
        for i in range(5):
            carbon[start + i * MINUTE] = point["value"] * G_PER_KWH
    minutes = [NOW + i * MINUTE for i in range(round((PRICES_END - NOW) / MINUTE))]
    return {m: (prices[m], carbon[m]) for m in minutes}


@pytest.fixture
def hourly_with_watttime(own_storage, replay_server, monkeypatch):
    config = watttime_config(replay_server)
    assert pipeline.collect(config, now=WATTTIME_NOW).status == "ok"
    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    site = config.site
    site.pricing_region = "DE"
    site.save()
    prices = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="awattar",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(prices, now=datetime(2026, 5, 1, 14, 20, tzinfo=UTC)).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return site


def whole_hours_best(values, hours: int, per_gram: float, rules: tuple) -> float:
    """The best split set of whole hours (what split plans were limited to)."""
    share, max_windows, before = rules
    starts = [NOW + timedelta(hours=i) for i in range(round((before - NOW) / timedelta(hours=1)))]
    best = float("inf")
    for chosen in itertools.combinations(starts, hours):
        minutes = [a + i * MINUTE for a in chosen for i in range(60)]
        average = sum(values[m][0] + per_gram * values[m][1] for m in minutes) / len(minutes)
        windows = 1 + sum(1 for a, b in zip(chosen, chosen[1:], strict=False) if b - a > HOUR)
        if max_windows is None or windows <= max_windows:
            best = min(best, judged(average, windows, share))
    return best


# 15:00-18:00 at 5000 EUR/t: the 15:00 hour is the cleanest but for a spike at 15:05-15:10
# (499.9 g/kWh); the last minutes of the 17:00 hour (483.1 g/kWh at 17:55) beat it
@pytest.mark.usefixtures("hourly_with_watttime")
@pytest.mark.parametrize(("hours", "max_windows"), [(1, None), (1, 2), (2, None)])
def test_a_split_plan_takes_the_cleaner_part_of_an_hour(api, hours, max_windows):
    per_gram, before = 5000 / 1e6, NOW + 3 * HOUR
    query = {"hours": str(hours), "carbon_price": "5000", "contiguous": "false",
             "penalty_percent": "0", "before": before.isoformat()}  # fmt: skip
    if max_windows is not None:
        query["max_windows"] = str(max_windows)
    body = api.get("/api/plan", query).json()
    values = {m: v for m, v in per_minute().items() if m < before}
    expected = best_minutes(values, NOW, hours * HOUR, per_gram, 0.0, max_windows)
    spans = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
             for s in body["slots"]]  # fmt: skip
    minutes = [a + i * MINUTE for a, b in spans for i in range(round((b - a) / MINUTE))]
    assert len(minutes) == hours * 60
    # the answer's figures are those of the payloads' minutes, and the optimum of every set
    average = sum(values[m][0] + per_gram * values[m][1] for m in minutes) / len(minutes)
    assert body["average_score"] == pytest.approx(average)
    assert body["average_carbon"] == pytest.approx(
        sum(values[m][1] for m in minutes) / len(minutes)
    )
    assert average == pytest.approx(expected, abs=1e-9)
    if max_windows is not None:
        assert body["windows_used"] <= max_windows
    # which no set of whole hours reaches: parts end at 5-minute carbon edges inside hours
    assert expected < whole_hours_best(values, hours, per_gram, (0.0, max_windows, before)) - 1e-6
    assert any(moment.minute for span in spans for moment in span)
    assert all(moment.minute % 5 == 0 for span in spans for moment in span)
