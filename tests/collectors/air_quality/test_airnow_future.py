"""AirNow observations of an hour that has not begun yet (a bad answer, or a time zone read
wrong), through the real pipeline: replay server -> adapter -> InfluxDB, Redis and the run
record, then GET /api/enrichment/current.

An observation is of the hour starting at its DateObserved/HourObserved on its LocalTimeZone's
clock (external_apis.md §8); published 10-30 min past that start, so an hour starting after
the fetch's now was observed by no one. Such a row is refused: not written, not served, and
the log and the run say which pollutant and hour and why; the other pollutants still count.
(It was written to InfluxDB at its future time and served as the air quality now, not stale.)
"""

import copy
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from collectors.air_quality.airnow import AirNowAdapter
from collectors.base import Credentials, SiteInfo, Window
from collectors.models import CollectorRun
from enrich.models import Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.replay import load_fixture

NOW = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)  # 03:40 PDT
HOUR = datetime(2026, 10, 8, 10, tzinfo=UTC)  # 03:00 PDT: the fixture's hour


def rows(**changes: dict) -> list[dict]:
    """The documented Seattle answer (PM2.5 62, O3 35, PM10 20 at 03:00 PDT), the row of each
    parameter named in `changes` (PM2_5 for PM2.5) updated with its dict."""
    answer = copy.deepcopy(load_fixture("airnow/observation_current.json"))
    for row in answer:
        row.update(changes.get(row["parameterName"].replace(".", "_"), {}))
    return answer


def stored(influx, database: str) -> list[tuple]:
    query = 'SELECT "aqi" FROM "air_quality" GROUP BY "parameter"'
    return sorted(
        (r.tags["parameter"], r.time, r.values["aqi"]) for r in influx.query(database, query)
    )


def served(monkeypatch, moment: datetime) -> dict:
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    [entry] = client.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    return entry


@pytest.mark.django_db
@pytest.mark.influxdb
def test_an_hour_not_begun_is_refused_and_the_other_pollutants_count(
    isolated, settings, replay_server, monkeypatch, caplog
):
    # O3 says 04:00 PDT (11:00Z) at 03:40 PDT; PM10 says 03:00 but "PST" (11:00Z): neither hour
    # has begun. PM2.5's 03:00 PDT (10:00Z) is the answer's one observation.
    answer = rows(
        O3={
            "hourObserved": "04:00",
            "nowcastAQI": 120,
            "aqiCategoryName": "Unhealthy for Sensitive Groups",
        },
        PM10={"localTimeZone": "PST", "nowcastAQI": 160, "aqiCategoryName": "Unhealthy"},
    )
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url)
    caplog.set_level(logging.WARNING, logger="collectors")

    outcome = pipeline.collect(config, now=NOW)

    assert outcome.status == "ok" and outcome.points_written == 2
    assert stored(isolated, settings.INFLUXDB_DATABASE) == [
        ("PM2.5", HOUR, 62.0),
        ("overall", HOUR, 62.0),
    ]
    overall = isolated.query(
        settings.INFLUXDB_DATABASE, """SELECT * FROM "air_quality" WHERE "parameter" = 'overall'"""
    )
    [point] = overall
    assert {k for k, v in point.values.items() if v is not None} == {
        "aqi", "category_number", "pm25", "category", "location", "parameter", "provider",
        "lookup",
    }  # fmt: skip
    entry = served(monkeypatch, NOW)
    assert entry["time"] == HOUR.isoformat()
    assert entry["value"]["aqi"] == 62.0 and entry["value"]["category"] == "Moderate"
    assert "ozone" not in entry["value"] and "pm10" not in entry["value"]
    run = CollectorRun.objects.get()
    for said in (
        "observation 1 (O3) of 2026-10-08 04:00 PDT refused: its hour starts at "
        "2026-10-08T11:00:00+00:00, after now (2026-10-08T10:40:00+00:00)",
        "observation 2 (PM10) of 2026-10-08 03:00 PST refused: its hour starts at "
        "2026-10-08T11:00:00+00:00, after now (2026-10-08T10:40:00+00:00)",
    ):
        assert said in run.error
        assert said in caplog.text
    assert [r.levelname for r in caplog.records if "refused" in r.getMessage()] == ["WARNING"] * 2


@pytest.mark.django_db
@pytest.mark.influxdb
def test_an_answer_of_only_future_hours_writes_nothing_and_keeps_the_last_good(
    isolated, settings, replay_server, monkeypatch
):
    future = {"hourObserved": "05:00"}  # 12:00Z, at 11:40Z
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(), times=1)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(PM2_5=future, O3=future, PM10=future))
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    assert pipeline.collect(config, now=NOW).status == "ok"
    later = NOW + timedelta(hours=1)
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the hour is over: the fresh cache entry expired

    outcome = pipeline.collect(config, now=later)

    assert outcome.status == "no_data"
    run = CollectorRun.objects.latest("id")
    assert "no usable observation" in run.error
    assert "observation 0 (PM2.5) of 2026-10-08 05:00 PDT refused" in run.error
    assert {t for _, t, _ in stored(isolated, settings.INFLUXDB_DATABASE)} == {HOUR}
    entry = served(monkeypatch, later)
    assert entry["time"] == HOUR.isoformat() and entry["value"]["aqi"] == 62.0


@pytest.mark.parametrize(
    ("minutes", "kept"),
    [(0, True), (-1, False)],  # the hour's start is now: observed; a minute before it: not
)
def test_an_hour_starting_now_counts_and_one_a_minute_later_does_not(replay_server, minutes, kept):
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=rows(O3={"hourObserved": "04:00"}))
    now = HOUR + timedelta(hours=1, minutes=minutes)  # 04:00 PDT, or 03:59
    adapter, site = AirNowAdapter(), SiteInfo(name="home", latitude=47.6, longitude=-122.33)
    credentials = Credentials(api_key="k", options={"base_url": replay_server.url})
    result = adapter.fetch(
        adapter.target(site, credentials), credentials, Window(now - timedelta(hours=1), now, now)
    )
    ozone = [r for r in result.readings if r.tags["parameter"] == "O3"]
    assert [r.time for r in ozone] == ([HOUR + timedelta(hours=1)] if kept else [])
    assert bool(result.notes) is not kept
    assert ("ozone" in result.current) is kept


def test_a_classic_answer_of_an_hour_not_begun_is_refused_in_its_own_words(replay_server):
    # The classic service's "2026-05-01 " 15 PST is 23:00Z; fetched at 22:59Z (LA's summer
    # clock says 15:59 PDT: an area labelled PST in May is an hour ahead of it).
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=404)
    replay_server.add(
        "GET",
        "/aq/observation/latLong/current/",
        json=load_fixture("airnow/observation_classic.json"),
    )
    now = datetime(2026, 5, 1, 22, 59, tzinfo=UTC)
    adapter, site = AirNowAdapter(), SiteInfo(name="LA", latitude=34.07, longitude=-118.23)
    credentials = Credentials(api_key="k", options={"base_url": replay_server.url})

    result = adapter.fetch(
        adapter.target(site, credentials), credentials, Window(now - timedelta(hours=1), now, now)
    )

    assert result.readings == [] and result.current["no_data"] is True
    assert result.current["time"] is None
    assert (
        "observation 1 (PM2.5) of 2026-05-01 15:00 PST refused: its hour starts at "
        "2026-05-01T23:00:00+00:00, after now (2026-05-01T22:59:00+00:00)"
    ) in result.current["message"]
    assert len(result.notes) == 1 and result.notes[0] == result.current["message"]
