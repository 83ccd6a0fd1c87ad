"""The archive against moto's S3 server on loopback (or a local directory) and the real
InfluxDB: keys, storage class, encryption, verification, grouping of small months,
idempotent reruns, failures that delete nothing, expiry, dry run."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from enrich.influx import get_timeseries
from enrich.readings import Reading
from enrich.redis.client import get_redis
from retention.archive import format as fmt
from retention.archive.local import LocalStorage
from retention.archive.lock import archive_lock_key
from retention.archive.plan import MIN_OBJECT_BYTES, plan_archive
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.models import ArchiveObject, RetentionRun
from retention.schema import DAILY_RP
from tests.support.archive import (
    BUCKET,
    Recording,
    archive_killed_at,
    as_rows,
    daily_rows,
    midnight,
)

pytestmark = pytest.mark.django_db

# Cutoff = NOW - 365 days = 2024-03-15: 2022 and 2023 are closed years, 2024-01/02 closed months.
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)


def test_archives_closed_years_to_glacier_ir_with_encryption_and_deletes_the_rows(tier, s3):
    readings = daily_rows(6, date(2022, 1, 1), 365 * 2 + 100)  # 2022-01-01 .. 2024-04-09
    tier.write(readings)
    report = run_archive(NOW)

    assert report.errors == [] and report.status == "ok"
    keys = ["archives/2022/data_2022-01-01.parquet", "archives/2023/data_2023-01-01.parquet"]
    assert [o["key"] for o in report.objects] == keys  # small home: one file per closed year
    client = s3.client()
    for key, year in zip(keys, (2022, 2023), strict=True):
        head = client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert head["StorageClass"] == "GLACIER_IR"
        assert head["ServerSideEncryption"] == "AES256"
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        digest = hashlib.sha256(body).digest()
        assert head["Metadata"]["sha256"] == digest.hex()
        assert head["ChecksumSHA256"] == base64.b64encode(digest).decode()
        obj = ArchiveObject.objects.get(key=key)
        assert (obj.start_date, obj.end_date) == (date(year, 1, 1), date(year, 12, 31))
        assert (obj.file_size, obj.checksum) == (len(body), digest.hex())
        assert obj.storage_class == "GLACIER_IR" and obj.target == "s3" and obj.bucket == BUCKET
        assert obj.verified and obj.source_deleted and obj.expired is None
        # The file holds exactly that year's rows, value for value, sorted entity then time.
        expected = [r for r in as_rows(readings) if r["time"].year == year]
        assert obj.record_count == len(expected) == 6 * 365
        table = fmt.from_parquet(body)
        assert table.column_names[:3] == ["time", "entity_id", "kind"]
        assert str(table.schema.field("time").type) == "timestamp[us, tz=UTC]"
        assert fmt.table_rows(table) == expected

    # InfluxDB keeps only what is not archived: 2024's rows (its year has not closed).
    left = tier.rows()
    assert {r["time"].year for r in left} == {2024}
    assert len(left) == 6 * 100
    assert report.records_deleted == report.records_archived == 2 * 6 * 365
    assert report.waiting and report.waiting[0]["start_date"] == "2024-01-01"

    # The metadata points, one per object.
    points = {p.tags["s3_key"]: p.values for p in tier.metadata_points()}
    assert set(points) == set(keys)
    first = points[keys[0]]
    assert first["s3_key"] == keys[0] and first["start_date"] == "2022-01-01"
    assert first["record_count"] == 6 * 365
    assert first["file_size_mb"] == pytest.approx(
        ArchiveObject.objects.get(key=keys[0]).file_size / 1e6
    )

    run = RetentionRun.objects.get(pk=report.run_id)
    assert (run.operation, run.status) == ("archive", "ok")
    assert run.records_processed == 2 * 6 * 365 and run.records_deleted == 2 * 6 * 365
    assert run.storage_before_bytes is not None and run.storage_after_bytes is not None
    # As measured, not clamped at 0: right after the delete InfluxDB 1.x holds the rows and the
    # tombstones (here 353,748 B before, 357,913 B after), so the figure is negative.
    assert run.storage_freed_mb == (run.storage_before_bytes - run.storage_after_bytes) / 1e6
    assert run.duration_seconds > 0 and run.errors == ""


def test_rerun_uploads_nothing_and_changes_nothing(tier, s3):
    tier.write(daily_rows(4, date(2022, 1, 1), 365 * 2))
    first = run_archive(NOW)
    assert len(first.objects) == 2
    before = list(ArchiveObject.objects.values_list("key", "checksum", "created", "verified"))

    storage = Recording(s3.storage())
    again = run_archive(NOW, storage=storage)
    assert again.errors == [] and again.objects == [] and again.records_deleted == 0
    assert storage.keys("put") == [] and storage.keys("delete") == []
    assert (
        list(ArchiveObject.objects.values_list("key", "checksum", "created", "verified")) == before
    )


def test_small_months_are_grouped_up_to_the_minimum_object_size(tier, s3, settings):
    """Months of one year join one file until it reaches the minimum size; the rest of a
    year waits until the year closes, then is written even if smaller."""
    readings = daily_rows(8, date(2023, 1, 1), 365 + 60)  # 2023 + Jan/Feb 2024
    tier.write(readings)
    month = len(
        fmt.to_parquet(
            fmt.rows_to_table(
                [r for r in as_rows(readings) if r["time"] < midnight(date(2023, 2, 1))],
                fmt.field_types({"humidity_mean": "float", "temperature_mean": "float",
                                 "humidity_coverage_seconds": "float",
                                 "temperature_coverage_seconds": "float"}),
            ),
            "gzip",
        )
    )  # fmt: skip
    settings.ARCHIVE_MIN_OBJECT_BYTES = int(month * 3.5)  # about four months per file

    plan = plan_archive(NOW)
    starts = [o.start for o in plan.objects]
    assert starts[0] == date(2023, 1, 1) and all(s.year == 2023 for s in starts)
    for obj in plan.objects[:-1]:
        assert len(obj.data) >= settings.ARCHIVE_MIN_OBJECT_BYTES
        assert obj.why.startswith("reached")
    assert plan.objects[-1].end == date(2023, 12, 31) and plan.objects[-1].why == "year 2023 closed"
    # Consecutive, gap-free, each file's key is its first day.
    for before, after in zip(plan.objects, plan.objects[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)
    assert [o.key for o in plan.objects] == [
        f"archives/2023/data_{s.isoformat()}.parquet" for s in starts
    ]
    # 2024: two closed months, below the minimum, and the year is open: they wait.
    [waiting] = plan.waiting
    assert (waiting.start, waiting.end, waiting.record_count) == (
        date(2024, 1, 1),
        date(2024, 2, 29),
        8 * 60,
    )
    assert "below the" in waiting.why
    # 2024 closed on 2025-01-01; its December is due (older than RETENTION_DAILY_DAYS) a year on.
    # Before: "... or when 2024 closes (on 2026-01-01)", in March 2025.
    assert waiting.why.endswith(
        "written when it grows past it or when all of 2024 is due (on 2026-01-01)"
    )

    report = run_archive(NOW)
    assert [o["key"] for o in report.objects] == [o.key for o in plan.objects]
    assert len(tier.rows()) == 8 * 60


def test_a_plan_holds_the_files_bytes_not_their_python_rows(tier):
    """A due row is some 2 KB of Python objects: the plan of a backlog keeps each file's
    bytes and row count, and a run reads a file's rows back from them as it writes that file,
    so it holds one file's rows at a time, not the backlog's (a year of a home of 200 entities
    is some 180 MB)."""
    tier.write(daily_rows(3, date(2022, 1, 1), 365 + 365))  # 2022 and 2023, both closed
    plan = plan_archive(NOW)
    assert [o.start for o in plan.objects] == [date(2022, 1, 1), date(2023, 1, 1)]
    held = [sum(len(v) for v in vars(o).values() if isinstance(v, list)) for o in plan.objects]
    assert held == [0, 0]  # before: 1,095 rows each
    assert [o.record_count for o in plan.objects] == [len(o.rows) for o in plan.objects]
    assert [o.record_count for o in plan.objects] == [3 * 365, 3 * 365]


def test_the_real_minimum_groups_a_50_entity_year_into_few_files(tier, s3):
    """With Glacier IR's 128 KB minimum, a 50-entity home's year is a handful of files, each
    at least 128 KB except the last of the year."""
    tier.write(daily_rows(50, date(2023, 1, 1), 365))
    report = run_archive(NOW)
    assert report.errors == []
    sizes = [o["file_size"] for o in report.objects]
    assert 1 <= len(sizes) <= 4
    assert all(size >= MIN_OBJECT_BYTES for size in sizes[:-1])
    assert sum(o["record_count"] for o in report.objects) == 50 * 365
    assert tier.rows() == []


def test_a_corrupted_upload_deletes_nothing_and_the_next_run_replaces_it(tier, s3):
    readings = daily_rows(4, date(2022, 1, 1), 365)
    tier.write(readings)
    bad = Recording(s3.storage(), corrupt_puts=True)
    report = run_archive(NOW, storage=bad)

    assert report.status == "failed"
    assert "VerificationError" in report.errors[0] and "Nothing was deleted" in report.errors[0]
    assert len(tier.rows()) == 4 * 365  # every row still in InfluxDB
    assert not ArchiveObject.objects.exists()
    assert RetentionRun.objects.get(pk=report.run_id).status == "failed"

    good = Recording(s3.storage())
    report = run_archive(NOW, storage=good)
    assert report.errors == []
    assert good.keys("put") == ["archives/2022/data_2022-01-01.parquet"]  # replaced once
    assert tier.rows() == []
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def test_a_damaged_verified_object_is_never_overwritten(tier, s3):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    key = "archives/2022/data_2022-01-01.parquet"
    s3.client().put_object(Bucket=BUCKET, Key=key, Body=b"not parquet any more")
    late = daily_rows(1, date(2022, 6, 1), 1, seed=99)  # a row appears again in the range
    tier.write(late)

    storage = Recording(s3.storage())
    report = run_archive(NOW, storage=storage)
    assert storage.keys("put") == []
    assert "damaged" in report.errors[0]
    assert len(tier.rows()) == 1


def test_the_store_going_down_mid_run_deletes_nothing_and_a_rerun_finishes(tier, s3):
    tier.write(daily_rows(3, date(2022, 1, 1), 365 * 2))
    host, port = s3.server.get_host_and_port()

    class StopsBeforeSecondUpload(Recording):
        def put(self, key, data, storage_class="", sse="", metadata=None):
            if key.startswith("archives/2023"):
                s3.server.stop()  # the store disappears mid-run
            return super().put(key, data, storage_class, sse, metadata)

    report = run_archive(NOW, storage=StopsBeforeSecondUpload(s3.storage()))
    assert report.status == "failed"
    assert "archives/2023/data_2023-01-01.parquet" in report.errors[0]
    assert "Cannot reach the archive store" in report.errors[0]
    # 2022 went through completely; 2023's rows are all still in InfluxDB.
    assert ArchiveObject.objects.get().key == "archives/2022/data_2022-01-01.parquet"
    assert {r["time"].year for r in tier.rows()} == {2023}
    assert len(tier.rows()) == 3 * 365

    # The store comes back (moto keeps its data in the process): the rerun finishes.
    s3.server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    s3.server.start()
    storage = Recording(s3.storage())
    report = run_archive(NOW, storage=storage)
    assert report.errors == []
    assert storage.keys("put") == ["archives/2023/data_2023-01-01.parquet"]
    assert tier.rows() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "fault, row_recorded",
    [("archive.after_upload", False), ("archive.before_delete", True)],
)
def test_a_process_killed_between_upload_and_delete_loses_nothing(tier, s3, fault, row_recorded):
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    key = "archives/2022/data_2022-01-01.parquet"

    killed = archive_killed_at(tier, s3, fault, NOW.date())
    assert killed.returncode == -9, killed.stderr  # SIGKILL, as the OOM killer would
    assert s3.client().head_object(Bucket=BUCKET, Key=key)["StorageClass"] == "GLACIER_IR"
    assert ArchiveObject.objects.filter(key=key).exists() is row_recorded
    assert len(tier.rows()) == 3 * 365  # nothing deleted
    assert RetentionRun.objects.get(operation="archive").status == "running"  # died mid-run
    # The dead run's lock would expire after LOCK_SECONDS; do not wait for it here.
    assert get_redis().delete(archive_lock_key()) == 1

    storage = Recording(s3.storage())
    report = run_archive(NOW, storage=storage)
    assert report.errors == []
    assert storage.keys("put") == []  # the existing object was found and adopted
    assert tier.rows() == []
    obj = ArchiveObject.objects.get(key=key)
    assert obj.verified and obj.source_deleted and obj.record_count == 3 * 365
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def test_late_rows_wait_for_a_young_object_and_are_merged_into_an_old_one(tier, s3):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    key = "archives/2022/data_2022-01-01.parquet"
    late = daily_rows(1, date(2022, 3, 1), 2, seed=5)
    late = [type(r)(r.measurement, r.fields, r.time, {"entity_id": "sensor.late", "kind": "power"})
            for r in late]  # fmt: skip
    tier.write(late)
    uploaded = s3.client().head_object(Bucket=BUCKET, Key=key)["LastModified"]

    storage = Recording(s3.storage())
    report = run_archive(uploaded + timedelta(days=30), storage=storage)
    assert storage.keys("put") == []
    assert report.held_back and "younger than 90 days" in report.held_back[0]["why"]
    assert len(tier.rows()) == 2

    report = run_archive(uploaded + timedelta(days=91), storage=storage)
    assert report.errors == [] and storage.keys("put") == [key]
    assert tier.rows() == []
    restored = fmt.table_rows(restore_from_archive("2022-03-01", "2022-03-02"))
    assert [r for r in restored if r["entity_id"] == "sensor.late"] == as_rows(late)
    assert ArchiveObject.objects.get(key=key).record_count == 2 * 365 + 2


def test_a_merge_uploaded_but_not_recorded_is_taken_up_by_the_next_run(tier, s3):
    """The store goes away right after the merged file (old rows + late rows) replaced the
    object, before it was verified and recorded: the next run recognises its own merge of the
    recorded file and finishes, instead of calling the object damaged for ever."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    key = "archives/2022/data_2022-01-01.parquet"
    late = [type(r)(r.measurement, r.fields, r.time, {"entity_id": "sensor.late", "kind": "power"})
            for r in daily_rows(1, date(2022, 3, 1), 2, seed=5)]  # fmt: skip
    tier.write(late)
    later = s3.client().head_object(Bucket=BUCKET, Key=key)["LastModified"] + timedelta(days=91)
    host, port = s3.server.get_host_and_port()

    class GoesAwayAfterTheUpload(Recording):
        def put(self, key, data, storage_class="", sse="", metadata=None):
            info = super().put(key, data, storage_class, sse, metadata)
            s3.server.stop()
            return info

    report = run_archive(later, storage=GoesAwayAfterTheUpload(s3.storage()))
    assert "Cannot reach the archive store" in report.errors[0]
    assert len(tier.rows()) == 2  # nothing deleted

    s3.server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    s3.server.start()
    storage = Recording(s3.storage())
    report = run_archive(later, storage=storage)
    assert report.errors == [] and storage.keys("put") == []  # adopted, not uploaded again
    assert tier.rows() == []
    obj = ArchiveObject.objects.get(key=key)
    assert obj.record_count == 2 * 365 + 2 and obj.source_deleted
    restored = fmt.table_rows(restore_from_archive("2022-03-01", "2022-03-02"))
    assert [r for r in restored if r["entity_id"] == "sensor.late"] == as_rows(late)


def test_objects_older_than_the_retention_years_are_expired(tier, s3, settings):
    tier.write(daily_rows(2, date(2019, 1, 1), 365 * 3))  # 2019, 2020, 2021
    run_archive(NOW)
    assert ArchiveObject.objects.count() == 3
    ArchiveObject.objects.update(created=datetime(2023, 1, 1, tzinfo=UTC))
    settings.ARCHIVE_RETENTION_YEARS = 5

    plan = plan_archive(datetime(2026, 1, 10, tzinfo=UTC))  # limit: data ended before 2021-01-10
    assert sorted(o.key for o in plan.expire) == [
        "archives/2019/data_2019-01-01.parquet",
        "archives/2020/data_2020-01-01.parquet",
    ]
    report = run_archive(datetime(2026, 1, 10, tzinfo=UTC))
    assert sorted(report.expired) == [o.key for o in plan.expire]
    remaining = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert remaining == ["archives/2021/data_2021-01-01.parquet"]
    expired = ArchiveObject.objects.filter(expired__isnull=False)
    assert sorted(expired.values_list("key", flat=True)) == report.expired
    # Restore knows they are gone and downloads nothing for them.
    assert restore_from_archive("2019-01-01", "2020-12-31").num_rows == 0

    # An object younger than 90 days is never deleted, even when its data is old.
    ArchiveObject.objects.filter(expired__isnull=True).update(
        created=datetime(2027, 12, 1, tzinfo=UTC)
    )
    assert plan_archive(datetime(2028, 1, 10, tzinfo=UTC)).expire == []


def test_check_lifecycle_reports_the_buckets_expiration_rule(s3):
    storage = s3.storage()
    status = storage.check_lifecycle("archives/", 5)
    assert (status.applicable, status.expires) == (True, False)
    assert "no lifecycle rules" in status.message

    def rule(days: int, prefix: str) -> dict:
        return {"ID": f"expire-{days}", "Status": "Enabled", "Filter": {"Prefix": prefix},
                "Expiration": {"Days": days}}  # fmt: skip

    client = s3.client()
    client.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule(365, "archives/")]}
    )
    short = storage.check_lifecycle("archives/", 5)
    assert (short.expires, short.days) == (False, 365) and "lengthen it" in short.message
    client.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={"Rules": [rule(30, "logs/"), rule(5 * 365, "archives/")]},
    )
    found = storage.check_lifecycle("archives/", 5)
    assert (found.expires, found.rule_id, found.days) == (True, "expire-1825", 1825)


def test_local_directory_target_has_the_same_layout(tier, local_archive):
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    storage = get_storage()
    assert isinstance(storage, LocalStorage)

    report = run_archive(NOW)
    assert report.errors == [] and report.target == "local"
    path = local_archive / "archives" / "2022" / "data_2022-01-01.parquet"
    data = path.read_bytes()
    obj = ArchiveObject.objects.get()
    assert (obj.target, obj.bucket, obj.storage_class) == ("local", str(local_archive), "")
    assert obj.checksum == hashlib.sha256(data).hexdigest() and obj.file_size == len(data)
    assert storage.head(obj.key).metadata["sha256"] == obj.checksum
    assert [i.key for i in storage.list("archives/")] == [obj.key]  # metadata files hidden
    assert fmt.table_rows(fmt.from_parquet(data)) == as_rows(readings)
    assert tier.rows() == []


def test_zstd_is_selectable(tier, local_archive, settings):
    settings.ARCHIVE_COMPRESSION = "zstd"
    readings = daily_rows(3, date(2022, 1, 1), 365)
    tier.write(readings)
    run_archive(NOW)
    obj = ArchiveObject.objects.get()
    assert obj.compression == "zstd"
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(local_archive / obj.key).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def test_dry_run_reports_and_changes_nothing(tier, s3):
    tier.write(daily_rows(4, date(2023, 1, 1), 365 + 30))  # 2023 + January 2024 (waits)
    sizes_before = get_timeseries().sizes()[(tier.database, DAILY_RP)]
    report = run_archive(NOW, dry_run=True)

    assert report.status == "dry_run" and report.errors == []
    assert [o["key"] for o in report.objects] == ["archives/2023/data_2023-01-01.parquet"]
    assert report.objects[0]["record_count"] == 4 * 365 and report.objects[0]["file_size"] > 0
    assert report.records_archived == 4 * 365
    # Expected bytes freed: the daily tier's measured bytes per row x the rows to delete.
    total = 4 * (365 + 30)
    assert report.expected_bytes_freed == pytest.approx(sizes_before / total * 4 * 365, rel=0.05)
    assert "Contents" not in s3.client().list_objects_v2(Bucket=BUCKET)
    assert len(tier.rows()) == total
    assert not ArchiveObject.objects.exists() and tier.metadata_points() == []
    run = RetentionRun.objects.get(pk=report.run_id)
    assert (run.status, run.records_processed, run.records_deleted) == ("dry_run", 4 * 365, 0)


def test_before_the_first_downsample_run_there_is_nothing_to_archive(ha_db, local_archive, capsys):
    """A fresh install: TIER_DATABASE has no enrich_daily yet (the first downsample run creates
    it). Before, the archive and its dry run failed: "retention policy not found"."""
    says = (
        f"nothing to archive yet: {ha_db.name}/{DAILY_RP} does not exist (the first "
        "downsample run creates it)"
    )
    call_command("archive_to_s3", "--dry-run")
    out = capsys.readouterr().out
    assert "would write 0 files, 0 rows" in out and says in out
    dry = RetentionRun.objects.get()
    assert (dry.status, dry.records_processed, dry.errors) == ("dry_run", 0, "")
    report = run_archive(NOW)
    assert (report.status, report.objects, report.errors, report.note) == ("ok", [], [], says)
    assert [p.name for p in get_timeseries().retention_policies(ha_db.name)] == ["autogen"]
    assert not ArchiveObject.objects.exists() and not list(local_archive.rglob("*.parquet"))


def test_a_run_with_no_month_due_says_why_and_when_the_next_comes_due(
    tier, s3, capsys, client, admin_client, settings
):
    """A run or dry run with nothing to archive said "would write 0 files, 0 rows" (and its
    record, on the API and in the admin, an empty note) and nothing of why."""
    tier.write(daily_rows(2, date(2024, 3, 1), 20))  # March 2024: not closed at the cutoff
    as_of = NOW.date().isoformat()  # cutoff 2024-03-15
    due = (
        "2024-03-01..2024-03-31 comes due at 2025-04-01 00:00 UTC (daily rows are kept 365 "
        "days, then archived by whole months)"
    )
    none_yet = f"no month was due: every month before 2024-03-01 holds no daily row; {due}"
    call_command("archive_to_s3", "--dry-run", "--as-of", as_of)
    out = capsys.readouterr().out
    assert ": would write 0 files, 0 rows\n" in out and f"\n{none_yet}\n" in out, out

    tier.write(daily_rows(2, date(2023, 1, 1), 365))
    assert [o["key"] for o in run_archive(NOW).objects] == ["archives/2023/data_2023-01-01.parquet"]
    archived = (
        "no month was due: every month before 2024-03-01 is archived (or holds no daily row); "
        f"{due}"
    )
    for dry in ("--dry-run", None):
        call_command("archive_to_s3", *filter(None, [dry, "--as-of", as_of]))
        out = capsys.readouterr().out
        verb = "would write" if dry else "wrote"
        assert f": {verb} 0 files, 0 rows\n" in out and f"\n{archived}\n" in out, out
        run = RetentionRun.objects.latest("pk")
        assert run.details["note"] == archived and run.errors == ""
        assert client.get(f"/retention/runs/{run.pk}").json()["details"]["note"] == archived
        page = admin_client.get(f"/admin/retention/retentionrun/{run.pk}/change/").content
        assert archived in page.decode()
    assert len(tier.rows()) == 2 * 20  # March stays

    settings.ARCHIVE_PERIOD = "quarter"
    assert run_archive(NOW, dry_run=True).note == (
        "no quarter was due: every quarter before 2024-01-01 is archived (or holds no daily "
        "row); 2024-01-01..2024-03-31 comes due at 2025-04-01 00:00 UTC (daily rows are kept "
        "365 days, then archived by whole quarters)"
    )


def test_hourly_rows_still_in_the_range_stop_the_delete(tier, s3):
    """InfluxDB 1.x deletes from every retention policy: when the hourly tier still holds
    rows of an archived day, the delete is refused and nothing is lost."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    hourly = daily_rows(1, date(2022, 5, 1), 1)
    get_timeseries().write(tier.database, hourly, retention_policy="enrich_hourly")
    report = run_archive(NOW)
    assert "UnsafeDelete" in report.errors[0]
    assert len(tier.rows()) == 2 * 365
    assert ArchiveObject.objects.get().source_deleted is None


def test_a_dry_run_with_the_store_out_of_reach_reports_it_instead_of_failing(tier, s3):
    """Reading the lifecycle rules is only for the report: a store out of reach is said there
    (as reading it refused is), and the dry run still reports what would be archived."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    s3.server.stop()
    report = run_archive(NOW, dry_run=True)
    assert report.status == "dry_run"
    assert report.lifecycle.startswith("could not read lifecycle rules: Cannot reach")
    assert [o["key"] for o in report.objects] == ["archives/2022/data_2022-01-01.parquet"]
    # Whether the store holds a file its index lacks could not be checked: said beside the file.
    [said] = report.errors
    assert said.startswith("archives/2022/data_2022-01-01.parquet: could not check "), said
    assert "Cannot reach" in said, said


def test_the_shortest_overlapping_expiration_rule_is_the_one_reported(s3):
    """S3 honours the shorter of two overlapping expiration rules: a rule keeping archives/
    five years says nothing when another one, on the whole bucket or on part of archives/,
    deletes them sooner."""
    storage = s3.storage()

    def rule(days: int, prefix: str) -> dict:
        return {"ID": f"expire-{days}", "Status": "Enabled", "Filter": {"Prefix": prefix},
                "Expiration": {"Days": days}}  # fmt: skip

    client = s3.client()
    for short in (rule(30, ""), rule(90, "archives/2022/")):
        client.put_bucket_lifecycle_configuration(
            Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule(1826, "archives/"), short]}
        )
        status = storage.check_lifecycle("archives/", 5)
        assert (status.expires, status.rule_id, status.days) == (
            False,
            short["ID"],
            short["Expiration"]["Days"],
        )
        assert "lengthen it" in status.message


def test_an_entity_day_with_two_rows_is_neither_archived_nor_deleted(tier, s3):
    """Two daily rows of one entity and day under two kind tags (a late point folded in after
    the entity's kind changed, by an earlier version): the file held both, and the rows were
    deleted from InfluxDB, but no restore reads a file repeating an entity and day, so the
    whole year was out of reach."""
    readings = daily_rows(2, date(2022, 1, 1), 365)
    numeric = next(r for r in readings if r.tags["entity_id"] == "sensor.power_000")
    readings.append(Reading(numeric.measurement, {"sample_count": 1, "coverage_seconds": 0.0},
                            numeric.time, {**numeric.tags, "kind": "text"}))  # fmt: skip
    tier.write(readings)

    report = run_archive(NOW)
    assert report.status == "failed" and ArchiveObject.objects.count() == 0
    assert "sensor.power_000 on 2022-01-01 (kind power, text)" in report.errors[0]
    assert len(tier.rows()) == len(readings)  # nothing deleted
    assert get_storage().list("archives/") == []


def test_the_commands_count_one_file_of_one_row_in_the_singular(
    tier, local_archive, capsys, tmp_path
):
    """It said "wrote 1 files, 1 rows", "1 rows" for the file, and "1 rows written to"."""
    tier.write(daily_rows(1, date(2022, 1, 1), 1))  # 2022 has closed: written however small
    call_command("archive_to_s3", "--as-of", NOW.date().isoformat())
    out = capsys.readouterr().out
    assert f"rows before {date(2024, 3, 15)}: wrote 1 file, 1 row\n" in out, out
    assert "  archives/2022/data_2022-01-01.parquet  2022-01-01..2022-12-31  1 row  " in out, out
    target = tmp_path / "2022.parquet"
    call_command("restore_from_archive", "2022-01-01", "2022-12-31", "--output", str(target))
    assert capsys.readouterr().out == (
        f"1 row of 2022-01-01..2022-12-31 from 1 archive file written to {target}; the archive "
        "held rows for 1 of the 365 days asked\n"
    )


def test_the_command_says_how_many_rows_left_influxdb(tier, local_archive, capsys):
    """A real run printed the files it wrote and nothing of the rows it deleted from InfluxDB,
    the point of the run: whether they left InfluxDB could be told only from the admin."""
    readings = daily_rows(2, date(2022, 1, 1), 3)
    tier.write(readings)
    call_command("archive_to_s3", "--as-of", NOW.date().isoformat())
    out = capsys.readouterr().out
    assert f"deleted from InfluxDB: {len(readings)} rows of {tier.database}/enrich_daily" in out
    assert tier.rows() == []
    call_command("archive_to_s3", "--as-of", NOW.date().isoformat(), "--dry-run")
    assert "deleted from InfluxDB" not in capsys.readouterr().out  # a dry run deletes nothing


@pytest.mark.parametrize("as_of", ["2199-12-31", "2062-03-15"])  # a year typed wrong
def test_a_real_run_as_of_a_later_day_is_refused_and_changes_nothing(tier, local_archive, as_of):
    # Was run: every daily row archived and deleted from InfluxDB years early, and every
    # archive object whose data ended ARCHIVE_RETENTION_YEARS before that day deleted for good.
    readings = daily_rows(1, date(2022, 1, 1), 3)
    tier.write(readings)
    with pytest.raises(CommandError, match=rf"--as-of {as_of} is after today \(\d{{4}}-"):
        call_command("archive_to_s3", "--as-of", as_of)
    assert len(tier.rows()) == len(readings)
    assert not ArchiveObject.objects.exists() and not RetentionRun.objects.exists()
    call_command("archive_to_s3", "--as-of", as_of, "--dry-run")  # the preview it is meant for
    assert len(tier.rows()) == len(readings)
