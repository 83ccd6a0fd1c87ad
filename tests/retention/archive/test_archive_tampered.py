"""Objects in the bucket that are not what the archive wrote, against moto's S3 server on
loopback, the real InfluxDB and PostgreSQL: Parquet files of another shape (carrying a SHA-256
that matches, so only their content tells), days no archive holds, an object moved to a
storage class that needs a restore job; no credentials; restore days written other than
YYYY-MM-DD. Each is refused naming what is wrong, never a 500 or an exception escaping a run."""

from __future__ import annotations

import io
import os
import uuid
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from retention.archive import format as fmt
from retention.archive.index import rebuild_index
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.store import sha256_hex
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import BUCKET, as_rows, daily_rows, restore_worker_env
from tests.support.worker import celery_worker, followed

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, tzinfo=UTC)  # cutoff 2025-03-15: 2022 is a closed year
KEY = "archives/2022/data_2022-01-01.parquet"
UTC_TIME = pa.timestamp("us", tz="UTC")


@pytest.fixture(autouse=True)
def own_lock(settings):
    """This test's own Redis key prefix: another test run's archive lock would stop a rebuild."""
    settings.REDIS_KEY_PREFIX = f"test-tampered-{uuid.uuid4().hex[:10]}"


def at(*days: date) -> pa.Array:
    return pa.array([datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days], type=UTC_TIME)


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def upload(s3, key: str, data: bytes, storage_class: str = "GLACIER_IR", **metadata: str) -> None:
    """An object as someone else put it there: with a SHA-256 in its metadata that matches."""
    s3.client().put_object(
        Bucket=BUCKET,
        Key=key,
        Body=data,
        StorageClass=storage_class,
        Metadata={"sha256": sha256_hex(data), **metadata},
    )


JAN = (date(2022, 1, 1), date(2022, 1, 2))
OTHER_SHAPES = {
    "no entity_id or kind": (pa.table({"time": at(*JAN), "value": [1.0, 2.0]}), "no column 'entity_id'"),
    "time as text": (pa.table({"time": ["2022-01-01", "2022-01-02"], "entity_id": ["a", "b"],
                               "kind": ["power"] * 2}), "column 'time' is string"),
    "time as numbers": (pa.table({"time": [1640995200, 1641081600], "entity_id": ["a", "b"],
                                  "kind": ["power"] * 2}), "column 'time' is int64"),
    "time empty": (pa.table({"time": pa.array([None, None], type=UTC_TIME), "entity_id": ["a", "b"],
                             "kind": ["power"] * 2}), "column 'time' has 2 empty values"),
    "entity_id empty": (pa.table({"time": at(*JAN), "entity_id": ["a", None],
                                  "kind": ["power"] * 2}), "column 'entity_id' has 1 empty value"),
    "a count as float": (pa.table({"time": at(*JAN), "entity_id": ["a", "b"], "kind": ["power"] * 2,
                                   "sample_count": [1.5, 2.0]}), "column 'sample_count' is double"),
    "bytes InfluxDB cannot hold": (pa.table({"time": at(*JAN), "entity_id": ["a", "b"],
                                             "kind": ["power"] * 2, "blob": [b"\x00", b"\x01"]}),
                                   "column 'blob' is binary"),
    "one row twice": (pa.table({"time": at(JAN[0], JAN[0]), "entity_id": ["a", "a"],
                                "kind": ["power"] * 2, "sample_count": [3, 3]}),
                      "1 row repeats an entity and day"),
    "NaN InfluxDB cannot hold": (pa.table({"time": at(*JAN), "entity_id": ["a", "b"],
                                           "kind": ["power"] * 2, "avg_value": [float("nan"), 1.0]}),
                                 "column 'avg_value' has 1 value NaN or infinite"),
    "a row without fields": (pa.table({"time": at(*JAN), "entity_id": ["a", "b"],
                                       "kind": ["power"] * 2, "sample_count": [None, 2]}),
                             "1 row holds no field value"),
    "an empty entity_id": (pa.table({"time": at(*JAN), "entity_id": ["", "b"],
                                     "kind": ["power"] * 2, "sample_count": [1, 2]}),
                           "column 'entity_id' has 1 empty value"),
}  # fmt: skip


@pytest.mark.parametrize("shape", OTHER_SHAPES)
def test_rebuild_index_refuses_a_parquet_file_of_another_shape_naming_the_column(tier, s3, shape):
    table, why = OTHER_SHAPES[shape]
    upload(s3, KEY, parquet(table))
    report = rebuild_index()  # used to stop on an AttributeError, or index the file
    assert report.indexed == [] and [r["key"] for r in report.refused] == [KEY]
    assert why in report.refused[0]["why"]
    assert not ArchiveObject.objects.exists()


@pytest.mark.parametrize(
    "content, metadata",
    [
        (at(*JAN), {"start_date": "0001-01-01", "end_date": "9999-12-31"}),
        (at(date(9999, 12, 30), date(9999, 12, 31)), {}),
    ],
    ids=["metadata days", "content days"],
)
def test_rebuild_index_refuses_days_no_archive_holds(tier, s3, content, metadata):
    table = pa.table(
        {"time": content, "entity_id": ["a", "b"], "kind": ["power"] * 2, "sample_count": [1, 2]}
    )
    upload(s3, "archives/other/file.parquet", parquet(table), **metadata)
    report = rebuild_index()  # used to raise OverflowError (the day after 9999-12-31)
    assert report.indexed == [] and "outside the days an archive" in report.refused[0]["why"]
    assert not ArchiveObject.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_restore_of_an_indexed_file_of_another_shape_is_refused_naming_it_not_a_500(
    tier, s3, client, settings
):
    """The index (PostgreSQL) lists a file whose checksum matches but whose columns restore
    cannot use (indexed by an older rebuild, or the row edited): the restore run failed saying
    why, naming the object (the restore is queued: its run says what the 502 said)."""
    data = parquet(OTHER_SHAPES["no entity_id or kind"][0])
    upload(s3, KEY, data)
    ArchiveObject.objects.create(
        key=KEY, target="s3", bucket=BUCKET, start_date=JAN[0], end_date=JAN[1], record_count=2,
        file_size=len(data), checksum=sha256_hex(data), compression="snappy",
        storage_class="GLACIER_IR", created=timezone.now(), verified=timezone.now(),
    )  # fmt: skip
    detail = refused_restore_of_january(client, restore_worker_env(settings, tier, s3.endpoint))
    assert KEY in detail and "no column 'entity_id'" in detail
    run = RetentionRun.objects.get(operation="restore")
    assert run.status == "failed" and "VerificationError" in run.errors and KEY in run.errors


def test_an_archive_run_replaces_an_unverified_object_of_another_shape(tier, s3):
    """An object at the run's key that no run verified (no ArchiveObject row) and that is no
    archive file is replaced, as a damaged upload is: it used to fail every run with a
    KeyError, leaving the year in InfluxDB for good."""
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    upload(s3, KEY, parquet(OTHER_SHAPES["no entity_id or kind"][0]))
    report = run_archive(NOW)
    assert report.errors == [] and report.status == "ok"
    assert [o["key"] for o in report.objects] == [KEY] and report.bytes_uploaded > 0
    assert tier.rows() == []  # deleted only after the new file was verified
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def refused_restore_of_january(client, env: dict[str, str]) -> str:
    """POST /retention/restore of January 2022, queued to a worker started with `env` (was
    answered 502 in the request): the errors of its run, failed at once (not retried)."""
    with celery_worker("restore-refused", **env) as worker:
        response = client.post(
            "/retention/restore",
            {"start_date": "2022-01-01", "end_date": "2022-01-31"},
            format="json",
        )
        assert response.status_code == 202, response.content
        run = followed(client, response.json(), worker)
    assert run["status"] == "failed" and "retries" not in run["details"], run
    return run["errors"]


@pytest.mark.django_db(transaction=True)
def test_restore_of_an_object_needing_a_restore_job_says_so(tier, s3, client, settings):
    """An archived object moved to GLACIER (a lifecycle transition) answers InvalidObjectState:
    the run says to restore it first, not to check the credentials."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    body = s3.client().get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    upload(s3, KEY, body, storage_class="GLACIER")
    detail = refused_restore_of_january(client, restore_worker_env(settings, tier, s3.endpoint))
    assert "InvalidObjectState" in detail and "restore-object" in detail
    assert "AWS_ACCESS_KEY" not in detail


@pytest.mark.parametrize("day", ["20220101", "2022-W01-6", "\u0662\u0660\u0662\u0662-01-01"])
def test_restore_endpoint_takes_days_as_yyyy_mm_dd_only(tier, s3, client, day):
    """Python reads 20220101 and 2022-W01-6 (a Saturday) as dates, and digits of other
    scripts: a 400 naming the parameter instead of restoring a range no one asked for."""
    response = client.post(
        "/retention/restore", {"start_date": day, "end_date": "2022-01-31"}, format="json"
    )
    assert response.status_code == 400 and "YYYY-MM-DD" in response.json()["start_date"]
    response = client.post(
        "/retention/restore", {"start_date": "2022-01-01", "end_date": day}, format="json"
    )
    assert response.status_code == 400 and "YYYY-MM-DD" in response.json()["end_date"]
    assert not RetentionRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_missing_credentials_are_refused_naming_the_settings_not_a_network_error(
    tier, s3, client, settings, monkeypatch
):
    """No AWS_ACCESS_KEY/AWS_SECRET_KEY and nothing in boto3's chain: botocore raises
    NoCredentialsError before any request. That is a setting to fix (permanent: the run fails
    at once naming the settings), not the store out of reach ("check the network", retried
    for nothing)."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role either
    settings.AWS_ACCESS_KEY = settings.AWS_SECRET_KEY = ""
    env = restore_worker_env(settings, tier, s3.endpoint, AWS_ACCESS_KEY="", AWS_SECRET_KEY="")
    detail = refused_restore_of_january(client, env)
    assert "credentials" in detail and "AWS_ACCESS_KEY" in detail
    assert "network" not in detail
    assert RetentionRun.objects.filter(operation="restore").get().status == "failed"
