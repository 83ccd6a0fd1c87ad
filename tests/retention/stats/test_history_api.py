"""GET /retention/history: the last 30 days of retention runs, filterable by type and status."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from retention.models import RetentionRun
from tests.support.api import token_client

pytestmark = pytest.mark.django_db

Op, Status = RetentionRun.Operation, RetentionRun.Status


@pytest.fixture
def client():
    return token_client("history")


@pytest.fixture
def runs():
    now = datetime.now(UTC)

    def make(name, operation, status, days_ago, **fields):
        return name, RetentionRun.objects.create(
            operation=operation, status=status, started=now - timedelta(days=days_ago), **fields
        )

    return dict(
        [
            make("hourly_ok", Op.DOWNSAMPLE_HOURLY, Status.OK, 1, records_processed=86_400,
                 records_deleted=86_400, storage_freed_mb=1.25, duration_seconds=42.0),
            make("hourly_failed", Op.DOWNSAMPLE_HOURLY, Status.FAILED, 2,
                 errors="InfluxDB did not answer"),
            make("archive_ok", Op.ARCHIVE, Status.OK, 10),
            make("refresh_old", Op.VIEW_REFRESH, Status.OK, 40),
            make("restore_ancient", Op.RESTORE, Status.FAILED, 400),
        ]
    )  # fmt: skip


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["run_id"] for r in response.json()["runs"]]


def test_default_is_the_last_30_days_newest_first_with_units_in_the_names(client, runs):
    response = client.get("/retention/history")
    assert ids(response) == [runs[n].pk for n in ("hourly_ok", "hourly_failed", "archive_ok")]
    body = response.json()
    assert (body["days"], body["count"], body["truncated"]) == (30, 3, False)
    first = body["runs"][0]
    run = runs["hourly_ok"]
    assert first == {
        "run_id": run.pk,
        "operation_type": "downsample_hourly",
        "operation_label": "raw -> hourly",  # as the admin and the status page say it
        "view": None,  # a view refresh names its view
        "status": "ok",
        "status_label": "ok",
        "started": run.started.isoformat().replace("+00:00", "Z"),
        "finished": None,
        "duration_seconds": 42.0,
        "range_start": None,
        "range_end": None,
        "records_processed": 86_400,
        "records_deleted": 86_400,
        "storage_freed_mb": 1.25,
        "storage_freed_immediate_mb": 1.25,
        "storage_settled": False,
        "errors": "",
    }


def test_a_settled_run_shows_its_settled_figure(client, runs):
    run = runs["hourly_ok"]
    run.storage_settled_freed_mb, run.storage_settled_bytes = 3.5, 1_000_000
    run.save()
    first = client.get("/retention/history").json()["runs"][0]
    assert first["run_id"] == run.pk
    assert (first["storage_freed_mb"], first["storage_freed_immediate_mb"]) == (3.5, 1.25)
    assert first["storage_settled"] is True


def test_days_widens_or_narrows_the_window(client, runs):
    assert len(ids(client.get("/retention/history?days=365"))) == 4
    assert ids(client.get("/retention/history?days=1")) == []  # the newest started 1 day ago
    assert ids(client.get("/retention/history?days=2")) == [runs["hourly_ok"].pk]


def test_filter_by_type_and_status(client, runs):
    assert ids(client.get("/retention/history?type=downsample_hourly")) == [
        runs["hourly_ok"].pk,
        runs["hourly_failed"].pk,
    ]
    assert ids(client.get("/retention/history?status=failed")) == [runs["hourly_failed"].pk]
    assert ids(client.get("/retention/history?type=archive&status=ok")) == [runs["archive_ok"].pk]
    assert ids(client.get("/retention/history?type=archive&status=failed")) == []
    assert ids(client.get("/retention/history?type=restore&status=failed&days=365")) == []
    body = client.get("/retention/history?type=view_refresh&days=365").json()
    assert (body["type"], body["count"]) == ("view_refresh", 1)


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        (
            "type=downsample",
            "type",
            "'downsample' is not valid: expected one of downsample_hourly,",
        ),
        ("status=done", "status", "'done' is not valid: expected one of running, ok, failed,"),
        ("days=0", "days", "'0' is not valid: expected a number from 1 to 365."),
        ("days=366", "days", "'366' is not valid: expected a number from 1 to 365."),
        ("days=week", "days", "'week' is not valid: expected a whole number."),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, query, name, message):
    response = client.get(f"/retention/history?{query}")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [name]
    assert body[name].startswith(message)


def test_history_needs_a_token():
    assert APIClient().get("/retention/history").status_code == 401
