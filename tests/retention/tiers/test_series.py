"""Transparent reads (PRD 2.3 AC7): read_series and GET /api/series over a range that spans
daily, hourly and raw data, against the real InfluxDB."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from retention.archive.run import run_archive
from retention.models import Entity
from retention.tiers import runner as tiers
from retention.tiers.series import read_series
from tests.retention.conftest import T0
from tests.support.api import assert_400_naming_only
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = T0.date()


@pytest.fixture
def tiered(ha_db, layout):
    """1 kW from T0 on, 2 kW from 12:00 of day 3; day 1 daily, day 2 hourly, day 3 raw."""
    entity = ha_db.write_entity(
        layout, "sensor.boiler_power", [(0, 1.0), (2 * 86400 + 12 * 3600, 2.0)], unit="kW"
    )
    entity.save()
    assert tiers.downsample_hourly(D0, D0 + 2 * DAY).status == "ok"
    assert tiers.downsample_daily(D0, D0 + DAY).status == "ok"
    return entity


def test_segments_state_their_resolution(tiered):
    segments = read_series("sensor.boiler_power", T0, T0 + 3 * DAY)
    assert [s.resolution for s in segments] == ["daily", "hourly", "raw"]
    daily, hourly, raw = segments
    assert (daily.start, daily.end) == (T0, T0 + DAY)
    [day] = daily.points
    assert day["avg_value"] == 1000 and day["total_energy"] == pytest.approx(24.0)
    assert len(hourly.points) == 24 and all(p["avg_value"] == 1000 for p in hourly.points)
    assert hourly.points[0]["time"] == (T0 + DAY).isoformat()
    assert not any(k.startswith("carry_") for p in hourly.points for k in p)
    assert raw.points == [
        {
            "time": (T0 + 2 * DAY + 12 * HOUR).isoformat(),
            "value": 2000.0,  # kW converted to W like the tiers
            "state": None,
            "attributes": {},
        }
    ]
    total = day["total_energy"] + sum(p["total_energy"] for p in hourly.points)
    assert total == pytest.approx(48.0)


@pytest.fixture
def enrich_db(settings):
    """A database of the test's own for the archive's records (archive_metadata)."""
    with fresh_database("series") as settings.INFLUXDB_DATABASE:
        yield settings.INFLUXDB_DATABASE


def test_days_archived_say_so_instead_of_raw_without_points(ha_db, enrich_db, local_archive):
    """Days whose daily rows left InfluxDB for the archive were answered as a "raw" segment
    without points, as if the entity had written nothing: they are an "archived" segment."""
    entity = ha_db.write_entity(
        "official", "sensor.boiler_power", [(0, 1.0), (2 * 86400 + 12 * 3600, 2.0)], unit="kW"
    )
    entity.save()
    assert tiers.downsample_hourly(D0, D0 + 2 * DAY).status == "ok"
    assert tiers.downsample_daily(D0, D0 + 2 * DAY).status == "ok"
    report = run_archive(datetime(2026, 1, 15, tzinfo=UTC))  # 2024 has closed: archived
    assert report.status == "ok" and report.records_deleted == 2
    segments = read_series("sensor.boiler_power", T0, T0 + 3 * DAY)
    assert [(s.resolution, s.start, s.end, s.points) for s in segments[:1]] == [
        ("archived", T0, T0 + 2 * DAY, [])
    ]
    assert [s.resolution for s in segments[1:]] == ["raw"]
    assert segments[1].points[0]["value"] == 2000.0


def test_partial_windows_at_the_edges(tiered):
    segments = read_series("sensor.boiler_power", T0 + 12 * HOUR, T0 + DAY + timedelta(minutes=90))
    assert [s.resolution for s in segments] == ["daily", "hourly"]
    assert segments[0].start == T0 + 12 * HOUR  # the whole daily window is included
    assert [p["time"] for p in segments[1].points] == [
        (T0 + DAY).isoformat(),
        (T0 + DAY + HOUR).isoformat(),
    ]


def test_an_untiered_entity_reads_raw_everywhere(tiered, ha_db):
    other = ha_db.write_entity("official", "sensor.radio_power", [(3600, 5)], unit="W")
    other.tiered = False
    other.save()
    # Its raw point in a day the tiers processed (it was not tiered then) is still read.
    [segment] = read_series("sensor.radio_power", T0, T0 + 3 * DAY)
    assert segment.resolution == "raw" and segment.points[0]["value"] == 5.0


def test_bad_calls(tiered):
    with pytest.raises(Entity.DoesNotExist):
        read_series("sensor.nope", T0, T0 + DAY)
    with pytest.raises(ValueError, match="must be after start"):
        read_series("sensor.boiler_power", T0 + DAY, T0)


@pytest.mark.parametrize("layout", ["official"])
def test_api_series(tiered):
    user = get_user_model().objects.create_user("ha-series", password="pw-ha-123")
    api = APIClient()
    assert api.get("/api/series", {"entity_id": "sensor.boiler_power"}).status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    query = {
        "entity_id": "sensor.boiler_power",
        "start": T0.isoformat(),
        "end": (T0 + 3 * DAY).isoformat(),
    }
    body = api.get("/api/series", query).json()
    assert (body["kind"], body["unit"]) == ("power", "W")
    assert [s["resolution"] for s in body["segments"]] == ["daily", "hourly", "raw"]
    assert body["segments"][0]["points"][0]["sample_count"] == 1

    missing = api.get("/api/series", {"entity_id": "sensor.boiler_power"})
    assert missing.status_code == 400 and "Required" in missing.json()["start"]
    bad = api.get("/api/series", {**query, "start": "monday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["start"]
    backwards = api.get("/api/series", {**query, "end": T0.isoformat()})
    assert backwards.status_code == 400 and "after start" in backwards.json()["end"]
    unknown = api.get("/api/series", {**query, "entity_id": "sensor.nope"})
    assert unknown.status_code == 404 and "discover_entities" in unknown.json()["entity_id"]


@pytest.mark.parametrize(
    ("entity_id", "layout", "said"),
    [
        # The layouts as the admin's form lists them: it said "set it to 'official' or ...".
        (
            "sensor.heater_power",
            "",
            "sensor.heater_power: it has no layout; set it to 'HA InfluxDB integration' or "
            "'HA Ingestor' in the admin (Retention → Entities)",
        ),
        ("heater_power", "official", "is not of the form domain.object_id"),
    ],
)
def test_api_series_of_an_entry_it_cannot_read_is_a_409_saying_what_to_fix(entity_id, layout, said):
    # Entries made outside discovery (a script, the shell) can lack a layout; the model lets them.
    Entity.objects.create(entity_id=entity_id, kind="power", layout=layout, measurement="W")
    user = get_user_model().objects.create_user("ha-series", password="pw-ha-123")
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    query = {"entity_id": entity_id, "start": T0.isoformat(), "end": (T0 + DAY).isoformat()}
    answer = api.get("/api/series", query)
    # Before: a 500 ("The server failed to answer this request").
    assert answer.status_code == 409, answer.content
    assert list(answer.json()) == ["entity_id"]
    assert said in answer.json()["entity_id"]


def test_api_series_reads_the_registry_entry_once(tiered):
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("ha-series"))
    query = {"entity_id": "sensor.boiler_power", "start": T0.isoformat(),
             "end": (T0 + 3 * DAY).isoformat()}  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/series", query).json()
    assert [s["resolution"] for s in body["segments"]] == ["daily", "hourly", "raw"]
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "retention_entity"' in q["sql"]]
    assert len(reads) == 1, reads  # was 2: the view's 404 check, then read_series again


@pytest.mark.parametrize("layout", ["official"])
def test_api_series_refuses_a_parameter_it_does_not_take_as_the_views_do(tiered):
    # Was a 200 over the whole range: ?resolution=daily (or a mistyped ?ent=) was dropped, where
    # /api/views/<name> answers a 400 naming it.
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("ha-series"))
    query = {"entity_id": "sensor.boiler_power", "start": T0.isoformat(),
             "end": (T0 + 3 * DAY).isoformat()}  # fmt: skip
    assert_400_naming_only(
        api.get("/api/series", {**query, "resolution": "daily"}),
        "resolution",
        "is not a parameter of GET /api/series; use entity_id, start, end.",
    )
    # DRF's own ?format= is read as on every endpoint.
    as_json = api.get("/api/series", {**query, "format": "json"})
    assert as_json.status_code == 200, as_json.content
    assert [s["resolution"] for s in as_json.json()["segments"]] == ["daily", "hourly", "raw"]
