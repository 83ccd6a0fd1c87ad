"""/api/views/...: filters, 400s naming the parameter, 404 listing the views, rebuild (queued
to a real worker)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from config.celery import app
from enrich.redis.client import get_redis
from retention.models import (
    DailyCarbonSummary,
    DailyEnergyByDevice,
    HourlyRoomActivity,
)
from retention.rollups.materialized import view_lock_key
from tests.retention.conftest import T0, HaDatabase
from tests.support.api import assert_400_naming_only, token_client
from tests.support.views_follow import worker_env
from tests.support.worker import celery_worker, followed

pytestmark = pytest.mark.django_db
DAY1 = date(2024, 3, 4)


@pytest.fixture
def api() -> APIClient:
    return token_client("ops", staff=True)


@pytest.fixture
def rows() -> None:
    for n, entity in enumerate(("sensor.a_power", "sensor.b_power")):
        for day in range(3):
            DailyEnergyByDevice.objects.create(
                entity_id=entity, date=DAY1 + timedelta(days=day), total_kwh=n + day,
                cost=0.1 * day, currency="EUR", cost_source="flat_tariff",
            )  # fmt: skip
    for hour in range(48):
        moment = T0 + timedelta(hours=hour)
        HourlyRoomActivity.objects.create(
            area="hall", hour=moment, day_of_week=moment.weekday(), motion_count=hour % 3,
            occupancy_rate=0.5,
        )  # fmt: skip
    DailyCarbonSummary.objects.create(date=DAY1, region="DE", avg_carbon=200, min_carbon=100,
                                      max_carbon=400, avg_renewable=50)  # fmt: skip
    DailyCarbonSummary.objects.create(date=DAY1, region="GB", avg_carbon=150)


def test_needs_a_token():
    assert APIClient().get("/api/views/daily_energy_by_device").status_code == 401
    assert APIClient().post("/api/views/daily_energy_by_device/rebuild").status_code == 401


def test_energy_filters(api, rows):
    body = api.get(
        "/api/views/daily_energy_by_device?entity_id=sensor.b_power&start=2024-03-05&end=2024-03-06"
    ).json()
    assert body["view"] == "daily_energy_by_device" and body["count"] == 2
    assert [(r["date"], r["total_kwh"]) for r in body["rows"]] == [
        ("2024-03-05", 2.0),
        ("2024-03-06", 3.0),
    ]
    assert set(body["rows"][0]) == {"entity_id", "date", "total_kwh", "avg_power", "peak_power",
                                    "cost", "currency", "cost_source", "partial", "source_points",
                                    "refreshed"}  # fmt: skip
    assert body["last_refreshed"] is None and body["watermark"] is None
    assert api.get("/api/views/daily_energy_by_device").json()["count"] == 6


def test_room_activity_filters(api, rows):
    url = "/api/views/hourly_room_activity"
    monday = api.get(f"{url}?area=hall&day_of_week=0").json()
    assert monday["count"] == 24 and {r["day_of_week"] for r in monday["rows"]} == {0}
    window = api.get(f"{url}?start=2024-03-04T10:00:00Z&end=2024-03-04T13:00:00Z").json()
    assert [r["hour"] for r in window["rows"]] == [
        "2024-03-04T10:00:00Z",
        "2024-03-04T11:00:00Z",
        "2024-03-04T12:00:00Z",
    ]
    assert api.get(f"{url}?start=2024-03-05&end=2024-03-05").json()["count"] == 24
    assert api.get(f"{url}?area=kitchen").json()["count"] == 0


def test_an_area_is_found_in_any_case(api):
    """Areas come from Home Assistant by name ("Living Room"), the docs ask for
    `area=kitchen`: the filter matched the case exactly and answered no row, as for an area
    that has none."""
    for area in ("Kitchen", "Living Room"):
        HourlyRoomActivity.objects.create(
            area=area, hour=T0, day_of_week=0, motion_count=2, occupancy_rate=0.5
        )
    url = "/api/views/hourly_room_activity"
    assert [r["area"] for r in api.get(f"{url}?area=kitchen").json()["rows"]] == ["Kitchen"]
    assert [r["area"] for r in api.get(f"{url}?area=living room").json()["rows"]] == ["Living Room"]
    assert api.get(f"{url}?area=hall").json()["count"] == 0


def test_carbon_filters(api, rows):
    body = api.get("/api/views/daily_carbon_summary?region=DE&start=2024-03-04").json()
    assert [(r["region"], r["avg_carbon"], r["avg_renewable"]) for r in body["rows"]] == [
        ("DE", 200.0, 50.0)
    ]


@pytest.mark.parametrize("view", ["daily_energy_by_device", "hourly_room_activity",
                                  "daily_carbon_summary"])  # fmt: skip
def test_drf_format_is_no_filter_and_is_read_as_on_every_endpoint(api, rows, view):
    # Was a 400 "format: is not a filter of ...": ?format=json (and the browsable page's own
    # ?format=api) are DRF's, which every other endpoint takes.
    url = f"/api/views/{view}"
    as_json = api.get(f"{url}?format=json")
    assert as_json.status_code == 200, as_json.content
    assert as_json.json()["count"] == api.get(url).json()["count"] > 0
    page = api.get(f"{url}?format=api")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert_400_naming_only(api.get(f"{url}?format=xml"), "format", "expected one of json, api.")


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        (
            "daily_energy_by_device?start=2024-13-01",
            "start",
            "expected a date that exists (a month from 01 to 12)",
        ),
        ("daily_energy_by_device?end=yesterday", "end", "expected a date as YYYY-MM-DD"),
        ("daily_energy_by_device?start=2024-03-05&end=2024-03-04", "start", "is after end"),
        ("daily_energy_by_device?entity=sensor.x", "entity", "is not a filter"),
        ("hourly_room_activity?day_of_week=7", "day_of_week", "a number from 0 to 6"),
        ("hourly_room_activity?start=2024-03-04T10:00", "start", "with a time zone"),
        ("hourly_room_activity?start=2024-03-05&end=2024-03-04T23:00Z", "start", "is after end"),
        ("hourly_room_activity?start=2024-03-05T01:00Z&end=2024-03-03", "start", "is after end"),
        ("daily_carbon_summary?area=hall", "area", "use region, start, end"),
    ],
)
def test_bad_parameters_are_400s_naming_them(api, query, name, message):
    assert_400_naming_only(api.get(f"/api/views/{query}"), name, message)


@pytest.mark.parametrize("value", ["2026-1-1", "yesterday", "20260101", "2026-01-0x"])
@pytest.mark.parametrize("name", ["start", "end"])
def test_room_activity_tells_a_start_or_end_written_as_neither_form_both(api, name, value):
    # Was "expected an ISO 8601 time with a time zone" alone (or, for a 10-character value, a
    # date alone), though the parameter takes either.
    answer = api.get("/api/views/hourly_room_activity", {name: value})
    assert_400_naming_only(
        answer,
        name,
        f"{value!r} is not valid: expected a date as YYYY-MM-DD, e.g. 2026-11-27, or an ISO 8601 "
        "time with a time zone, e.g. 2026-11-27T06:00:00Z.",
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-02-30", "expected a date that exists (a day of its month"),
        ("2026-02-30T00:00:00Z", "expected a time that exists"),
    ],
)
def test_room_activity_tells_a_day_or_time_written_right_what_is_wrong(api, value, words):
    assert_400_naming_only(api.get("/api/views/hourly_room_activity", {"end": value}), "end", words)


def test_unknown_view_is_404_listing_the_views(api):
    for response in (api.get("/api/views/energy"), api.post("/api/views/energy/rebuild")):
        assert response.status_code == 404
        assert response.json()["views"] == [
            "daily_energy_by_device",
            "hourly_room_activity",
            "daily_carbon_summary",
        ]
        assert "There is no view 'energy'" in response.json()["detail"]


@pytest.mark.influxdb
@pytest.mark.django_db(transaction=True)
def test_rebuild_over_the_api_and_the_command(api, ha_db: HaDatabase, enrich_db, settings, capsys):
    """The POST queues the rebuild (it reads the range's source data) and a worker runs it."""
    settings.ENERGY_FLAT_TARIFF = 0.25
    ha_db.saved_entity("official", "sensor.pump_power", [(-60, 500)], unit="W")

    missing = api.post("/api/views/daily_energy_by_device/rebuild", {"start": "2024-03-04"})
    assert missing.status_code == 400 and "Required" in missing.json()["end"]
    backwards = api.post(
        "/api/views/daily_energy_by_device/rebuild", {"start": "2024-03-05", "end": "2024-03-04"}
    )
    assert backwards.status_code == 400 and "is after end" in backwards.json()["start"]

    env = worker_env(ha_db, enrich_db, settings, ENERGY_FLAT_TARIFF="0.25")
    with celery_worker("views-rebuild", **env) as worker:
        response = api.post(
            "/api/views/daily_energy_by_device/rebuild",
            {"start": "2024-03-04", "end": "2024-03-05"},
            format="json",
        )
        assert response.status_code == 202, response.json()
        answer = response.json()
        assert answer["status"] == "queued" and answer["name"] == "daily_energy_by_device"
        run = followed(api, answer, worker)
        assert run["status"] == "ok" and run["records_processed"] == 2, run
        assert run["range_start"] == "2024-03-04T00:00:00Z"
        assert run["details"]["mode"] == "rebuild" and run["details"]["queued_by"] == "ops"
        row = DailyEnergyByDevice.objects.get(entity_id="sensor.pump_power", date=DAY1)
        assert row.total_kwh == pytest.approx(12.0) and row.cost == pytest.approx(3.0)

        busy = get_redis().lock(view_lock_key("daily_energy_by_device"), timeout=60)
        # A refresh running in a worker. The rebuild's run is saved ok just before its worker
        # lets go of the lock: under load the test can ask for it in between.
        assert busy.acquire(blocking=True, blocking_timeout=30)
        try:
            conflict = api.post("/api/views/daily_energy_by_device/rebuild",
                                {"start": "2024-03-04", "end": "2024-03-04"})  # fmt: skip
            skipped = followed(api, conflict.json(), worker)
            call_command("rebuild_view", "daily_energy_by_device", "--start", "2024-03-04",
                         "--end", "2024-03-04")  # fmt: skip
        finally:
            busy.release()
    assert conflict.status_code == 202 and skipped["status"] == "skipped"
    assert "another refresh or rebuild of daily_energy_by_device is running" in skipped["errors"]
    assert "daily_energy_by_device: skipped: another refresh" in capsys.readouterr().out

    row.delete()
    call_command("rebuild_view", "daily_energy_by_device", "--start", "2024-03-04",
                 "--end", "2024-03-04")  # fmt: skip
    assert "daily_energy_by_device: 1 row written" in capsys.readouterr().out
    assert DailyEnergyByDevice.objects.get(entity_id="sensor.pump_power", date=DAY1).total_kwh == (
        pytest.approx(12.0)
    )

    future = datetime.now(UTC).date() + timedelta(days=2)
    late = api.post("/api/views/daily_energy_by_device/rebuild",
                    {"start": future.isoformat(), "end": future.isoformat()})  # fmt: skip
    assert late.status_code == 400 and "in the future" in late.json()["start"]


def test_refresh_task_is_registered_and_scheduled():
    from config.schedule import SCHEDULE

    app.loader.import_default_modules()
    assert "retention.refresh_views" in app.tasks
    [entry] = [e for e in SCHEDULE if e.task == "retention.refresh_views"]
    assert (entry.crontab, entry.queue, entry.expires) == ("0 */4 * * *", "retention", 3 * 3600)
