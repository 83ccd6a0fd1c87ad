"""POST /retention/archive (dry run answered at once; a real run queued to a real Celery
worker) and POST /retention/restore (authenticated re-import); the task and beat entry."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from config.celery import app
from config.schedule import SCHEDULE
from enrich.redis.client import get_redis
from retention.archive.run import run_archive
from retention.models import ArchiveObject, RetentionRun
from tests.support.api import assert_400_naming_only
from tests.support.archive import daily_rows, restore_worker_env
from tests.support.pause_app import pause_key, paused_key
from tests.support.proxy import Proxy
from tests.support.worker import (
    celery_worker,
    followed,
    output,
    retried_in_the_same_run,
    until,
)

pytestmark = pytest.mark.django_db


def test_both_endpoints_need_authentication():
    anonymous = APIClient()
    for path in ("/retention/archive", "/retention/restore"):
        response = anonymous.post(path, {"dry_run": True}, format="json")
        assert response.status_code == 401, path
    assert not RetentionRun.objects.exists()


def worker_env(tier, local_archive) -> dict[str, str]:
    return {
        "TIER_DATABASE": tier.database,
        "INFLUXDB_DATABASE": tier.enrich_database,
        "S3_ARCHIVE_BUCKET": "",
        "ARCHIVE_LOCAL_DIR": str(local_archive),
    }


@pytest.mark.django_db(transaction=True)
def test_dry_run_is_queued_and_reports_what_would_be_archived_changing_nothing(
    client, tier, local_archive
):
    """Planning reads every daily row that is due: a worker does it, not the web request."""
    tier.write(daily_rows(3, date(2022, 1, 1), 365))  # old enough whatever today is
    with celery_worker("archive-dry", **worker_env(tier, local_archive)) as worker:
        response = client.post("/retention/archive", {"dry_run": True}, format="json")
        assert response.status_code == 202
        answer = response.json()
        assert answer["status"] == "queued" and answer["dry_run"] is True
        assert answer["poll"] == f"http://testserver/retention/runs/{answer['run_id']}"
        run = followed(client, answer, worker)
    assert (run["run_id"], run["operation_type"], run["status"]) == (
        answer["run_id"],
        "archive",
        "dry_run",
    )
    body = run["details"]
    assert body["dry_run"] is True and body["target"] == "local"
    assert [o["key"] for o in body["objects"]] == ["archives/2022/data_2022-01-01.parquet"]
    assert body["objects"][0]["record_count"] == 3 * 365
    assert body["records_archived"] == 3 * 365 and body["expected_bytes_freed"] > 0
    assert run["records_processed"] == 3 * 365
    assert not local_archive.exists() and not ArchiveObject.objects.exists()
    assert len(tier.rows()) == 3 * 365
    assert RetentionRun.objects.get().details["queued_by"] == "ops"


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_before_the_daily_tier_exists_says_there_is_nothing_yet(
    client, ha_db, local_archive
):
    """A fresh install (no enrich_daily yet): before, the run failed with "retention policy
    not found: enrich_daily"."""
    env = {
        "TIER_DATABASE": ha_db.name,
        "S3_ARCHIVE_BUCKET": "",
        "ARCHIVE_LOCAL_DIR": str(local_archive),
    }
    with celery_worker("archive-fresh", **env) as worker:
        response = client.post("/retention/archive", {"dry_run": True}, format="json")
        assert response.status_code == 202
        run = followed(client, response.json(), worker)
    assert (run["status"], run["errors"]) == ("dry_run", "")
    assert run["details"]["objects"] == [] and run["details"]["records_archived"] == 0
    assert run["details"]["note"].startswith(f"nothing to archive yet: {ha_db.name}/enrich_daily")


def test_an_unknown_run_is_404(client):
    response = client.get("/retention/runs/987654")
    assert response.status_code == 404 and "no retention run 987654" in response.json()["detail"]


def test_bad_input_is_explained(client):
    response = client.post("/retention/archive", {"dry_run": "perhaps"}, format="json")
    assert response.status_code == 400 and "dry_run" in response.json()
    response = client.post(
        "/retention/restore", {"start_date": "2023-02-01", "end_date": "2023-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert "end_date is before start_date" in response.json()["end_date"]
    response = client.post("/retention/restore", {"start_date": "soon"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"start_date", "end_date"}


def test_a_restore_of_days_to_come_is_a_400_not_a_run_that_restores_nothing(client):
    today = datetime.now(UTC).date()  # 2062 typed for 2026: it was queued and restored nothing
    body = {
        "start_date": str(today + timedelta(days=1)),
        "end_date": str(today + timedelta(days=9)),
    }
    response = client.post("/retention/restore", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"start_date": (
        f"{today + timedelta(days=1)} is after today ({today}): the archive holds past days only."
    )}  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        ("dry_run=", "application/x-www-form-urlencoded", "given empty"),
        ('{"dry_run": ""}', "application/json", "given empty"),
        ('{"dry_run": null}', "application/json", "given as null"),
        ("dry_run=true&dry_run=false", "application/x-www-form-urlencoded", "given 2 times"),
    ],
)
def test_an_empty_or_repeated_dry_run_is_a_400_not_a_real_run(
    client, local_archive, body, content_type, said
):
    # With an archive target set, an empty form dry_run (and the last of two) was read as
    # false: a real run, which deletes the rows it archived from InfluxDB.
    response = client.post("/retention/archive", body, content_type=content_type)
    assert_400_naming_only(response, "dry_run", said)
    assert not RetentionRun.objects.exists()


def test_dry_run_says_the_same_as_on_the_tier_endpoints(client, local_archive):
    for url in ("/retention/archive", "/retention/downsample-daily"):
        response = client.post(url, {"dry_run": "perhaps"}, format="json")
        assert response.json() == {"dry_run": "'perhaps' is not valid: expected true or false."}
        response = client.post(url, {"dry_run": None}, format="json")
        assert response.json() == {"dry_run": "given as null: send true or false (leaving "
                                   "dry_run out means false)."}  # fmt: skip
    assert not RetentionRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_restore_endpoint_reimports_a_range(client, settings, tier, s3):
    """Queued (202), as the archive is; the run's details hold the report (was a 200 with it)."""
    readings = daily_rows(2, date(2022, 1, 1), 365)
    tier.write(readings)
    run_archive()
    env = restore_worker_env(settings, tier, s3.endpoint)
    with celery_worker("restore", **env) as worker:
        response = client.post(
            "/retention/restore",
            {"start_date": "2022-03-01", "end_date": "2022-03-31"},
            format="json",
        )
        assert response.status_code == 202, response.json()
        run = followed(client, response.json(), worker)
    assert run["status"] == "ok", run
    body = run["details"]
    assert body["records"] == 2 * 31 and body["database"] == tier.restore_database
    assert body["objects"] == ["archives/2022/data_2022-01-01.parquet"]

    response = client.post(
        "/retention/restore",
        {"start_date": "2022-03-01", "end_date": "2022-03-31", "database": tier.database},
        format="json",
    )
    assert response.status_code == 400 and "tier database" in response.json()["database"]
    assert RetentionRun.objects.filter(operation="restore").count() == 1  # nothing queued


def test_the_task_is_registered_routed_and_scheduled_weekly():
    app.loader.import_default_modules()
    assert "retention.archive" in app.tasks
    assert app.amqp.router.route({}, "retention.archive")["queue"].name == "retention"
    [entry] = [e for e in SCHEDULE if e.task == "retention.archive"]
    assert (entry.name, entry.crontab, entry.queue, entry.expires) == (
        "Archive daily aggregates",
        "0 3 * * 0",
        "retention",
        6 * 3600,
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_run_is_queued_and_a_worker_archives(client, tier, local_archive):
    readings = daily_rows(2, date(2022, 1, 1), 365)
    tier.write(readings)
    with celery_worker("archive", **worker_env(tier, local_archive)) as worker:
        response = client.post("/retention/archive", {}, format="json")
        assert response.status_code == 202
        task_id = response.json()["task_id"]
        try:
            result = app.AsyncResult(task_id).get(timeout=90)
        except Exception:
            pytest.fail(f"the worker did not run the archive; its output:\n{output(worker)}")
    assert result["status"] == "ok" and result["records_archived"] == 2 * 365
    assert (local_archive / "archives/2022/data_2022-01-01.parquet").is_file()
    deadline = time.monotonic() + 10
    while tier.rows() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tier.rows() == []
    run = RetentionRun.objects.get(operation="archive")
    assert (run.status, run.records_processed) == ("ok", 2 * 365)
    assert run.pk == response.json()["run_id"] == result["run_id"]


@pytest.mark.django_db(transaction=True)
def test_influxdb_gone_in_the_middle_of_a_file_the_run_waits_and_resumes(
    client, settings, tier, s3
):
    # InfluxDB out of reach while the first file's rows were deleted: the run recorded the
    # file's error, went on to the next file (which failed the same way) and ended failed,
    # never tried again, though the task retries a Transient error in the same run.
    tier.write(daily_rows(2, date(2021, 1, 1), 730))  # two files: 2021 and 2022
    proxy = Proxy(settings.INFLUXDB_URL)
    proxy.open()
    get_redis().set(pause_key(), "archive.before_delete@1")
    env = restore_worker_env(settings, tier, s3.endpoint, INFLUXDB_URL=proxy.url)
    try:
        with celery_worker("archive-mid-file", app="tests.support.pause_app", **env) as worker:
            answer = client.post("/retention/archive", {}, format="json").json()
            until(lambda: get_redis().get(paused_key()), worker, seconds=120)
            proxy.close()  # InfluxDB restarts, the first file verified, its rows still there
            get_redis().delete(paused_key())
            done = retried_in_the_same_run(client, answer, worker, proxy, "InfluxUnavailable")
    finally:
        proxy.close()
    assert (done["status"], done["errors"], done["records_processed"]) == ("ok", "", 2 * 730)
    assert tier.rows() == [] and ArchiveObject.objects.filter(source_deleted=None).count() == 0
    assert RetentionRun.objects.filter(operation="archive").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_archive_run_waiting_for_its_retry_is_not_shown_failed(client, settings, tier, s3):
    # InfluxDB out of reach: the task tries again later in the same run. Meanwhile the run
    # read "failed" with the error (a poller stopped there), then "ok" once the retry archived.
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    proxy = Proxy(settings.INFLUXDB_URL)  # closed: InfluxDB refuses connections
    env = restore_worker_env(settings, tier, s3.endpoint, INFLUXDB_URL=proxy.url)
    with celery_worker("archive-retry", **env) as worker:
        answer = client.post("/retention/archive", {}, format="json").json()
        done = retried_in_the_same_run(client, answer, worker, proxy, "InfluxUnavailable")
    assert (done["status"], done["errors"], done["records_processed"]) == ("ok", "", 2 * 365)
    assert RetentionRun.objects.filter(operation="archive").count() == 1
