"""A served carbon point, then the fetch of its time: the point holds what the fetch wrote.

Beat's minute task writes the forecast slot served now as a `carbon_intensity` point
(collectors.served_points); a fetch later writes the same series and time. InfluxDB merges
the fields of such points, so every field the fetch does not write (`forecast_1h` when it got
no forecast, the forecast's gCO2/kWh and `is_forecast` true next to WattTime's index alone)
stayed from the served point. Each test asserts the exact fields of the point afterwards;
the payloads are the documented ones through the replay server and the real pipeline.
"""

import copy
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, fetch_lock, pipeline
from collectors.carbon.common import LBS_PER_MWH_TO_G_PER_KWH
from collectors.carbon.now import current_value
from collectors.carbon.uk_carbon_intensity import RENEWABLE_FUELS
from collectors.tasks import write_current_forecasts
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_carbon
from tests.support.beat import run_every_minute_collectors
from tests.support.carbon_sites import stored_config, watttime_config
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

GCO2 = "carbon_intensity_gco2_kwh"
SERVED = {GCO2, "is_forecast", "forecast_1h", "forecast_24h"}


def fields_at(database: str, when: datetime) -> dict:
    """The fields (no None) of the one `carbon_intensity` point at `when`."""
    query = 'SELECT * FROM "carbon_intensity" WHERE time = $t GROUP BY *'
    [row] = get_timeseries().query(database, query, params={"t": when})
    return {k: v for k, v in row.values.items() if v is not None}


@pytest.fixture
def clock_at(monkeypatch):
    """Set the clock: clock_at(moment)."""
    return lambda moment: monkeypatch.setattr(clock, "utc_now", lambda: moment)


def served_at(clock_at, database: str, moment: datetime, slot: datetime) -> dict:
    """Run beat's minute tasks at `moment`; the served point of `slot` they wrote."""
    clock_at(moment)
    run_every_minute_collectors()
    served = fields_at(database, slot)
    assert set(served) == SERVED and served["is_forecast"] is True, served
    return served


def renewable(slot: dict) -> float:
    """A NESO slot's renewable share: wind, solar, hydro and biomass."""
    return sum(m["perc"] for m in slot["generationmix"] if m["fuel"] in RENEWABLE_FUELS)


def lbs(value: float) -> float:
    return value * LBS_PER_MWH_TO_G_PER_KWH


def test_watttime_fetch_without_forecast_leaves_only_its_index(
    own_storage, replay_server, clock_at
):
    """The 14:15 fetch gets the index but the forecast is refused (403): its point is the
    index alone, not the index next to the served forecast marked as one."""
    later_index = load_fixture("watttime/signal_index.json")
    later_index["data"] = [{"point_time": "2026-05-01T14:15:00+00:00", "value": 41.0}]
    replies = {
        "/v3/signal-index": [{"json": load_fixture("watttime/signal_index.json"), "times": 1},
                             {"json": later_index}],
        "/v3/forecast": [{"json": load_fixture("watttime/forecast_25h.json"), "times": 1},
                         {"status": 403, "json": {"error": "not authorized for region"}}],
    }  # fmt: skip
    config = watttime_config(replay_server, replies)
    assert pipeline.collect(config, now=scenarios_carbon.WATTTIME_NOW).status == "ok"  # 14:07
    quarter = datetime(2026, 5, 1, 14, 15, tzinfo=UTC)
    # 14:15:00: beat's minute task runs before the quarter hour's fetch has answered
    served_at(clock_at, own_storage, quarter, quarter)

    assert pipeline.collect(config, now=quarter).status == "ok"
    assert fields_at(own_storage, quarter) == {"moer_percentile": 41.0}
    clock_at(quarter + timedelta(minutes=1))  # the next minute writes nothing there
    run_every_minute_collectors()
    assert fields_at(own_storage, quarter) == {"moer_percentile": 41.0}


def test_watttime_backfill_replaces_served_points_and_keeps_fetched_ones(
    own_storage, replay_server, clock_at
):
    """Fetched at 14:07; the fetches after it fail until 14:37, whose `historical` call fills
    14:05-14:30. The served 14:10-14:20 points become the measured values alone; the fetched
    14:05 point keeps its measured index and its horizons."""
    forecast = load_fixture("watttime/forecast_25h.json")
    later_index = load_fixture("watttime/signal_index.json")
    later_index["data"] = [{"point_time": "2026-05-01T14:35:00+00:00", "value": 52.0}]
    historical = load_fixture("watttime/historical.json")
    historical["data"] = [
        {"point_time": f"2026-05-01T14:{minute:02d}:00+00:00", "value": 900.0 + minute}
        for minute in range(5, 35, 5)
    ]
    replies = {
        "/v3/signal-index": [{"json": load_fixture("watttime/signal_index.json"), "times": 1},
                             {"json": later_index}],
        "/v3/forecast": [{"json": forecast}],
        "/v3/historical": [{"json": historical}],
    }  # fmt: skip
    config = watttime_config(replay_server, replies, plan="historical")
    assert pipeline.collect(config, now=scenarios_carbon.WATTTIME_NOW).status == "ok"  # 14:07
    fetched = fields_at(own_storage, datetime(2026, 5, 1, 14, 5, tzinfo=UTC))
    slots = [datetime(2026, 5, 1, 14, minute, tzinfo=UTC) for minute in (10, 15, 20)]
    for slot in slots:
        served_at(clock_at, own_storage, slot + timedelta(minutes=2), slot)

    assert pipeline.collect(config, now=datetime(2026, 5, 1, 14, 37, tzinfo=UTC)).status == "ok"
    for minute in range(10, 35, 5):  # served (14:10-14:20) or not: the measured value alone
        slot = datetime(2026, 5, 1, 14, minute, tzinfo=UTC)
        assert fields_at(own_storage, slot) == {
            GCO2: pytest.approx(lbs(900.0 + minute)),
            "is_forecast": False,
        }, slot
    # what the 14:07 fetch measured at 14:05 stays: the historical call has no index
    assert fields_at(own_storage, datetime(2026, 5, 1, 14, 5, tzinfo=UTC)) == {
        **fetched,
        GCO2: pytest.approx(lbs(905.0)),
        "is_forecast": False,
    }
    assert fetched["moer_percentile"] == 37.0 and {"forecast_1h", "forecast_24h"} <= set(fetched)


def test_electricitymaps_fetch_without_forecast_has_no_served_horizons(
    own_storage, replay_server, clock_at
):
    """Fetched at 14:20 with the forecast; the 15:00 hour is served from it; the 15:05 fetch
    has its own hour but the forecast is refused (401): no horizon of the served point stays."""
    latest = load_fixture("electricitymaps/carbon_intensity_latest.json")
    shares = load_fixture("electricitymaps/power_breakdown_latest.json")
    later_latest, later_shares = copy.deepcopy(latest), copy.deepcopy(shares)
    later_latest.update(carbonIntensity=295, datetime="2026-05-01T15:00:00.000Z", isEstimated=False)
    later_shares.update(datetime="2026-05-01T15:00:00.000Z", isEstimated=False)
    replies = {
        "/v3/carbon-intensity/latest": [{"json": latest, "times": 1}, {"json": later_latest}],
        "/v3/power-breakdown/latest": [{"json": shares, "times": 1}, {"json": later_shares}],
        "/v3/carbon-intensity/forecast": [
            {"json": load_fixture("electricitymaps/carbon_intensity_forecast.json"), "times": 1},
            {"status": 401, "json": load_fixture("electricitymaps/error_401.json")},
        ],
        # The 15:05 fetch, the hour's first, asks history for the 14:00 hour stored estimated.
        "/v3/carbon-intensity/history": [
            {"json": load_fixture("electricitymaps/carbon_intensity_history.json")}
        ],
    }
    site_info, credentials, fetched_at = scenarios_carbon.electricitymaps(replay_server, replies)
    config = stored_config(site_info, credentials, "electricitymaps", forecast=True)
    assert pipeline.collect(config, now=fetched_at).status == "ok"  # 14:20
    hour = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    served = served_at(clock_at, own_storage, hour + timedelta(minutes=1), hour)
    assert served[GCO2] == 307  # the forecast's 15:00 hour
    # The value now is the forecast's 15:00 hour: the 14:00 hour's estimate flag and emission
    # factor basis are not shown as its own.
    cached = ResponseCache().last_good("carbon_intensity", "electricitymaps", "DE")
    shown = current_value("electricitymaps", cached)["value"]
    assert shown["time"] == hour.isoformat() and shown[GCO2] == 307
    assert "is_estimated" not in shown and "emission_factor_type" not in shown

    assert pipeline.collect(config, now=hour + timedelta(minutes=5)).status == "ok"
    assert fields_at(own_storage, hour) == {
        GCO2: 295,
        "is_forecast": False,
        "is_estimated": False,
        "emission_factor_type": "lifecycle",
        "renewable_percentage": shares["renewablePercentage"],
        "fossil_free_percentage": shares["fossilFreePercentage"],
    }


def uk_slots(payload: dict, start: str, end: str = "9999") -> list[dict]:
    """The half hours of a regional answer (data an object) from `start` up to `end`."""
    return [s for s in payload["data"]["data"] if start <= s["from"] < end]


def uk_config(replay_server, name: str, latitude: float, longitude: float, region: str):
    """A UK Carbon Intensity config of a new site in London's zone, asking the replay server."""
    site = Site.objects.create(name=name, latitude=latitude, longitude=longitude,
                               timezone="Europe/London", grid_region=region)  # fmt: skip
    return ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                         provider="uk_carbon_intensity",
                                         options={"base_url": replay_server.url})  # fmt: skip


def test_uk_backfill_of_a_served_half_hour_holds_what_neso_gave(
    collected, own_storage, replay_server, clock_at
):
    """Twyford fetched at 12:10; the 12:30 fetch failed, so the 12:30 half hour was served
    from the forecast. The 13:00 fetch backfills it (pt24h): that point is NESO's answer for
    it, a forecast as every regional value (`is_forecast` true), without the served horizons."""
    ahead = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    half_hour, thirteen = (datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
                           datetime(2026, 5, 1, 13, 0, tzinfo=UTC))  # fmt: skip
    served_at(clock_at, own_storage, half_hour + timedelta(minutes=1), half_hour)

    current = load_fixture("uk_carbon_intensity/regional_postcode.json")
    current["data"][0]["data"] = uk_slots(ahead, "2026-05-01T13:00")[:1]
    past = copy.deepcopy(ahead)
    past["data"]["data"] = uk_slots(ahead, "2026-05-01T12:00", "2026-05-01T13:00")
    past["data"]["data"][1]["intensity"] = {"forecast": 151, "index": "moderate"}
    later = copy.deepcopy(ahead)
    later["data"]["data"] = uk_slots(ahead, "2026-05-01T13:00")
    base = "/regional/intensity/2026-05-01T13:00Z"
    replay_server.reset()  # the 12:10 answers are done with
    replay_server.add("GET", "/regional/postcode/RG10", json=current)
    replay_server.add("GET", f"{base}/fw48h/postcode/RG10", json=later)
    replay_server.add("GET", f"{base}/pt24h/postcode/RG10", json=past)
    served_at(clock_at, own_storage, thirteen, thirteen)  # before the 13:00 fetch answers
    config = ProviderConfig.objects.get(site=collected, provider="uk_carbon_intensity")

    assert pipeline.collect(config, now=thirteen).status == "ok"
    assert fields_at(own_storage, half_hour) == {
        GCO2: 151,
        "is_forecast": True,
        "intensity_index": "moderate",
        "renewable_percentage": pytest.approx(renewable(past["data"]["data"][1])),
    }
    slot = later["data"]["data"]
    assert fields_at(own_storage, thirteen) == {  # the fetched half hour: all fields its own
        GCO2: slot[0]["intensity"]["forecast"],
        "is_forecast": True,
        "intensity_index": slot[0]["intensity"]["index"],
        "renewable_percentage": pytest.approx(renewable(slot[0])),
        "forecast_1h": slot[2]["intensity"]["forecast"],
        "forecast_24h": slot[48]["intensity"]["forecast"],
    }


def test_uk_national_half_hour_holds_its_actual_once_neso_publishes_it(own_storage, replay_server):
    """GB fetched at 12:10: the running 12:00 half hour has no actual yet, its forecast is
    stored (`is_forecast` true). The 12:40 fetch reads it again (the forecast call starts an
    hour back): NESO's actual now replaces the forecast in InfluxDB."""
    config = uk_config(replay_server, "London", 51.51, -0.13, "GB")
    noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    current = load_fixture("uk_carbon_intensity/intensity.json")  # 12:00, actual null
    ahead = load_fixture("uk_carbon_intensity/national_fw48h.json")  # from 11:00
    replay_server.add("GET", "/intensity", json=current)
    replay_server.add("GET", "/intensity/2026-05-01T11:00Z/fw48h", json=ahead)
    assert pipeline.collect(config, now=noon + timedelta(minutes=10)).status == "ok"
    first = fields_at(own_storage, noon)
    assert (first[GCO2], first["is_forecast"]) == (266, True)

    later = copy.deepcopy(current)
    later["data"][0].update({"from": "2026-05-01T12:30Z", "to": "2026-05-01T13:00Z"})
    since = copy.deepcopy(ahead)
    since["data"] = [s for s in ahead["data"] if s["from"] >= "2026-05-01T11:30Z"]
    since["data"][1]["intensity"].update(actual=259, index="high")  # 12:00 has ended
    replay_server.reset()
    replay_server.add("GET", "/intensity", json=later)
    replay_server.add("GET", "/intensity/2026-05-01T11:30Z/fw48h", json=since)
    assert pipeline.collect(config, now=noon + timedelta(minutes=40)).status == "ok"

    assert fields_at(own_storage, noon) == {
        **first,  # the horizons the 12:10 fetch saw stay: fetched, never deleted
        GCO2: 259,
        "is_forecast": False,
        "intensity_index": "high",
    }


def test_a_served_point_never_lands_on_another_targets_fetched_point(
    collected, own_storage, replay_server, clock_at
):
    """A second home sets region id 12, the series of Twyford's postcode RG10 (South England,
    SSE South). Its 12:30 fetch wrote the 12:30 half hour; Twyford's failed, so its minute task
    serves 12:30 from its own forecast, but does not write it over the fetched point."""
    ahead = load_fixture("uk_carbon_intensity/regional_fw48h_regionid.json")
    current = load_fixture("uk_carbon_intensity/regional_regionid.json")
    current["data"][0]["data"] = uk_slots(ahead, "2026-05-01T12:30")[:1]
    current["data"][0]["data"][0]["intensity"] = {"forecast": 444, "index": "very high"}
    replay_server.add("GET", "/regional/regionid/12", json=current)
    replay_server.add("GET", "/regional/intensity/2026-05-01T12:30Z/fw48h/regionid/12",
                      json={"data": {**ahead["data"], "data": uk_slots(ahead, "2026-05-01T12:30")}})  # fmt: skip
    other = uk_config(replay_server, "Reading", 51.45, -0.97, "12")
    half_hour = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    assert pipeline.collect(other, now=half_hour).status == "ok"
    fetched = fields_at(own_storage, half_hour)
    assert fetched[GCO2] == 444 and fetched["intensity_index"] == "very high"

    clock_at(half_hour + timedelta(minutes=1))
    counts = run_every_minute_collectors()["collectors.write_current_forecasts"]
    assert counts["carbon_intensity"] == {"targets": 2, "points_written": 0, "deferred": 0}
    assert fields_at(own_storage, half_hour) == fetched


def test_a_fetch_waits_for_the_minute_task_instead_of_skipping(collected, own_storage):
    """The minute task holds the target's fetch lock while it checks and writes (no fetch
    writes in between); a fetch starting then waits those milliseconds and fetches."""
    lock = fetch_lock.served_lock_for("carbon_intensity", "uk_carbon_intensity", "postcode/RG10")
    assert fetch_lock.take(lock)
    threading.Timer(0.3, lock.release_quietly).start()
    config = ProviderConfig.objects.get(site=collected, provider="uk_carbon_intensity")
    outcome = pipeline.collect(config, now=scenarios_carbon.UK_NOW)
    assert outcome.status == "ok" and outcome.served == "fresh answer"
    assert not lock.held
    # the lock expires after the task's time limit: a killed task does not hold fetches longer
    assert write_current_forecasts.time_limit < fetch_lock.SERVED_SECONDS


def test_a_fetch_does_not_wait_for_another_collect_run(collected, own_storage):
    lock = fetch_lock.lock_for("carbon_intensity", "uk_carbon_intensity", "postcode/RG10")
    assert fetch_lock.acquire(lock)
    try:
        config = ProviderConfig.objects.get(site=collected, provider="uk_carbon_intensity")
        started = time.monotonic()
        outcome = pipeline.collect(config, now=scenarios_carbon.UK_NOW)
        assert outcome.status == "cached" and "a collect run" in outcome.served
        assert time.monotonic() - started < 1.0
    finally:
        lock.release_quietly()
