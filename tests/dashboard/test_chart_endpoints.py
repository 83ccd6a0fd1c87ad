"""The REST endpoints the status page's charts read: what they answer and their 400/409s."""

from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from collectors import pipeline
from enrich.models import ProviderConfig, Site
from retention.models import ArchiveObject, RetentionRun
from retention.stats import alerts, metrics
from retention.stats.history import iso
from retention.stats.status_api import SERIES_FIELDS
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)
from tests.support.pricing import per_kwh
from tests.support.status_home import create_site, register_awattar, register_electricitymaps

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("reader"))
    return client


def test_bad_parameters_are_400s_naming_them(api):
    Site.objects.create(name="Flat", latitude=52.5, longitude=13.4)
    assert api.get("/api/pricing/slots", {"within": "soon"}).json().keys() == {"within"}
    assert api.get("/api/carbon/series", {"hours": "0"}).status_code == 400
    assert "hours" in api.get("/api/carbon/series", {"hours": "0"}).json()
    assert "days" in api.get("/retention/metrics", {"days": "many"}).json()
    assert "days" in api.get("/retention/alerts", {"days": "-1"}).json()


def test_a_site_without_providers_is_a_409_saying_what_to_add(api):
    Site.objects.create(name="Flat", latitude=52.5, longitude=13.4)
    prices = api.get("/api/pricing/slots")
    assert prices.status_code == 409 and "no enabled electricity price provider" in str(
        prices.json()
    )
    carbon = api.get("/api/carbon/series")
    assert carbon.status_code == 409 and "carbon intensity provider" in carbon.json()["detail"]


def test_slots_carbon_series_budget_and_runs_after_one_collection(api, isolated, replay_server):
    rows = register_awattar(replay_server)
    answers = register_electricitymaps(replay_server)
    site = create_site(replay_server)
    for config in ProviderConfig.objects.all():
        assert pipeline.collect(config).status == "ok"

    slots = api.get("/api/pricing/slots").json()
    now = datetime.fromisoformat(slots["now"]).timestamp() * 1000  # the moment it answered for
    ahead = [r for r in rows if r["end_timestamp"] > now]
    assert [s["price"] for s in slots["slots"]] == [per_kwh(r["marketprice"], 1000) for r in ahead]
    assert (slots["currency"], slots["unit"], slots["region"]) == ("EUR", "EUR/kWh", "DE")
    assert slots["known_until"] == slots["slots"][-1]["end"]

    carbon = api.get("/api/carbon/series", {"hours": 24}).json()
    assert (carbon["provider"], carbon["region"], carbon["unit"]) == (
        "electricitymaps",
        "DE",
        "gCO2/kWh",
    )
    assert [p["value"] for p in carbon["actual"]] == [
        answers["/carbon-intensity/latest"]["carbonIntensity"]
    ]
    future = [  # from the hour running now (Electricity Maps' slots are hours)
        f["carbonIntensity"]
        for f in answers["/carbon-intensity/forecast"]["forecast"]
        if datetime.fromisoformat(f["datetime"].replace("Z", "+00:00")) + timedelta(hours=1)
        > datetime.fromisoformat(carbon["now"])
        and f["carbonIntensity"] is not None  # a null forecast hour is left out, not stored
    ]
    assert [p["value"] for p in carbon["forecast"]] == future

    current = api.get("/api/enrichment/current", {"site": site.pk}).json()["sources"]
    [awattar] = current["electricity_pricing"]["providers"]
    assert awattar["budget"] == {
        "spec": "100/day",
        "limit": 100,
        "period_seconds": 86400,
        "used": 1,
        "remaining": 99,
    }
    assert awattar["runs_today"]["total"] == 1 and awattar["runs_today"]["by_status"] == {"ok": 1}
    [em] = current["carbon_intensity"]["providers"]
    assert em["budget"] is None  # Electricity Maps publishes no limit


def test_storage_metrics_are_the_recorded_points_in_time_order(api, isolated):
    now = datetime.now(UTC)
    older = metrics.record_metrics(now - timedelta(days=1))
    newer = metrics.record_metrics(now)
    body = api.get("/retention/metrics", {"days": 7}).json()
    sizes = ("raw", "hourly", "daily", "archive")
    assert body["units"] == {  # the reduction is a percentage, not bytes
        **{f"{tier}_size_bytes": "bytes" for tier in sizes},
        "storage_saved_bytes": "bytes",
        "reduction_percentage": "%",
    }
    assert [p["time"] for p in body["points"]] == [
        iso(older.time),
        iso(newer.time),
    ]
    for point, reading in zip(body["points"], (older, newer), strict=True):
        for name in SERIES_FIELDS:
            assert point[name] == reading.fields.get(name)  # null when not measured that day


@pytest.mark.usefixtures("ha_silence_unchecked")
def test_open_alerts_and_history(api):
    started = datetime.now(UTC) - timedelta(minutes=10)
    failed = RetentionRun.objects.create(
        operation="downsample_hourly", status="failed", started=started,
        finished=started + timedelta(seconds=5), errors="InfluxDB did not answer",
    )  # fmt: skip
    alerts.check_alerts()
    body = api.get("/retention/alerts").json()
    assert [(a["run_id"], a["kind"]) for a in body["open"]] == [(failed.pk, "failed")]
    assert [a["run_id"] for a in body["history"]] == [failed.pk]
    RetentionRun.objects.create(
        operation="downsample_hourly", status="ok", started=started + timedelta(minutes=5)
    )
    body = api.get("/retention/alerts").json()
    assert body["open"] == [] and [a["run_id"] for a in body["history"]] == [failed.pk]


def test_archive_objects_per_year_leave_out_expired_ones(api):
    def archived(key: str, start: date, size: int, records: int, expired=None) -> None:
        ArchiveObject.objects.create(
            key=key, target="local", start_date=start, end_date=start + timedelta(days=27),
            record_count=records, file_size=size, checksum="0" * 64, compression="gzip",
            created=datetime.now(UTC), expired=expired,
        )  # fmt: skip

    archived("archives/2024/data_2024-01-01.parquet", date(2024, 1, 1), 1000, 10)
    archived("archives/2024/data_2024-02-01.parquet", date(2024, 2, 1), 500, 5)
    archived("archives/2025/data_2025-01-01.parquet", date(2025, 1, 1), 700, 7)
    archived("archives/2019/data_2019-01-01.parquet", date(2019, 1, 1), 9, 9, datetime.now(UTC))
    assert api.get("/retention/archive/years").json()["years"] == [
        {"year": 2024, "objects": 2, "bytes": 1500, "records": 15},
        {"year": 2025, "objects": 1, "bytes": 700, "records": 7},
    ]
