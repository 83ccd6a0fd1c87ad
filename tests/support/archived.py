"""An archive made once per test process, planted again for the next tests that read it.

A module's `archived` fixture writes years of daily rows and runs a real archive to moto's S3:
about two seconds a test, and most of its tests only read what the run left. With

    @pytest.fixture
    def archived(tier, s3):
        def archive():
            tier.write(readings)
            assert run_archive(NOW).objects ...
            return as_rows(readings)
        return archived_once(archive, tier, s3)

`archive` runs for real in the first test of the process that asks for it; what it left is
recorded (`Recorded`): the objects in the bucket (bytes, user metadata, storage class,
encryption, SHA-256 checksum, content type), the ArchiveObject and RetentionRun rows it added,
the `archive_metadata` points. Each next test gets that state planted into its own fresh stores
(the `tier` databases, the emptied moto server, its rolled-back PostgreSQL rows), as the run
records it: an ArchiveObject's `created` is its object's upload time, and the rows' other
wall-clock times keep their distance from it. Before the test starts, the planted state is
checked to be the recorded one (`state`), so a test never reads a copy that differs from what
the run made. A test may change its copy freely: the next test gets a fresh one.

The recording is keyed by the function and the archive settings, so a test that changes them
before asking for `archived` gets a real run of its own.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings

from enrich.influx import get_timeseries
from retention.archive.reader import MEASUREMENT
from retention.archive.recorded import write_metadata_point
from retention.archive.run import run_archive
from retention.models import ArchiveObject, RetentionRun
from retention.schema import ARCHIVE_METADATA_MEASUREMENT
from tests.support.archive import MotoS3, Tier, as_rows, daily_rows

T = TypeVar("T")

# What the archive reads of the settings; the S3 endpoint and local directory are per test.
ARCHIVE_SETTINGS = ("ARCHIVE_COMPRESSION", "ARCHIVE_PERIOD", "ARCHIVE_RETENTION_YEARS",
                    "ARCHIVE_MIN_OBJECT_BYTES", "S3_ARCHIVE_BUCKET", "S3_STORAGE_CLASS", "S3_SSE",
                    "S3_SSE_KMS_KEY_ID", "RETENTION_DAILY_DAYS")  # fmt: skip
# The head_object fields an upload sets (LastModified is the upload's own time).
HEAD_FIELDS = ("ContentLength", "ContentType", "ETag", "Metadata", "StorageClass",
               "ServerSideEncryption", "ChecksumSHA256")  # fmt: skip
PUT_FIELDS = ("ContentType", "Metadata", "StorageClass", "ServerSideEncryption", "ChecksumSHA256")
# Wall-clock times of the rows (the others, such as a run's range, are times of the data).
OBJECT_TIMES = ("created", "verified", "source_deleted", "expired")
RUN_TIMES = ("started", "finished", "storage_settled_at")


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    head: dict[str, Any]  # HEAD_FIELDS present in the answer
    uploaded: datetime  # LastModified


@dataclass
class Recorded:
    result: Any
    objects: list[StoredObject]
    index: list[dict[str, Any]]  # ArchiveObject rows by key, without id
    runs: list[dict[str, Any]]  # the RetentionRun rows the archive added, without id
    state: dict[str, Any]


_RECORDED: dict[tuple, Recorded] = {}


def archived_once(archive: Callable[[], T], tier: Tier, s3: MotoS3) -> T:
    """`archive()`'s result and the state it leaves: made by it the first time in this process
    (for these archive settings), else planted from that run's recording and checked."""
    key = (archive.__module__, archive.__qualname__,
           *(repr(getattr(settings, name, None)) for name in ARCHIVE_SETTINGS))  # fmt: skip
    recorded = _RECORDED.get(key)
    if recorded is None:
        _RECORDED[key] = recorded = _record(archive, tier, s3)
    else:
        _plant(recorded, s3)
        planted = state(tier, s3)
        assert planted == recorded.state, "the planted archive differs from the one the run made"
    return copy.deepcopy(recorded.result)


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def _record(archive: Callable[[], Any], tier: Tier, s3: MotoS3) -> Recorded:
    counts = _row_counts()
    last_run = RetentionRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    result = archive()
    changed = {label for label, count in _row_counts().items() if counts.get(label) != count}
    # Only rows planting puts back: anything else the archive wrote would be missing there.
    assert changed <= {"retention.ArchiveObject", "retention.RetentionRun"}, changed
    objects = _stored(s3)
    index = [_without_id(row) for row in ArchiveObject.objects.order_by("key").values()]
    uploaded = {o.key: o.uploaded for o in objects}
    assert all(row["created"] == uploaded[row["key"]] for row in index)  # as the run records it
    runs = RetentionRun.objects.filter(pk__gt=last_run).order_by("pk").values()
    return Recorded(result, objects, index, [_without_id(r) for r in runs], state(tier, s3))


def _without_id(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != "id"}


def _stored(s3: MotoS3) -> list[StoredObject]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    objects = []
    for key in sorted(item["Key"] for item in listed):
        head = client.head_object(Bucket=s3.bucket, Key=key, ChecksumMode="ENABLED")
        body = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        kept = {name: head[name] for name in HEAD_FIELDS if name in head}
        objects.append(StoredObject(key, body, kept, head["LastModified"]))
    return objects


def _shifted(row: dict[str, Any], names: tuple[str, ...], by: timedelta) -> dict[str, Any]:
    return {k: v + by if k in names and v is not None else v for k, v in row.items()}


def _plant(recorded: Recorded, s3: MotoS3) -> None:
    client = s3.client()
    uploaded = {}
    for obj in recorded.objects:
        extra = {name: obj.head[name] for name in PUT_FIELDS if name in obj.head}
        if "ChecksumSHA256" in extra:
            extra["ChecksumAlgorithm"] = "SHA256"
        client.put_object(Bucket=s3.bucket, Key=obj.key, Body=obj.body, **extra)
        head = client.head_object(Bucket=s3.bucket, Key=obj.key)
        uploaded[obj.key] = head["LastModified"] - obj.uploaded
    ts = get_timeseries()
    for row in recorded.index:
        planted = ArchiveObject.objects.create(**_shifted(row, OBJECT_TIMES, uploaded[row["key"]]))
        write_metadata_point(planted, ts)
    later = min(uploaded.values(), default=timedelta(0))
    for row in recorded.runs:
        run = RetentionRun.objects.create(**_shifted(row, RUN_TIMES, later))
        if "run_id" in run.details:  # the archive report names its run
            run.details = {**run.details, "run_id": run.pk}
            run.save(update_fields=["details"])


def _relative(row: dict[str, Any], names: tuple[str, ...], to: datetime | None) -> dict:
    """The row without its id, its wall-clock times as distances from `to`."""
    return {
        k: (v - to if to and v else v) if k in names else v for k, v in _without_id(row).items()
    }


def state(tier: Tier, s3: MotoS3) -> dict[str, Any]:
    """What an archive run leaves, wall-clock times as distances (see the module doc)."""
    objects = _stored(s3)
    uploaded = {o.key: o.uploaded for o in objects}
    index = [
        _relative(row, OBJECT_TIMES, uploaded.get(row["key"]))
        for row in ArchiveObject.objects.order_by("key").values()
    ]
    runs = []
    for row in RetentionRun.objects.order_by("started", "pk").values():
        details = dict(row["details"])
        if details.get("run_id") == row["id"]:
            details["run_id"] = "its own"
        runs.append({**_relative(row, RUN_TIMES, row["started"]), "details": details})
    ts = get_timeseries()
    query = f'SELECT * FROM "{ARCHIVE_METADATA_MEASUREMENT}" GROUP BY *'
    points = [(p.time, p.tags, p.values) for p in ts.query(tier.enrich_database, query)]
    databases = ts.databases()
    names = (tier.database, tier.enrich_database, tier.restore_database)
    return {
        "objects": [(o.key, hashlib.sha256(o.body).hexdigest(), o.head) for o in objects],
        "index": index,
        "runs": runs,
        "archive_metadata": sorted(points, key=repr),
        "daily tier": tier.rows(),
        "daily tier fields": ts.field_keys(tier.database, MEASUREMENT),
        "databases": [name in databases for name in names],
    }


# Two entities' 2021..2023 archived on 2025-03-15, when they are closed years: a file each.
YEARS_NOW = datetime(2025, 3, 15, tzinfo=UTC)
YEARS_KEYS = [f"archives/{year}/data_{year}-01-01.parquet" for year in (2021, 2022, 2023)]


def three_years_archived(tier: Tier, s3: MotoS3) -> list[dict]:
    """Two entities' 2021..2023, archived on YEARS_NOW (YEARS_KEYS) and gone from the daily
    tier: their rows, as the archive holds them."""

    def archive() -> list[dict]:
        readings = daily_rows(2, date(2021, 1, 1), 3 * 365)
        tier.write(readings)
        assert [o["key"] for o in run_archive(YEARS_NOW).objects] == YEARS_KEYS
        assert tier.rows() == []
        return as_rows(readings)

    return archived_once(archive, tier, s3)
