"""Electricity Maps hours stored estimated are rewritten once history gives them measured.

Real PostgreSQL, Redis and InfluxDB, answers through the replay server: the first run of an
hour asks `carbon-intensity/history` only while InfluxDB holds an hour stored estimated in
the 24 hours history covers, and writes Electricity Maps' measured value over it; when it
rewrites an hour it also asks `power-breakdown/history` for the hour's measured shares.
"""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from collectors import pipeline
from collectors.carbon.electricitymaps import ElectricityMapsAdapter
from enrich.models import WrittenSince
from tests.collectors.scenarios_carbon import ELECTRICITYMAPS_HISTORY, stored_carbon

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
LATEST = "/v3/carbon-intensity/latest"
BREAKDOWN = "/v3/power-breakdown/latest"
HISTORY = ELECTRICITYMAPS_HISTORY
BREAKDOWN_HISTORY = "/v3/power-breakdown/history"
TEN = "2026-05-01T10:00:00+00:00"
ELEVEN = "2026-05-01T11:00:00+00:00"


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 5, 1, hour, minute, tzinfo=UTC)


def hour_z(hour: int) -> str:
    return f"2026-05-01T{hour:02d}:00:00.000Z"


def serve_latest(server, hour: int, grams: float, *, estimated: bool) -> None:
    """`latest` and the power breakdown give `hour` (once each), estimated or measured."""
    latest = server.load_fixture("electricitymaps/carbon_intensity_latest.json")
    latest.update(datetime=hour_z(hour), carbonIntensity=grams, isEstimated=estimated)
    latest["estimationMethod"] = "TIME_SLICER_AVERAGE" if estimated else None
    breakdown = server.load_fixture("electricitymaps/power_breakdown_latest.json")
    breakdown.update(datetime=hour_z(hour), isEstimated=estimated)
    server.add("GET", LATEST, json=latest, times=1)
    server.add("GET", BREAKDOWN, json=breakdown, times=1)


def serve_history(server, hours: dict[int, tuple[float, bool]]) -> None:
    """History's answer: {hour: (gCO2/kWh, estimated)} in the documented shape."""
    entry = server.load_fixture("electricitymaps/carbon_intensity_history.json")["history"][0]
    history = [
        {
            **entry,
            "datetime": hour_z(hour),
            "carbonIntensity": grams,
            "isEstimated": estimated,
            "estimationMethod": "TIME_SLICER_AVERAGE" if estimated else None,
        }
        for hour, (grams, estimated) in sorted(hours.items())
    ]
    server.add("GET", HISTORY, json={"zone": "DE", "history": history}, times=1)


def test_an_hour_estimated_at_its_end_is_stored_measured_once_history_has_it(
    isolated, settings, electricitymaps_config, replay_server
):
    serve_latest(replay_server, 10, 300, estimated=True)
    assert pipeline.collect(electricitymaps_config, now=at(10, 59)).status == "ok"
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points[TEN]["is_estimated"] is True and points[TEN]["renewable_percentage"] == 33.5
    assert replay_server.calls("GET", HISTORY) == []  # nothing stored estimated before 10:00

    serve_latest(replay_server, 11, 310, estimated=True)
    # History measured 10:00 since; 11:00 (the running hour) is latest's alone.
    serve_history(replay_server, {9: (280, False), 10: (305, False), 11: (999, False)})
    outcome = pipeline.collect(electricitymaps_config, now=at(11, 5))

    assert outcome.status == "ok"
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points[TEN]["carbon_intensity_gco2_kwh"] == 305.0
    assert points[TEN]["is_estimated"] is False
    assert points[TEN]["is_forecast"] is False
    assert points[TEN]["emission_factor_type"] == "lifecycle"
    # The shares were the power breakdown's estimate of the hour: they are not kept beside it.
    assert points[TEN]["renewable_percentage"] is None
    assert points[TEN]["fossil_free_percentage"] is None
    assert "2026-05-01T09:00:00+00:00" not in points  # never stored: no backfill, no outage
    assert points[ELEVEN]["carbon_intensity_gco2_kwh"] == 310.0  # not history's 999
    assert points[ELEVEN]["is_estimated"] is True
    assert len(replay_server.calls("GET", HISTORY)) == 1
    assert len(replay_server.calls("GET", LATEST)) == 2
    assert len(replay_server.calls("GET", BREAKDOWN)) == 2
    (call,) = replay_server.calls("GET", HISTORY)
    assert call.query == {"zone": "DE"}
    # The daily carbon summary's next refresh reaches back to the rewritten hour.
    noted = WrittenSince.objects.get(measurement="carbon_intensity").earliest
    assert noted <= at(10, 0)


def test_history_is_asked_once_an_hour_and_only_while_an_hour_is_stored_estimated(
    isolated, settings, electricitymaps_config, replay_server
):
    serve_latest(replay_server, 10, 300, estimated=False)  # 10:00 stored measured
    pipeline.collect(electricitymaps_config, now=at(10, 59))
    serve_latest(replay_server, 11, 310, estimated=True)
    serve_history(replay_server, {10: (300, False), 11: (312, True)})
    pipeline.collect(electricitymaps_config, now=at(11, 5))

    assert replay_server.calls("GET", HISTORY) == []  # nothing estimated before 11:00

    # 11:00 ended estimated: the first run of 12:00 asks history; history still estimates it.
    serve_latest(replay_server, 12, 320, estimated=True)
    pipeline.collect(electricitymaps_config, now=at(12, 5))
    assert len(replay_server.calls("GET", HISTORY)) == 1
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points[ELEVEN]["carbon_intensity_gco2_kwh"] == 310.0  # history's estimate not taken
    assert points[ELEVEN]["is_estimated"] is True
    assert replay_server.calls("GET", BREAKDOWN_HISTORY) == []  # no hour rewritten

    # A later run of the same hour asks no history again.
    serve_latest(replay_server, 12, 321, estimated=True)
    pipeline.collect(electricitymaps_config, now=at(12, 20))
    assert len(replay_server.calls("GET", HISTORY)) == 1
    assert len(replay_server.calls("GET", LATEST)) == 4


def test_the_budget_plans_the_history_call_of_each_hour(electricitymaps_config):
    """A fetch reserves its latest calls, the forecast's when asked and the two history calls
    (carbon intensity, and the power breakdown when an hour is rewritten); a day at 15 minutes
    plans 96 fetches of 2 calls and at most 24 of each history call."""
    adapter = ElectricityMapsAdapter()
    target = pipeline.target_for(electricitymaps_config)
    plain = pipeline.credentials(electricitymaps_config)
    forecast = replace(plain, options={**plain.options, "forecast": True})

    assert adapter.calls_for(target, plain) == 4
    assert adapter.calls_for(target, forecast) == 5
    assert adapter.calls_per_period(target, plain, 900, 86400) == 96 * 2 + 24 * 2
    assert adapter.calls_per_period(target, forecast, 900, 86400) == 96 * 3 + 24 * 2
    assert adapter.calls_per_period(target, plain, 4 * 3600, 86400) == 6 * 2 + 6 * 2


def test_a_site_set_by_coordinates_finds_its_zone_s_estimated_hours(
    isolated, settings, electricitymaps_config, replay_server
):
    """Without a grid region the zone is known from the last answer (its `region`)."""
    site = electricitymaps_config.site
    site.grid_region = ""
    site.save()
    serve_latest(replay_server, 10, 300, estimated=True)
    pipeline.collect(electricitymaps_config, now=at(10, 59))
    serve_latest(replay_server, 11, 310, estimated=True)
    serve_history(replay_server, {10: (305, False)})

    assert pipeline.collect(electricitymaps_config, now=at(11, 5)).status == "ok"

    (call,) = replay_server.calls("GET", HISTORY)
    assert call.query == {"lat": "52.52", "lon": "13.405"}
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points[TEN]["carbon_intensity_gco2_kwh"] == 305.0
    assert points[TEN]["is_estimated"] is False


def serve_breakdown_history(server, hours: dict[int, tuple[float, float, bool]], **reply) -> None:
    """`power-breakdown/history`'s answer, {hour: (renewable %, fossil-free %, estimated)}, in
    the documented shape (tests/fixtures/electricitymaps/power_breakdown_history.json)."""
    body = server.load_fixture("electricitymaps/power_breakdown_history.json")
    body["history"] = [
        {
            **body["history"][0],
            "datetime": hour_z(hour),
            "renewablePercentage": renewable,
            "fossilFreePercentage": fossil_free,
            "isEstimated": estimated,
            "estimationMethod": "TIME_SLICER_AVERAGE" if estimated else None,
        }
        for hour, (renewable, fossil_free, estimated) in sorted(hours.items())
    ]
    server.add("GET", BREAKDOWN_HISTORY, **(reply or {"json": body}))


def ten_stored_estimated_then_eleven(server, config, history: dict) -> None:
    """10:00 stored estimated (latest's shares 33.5 % and 34 %); at 11:05 latest gives 11:00
    and carbon history `history`."""
    serve_latest(server, 10, 300, estimated=True)
    assert pipeline.collect(config, now=at(10, 59)).status == "ok"
    serve_latest(server, 11, 310, estimated=True)
    serve_history(server, history)


def rewritten(isolated, settings) -> dict[str, dict]:
    """The stored points, 10:00 rewritten with carbon history's measured 305 gCO2/kWh."""
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points[TEN]["carbon_intensity_gco2_kwh"] == 305.0
    assert points[TEN]["is_estimated"] is False
    return points


def shares(point: dict) -> tuple:
    return point["renewable_percentage"], point["fossil_free_percentage"]


def test_a_rewritten_hour_is_stored_with_the_power_breakdown_s_measured_shares(
    isolated, settings, electricitymaps_config, replay_server
):
    ten_stored_estimated_then_eleven(replay_server, electricitymaps_config, {10: (305, False)})
    serve_breakdown_history(
        replay_server, {9: (20.0, 25.0, False), 10: (41.5, 52.0, False), 11: (45.0, 55.0, True)}
    )

    assert pipeline.collect(electricitymaps_config, now=at(11, 5)).status == "ok"

    points = rewritten(isolated, settings)
    assert shares(points[TEN]) == (41.5, 52.0)
    assert "2026-05-01T09:00:00+00:00" not in points  # no hour rewritten there
    assert points[ELEVEN]["renewable_percentage"] == 33.5  # latest's, not history's 45
    (call,) = replay_server.calls("GET", BREAKDOWN_HISTORY)
    assert call.query == {"zone": "DE"}
    assert call.headers["auth-token"] == electricitymaps_config.api_key
    assert len(replay_server.calls("GET", HISTORY)) == 1

    # A later run of the hour, with nothing left estimated, asks neither history again.
    serve_latest(replay_server, 11, 311, estimated=True)
    assert pipeline.collect(electricitymaps_config, now=at(11, 20)).status == "ok"
    assert len(replay_server.calls("GET", HISTORY)) == 1
    assert len(replay_server.calls("GET", BREAKDOWN_HISTORY)) == 1
    assert len(replay_server.calls("GET", LATEST)) == 3
    assert len(replay_server.calls("GET", BREAKDOWN)) == 3


def test_shares_the_breakdown_history_still_estimates_are_not_written(
    isolated, settings, electricitymaps_config, replay_server
):
    ten_stored_estimated_then_eleven(replay_server, electricitymaps_config, {10: (305, False)})
    serve_breakdown_history(replay_server, {10: (41.5, 52.0, True)})

    assert pipeline.collect(electricitymaps_config, now=at(11, 5)).status == "ok"

    points = rewritten(isolated, settings)
    assert shares(points[TEN]) == (None, None)
    assert len(replay_server.calls("GET", BREAKDOWN_HISTORY)) == 1


def test_a_failing_breakdown_history_leaves_the_carbon_rewrite_without_shares(
    isolated, settings, electricitymaps_config, replay_server, caplog
):
    ten_stored_estimated_then_eleven(replay_server, electricitymaps_config, {10: (305, False)})
    serve_breakdown_history(replay_server, {}, status=503, body="upstream unavailable")

    outcome = pipeline.collect(electricitymaps_config, now=at(11, 5))

    assert outcome.status == "ok"
    points = rewritten(isolated, settings)
    assert shares(points[TEN]) == (None, None)
    assert points[ELEVEN]["carbon_intensity_gco2_kwh"] == 310.0
    assert len(replay_server.calls("GET", HISTORY)) == 1
    assert len(replay_server.calls("GET", BREAKDOWN_HISTORY)) == 2  # the call and its retry
    assert "power breakdown history failed" in caplog.text
