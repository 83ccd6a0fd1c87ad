"""Rebuilding the archive index from the store after losing the database, against moto's S3
server on loopback, the local directory target and the real InfluxDB: the rebuilt rows find
the same rows on restore; damaged or inconsistent objects are reported, not indexed; a dry
run writes nothing; a rerun changes nothing; Redis out of reach stops it, a rerun goes on."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pytest
from django.core.management import CommandError, call_command

from enrich.redis.client import get_redis
from enrich.redis.lock import RunLock
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.index import rebuild_index
from retention.archive.local import LocalStorage
from retention.archive.lock import archive_lock_key
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.store import sha256_hex
from retention.archive.verify import verify_object
from retention.models import ArchiveObject
from tests.support.archive import BUCKET, Recording, as_rows, daily_rows
from tests.support.archived import archived_once
from tests.support.commands import refusal
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, tzinfo=UTC)  # cutoff 2025-03-15: 2022..2024 are closed years
KEYS = [f"archives/{y}/data_{y}-{m}-01.parquet" for y, m in ((2022, "03"), (2023, "01"), (2024, "01"))]  # fmt: skip
FIELDS = ("key", "target", "bucket", "start_date", "end_date", "record_count", "file_size",
          "checksum", "compression", "storage_class", "created", "expired")  # fmt: skip


@pytest.fixture(autouse=True)
def own_lock(settings):
    """A Redis key prefix of this test's own: test runs in parallel share Redis, and another
    run's archive lock would stop the rebuild."""
    settings.REDIS_KEY_PREFIX = f"test-index-{uuid.uuid4().hex[:10]}"


def index() -> list[tuple]:
    return list(ArchiveObject.objects.order_by("key").values_list(*FIELDS))


@pytest.fixture
def archived(tier, s3):
    """2022-03-10 .. 2024-12-31 archived in three files (the first starts mid-month, so its
    period bound 2022-03-01 is not a day the file holds)."""

    def archive():
        readings = daily_rows(4, date(2022, 3, 10), 297 + 365 + 366)
        tier.write(readings)
        report = run_archive(NOW)
        assert [o["key"] for o in report.objects] == KEYS and tier.rows() == []
        return as_rows(readings)

    return archived_once(archive, tier, s3)  # made once, then planted (tests/support/archived.py)


def test_rebuild_after_losing_the_rows_restores_the_same_rows(archived, tier, s3):
    before_index = index()
    before = fmt.table_rows(restore_from_archive("2022-01-01", "2024-12-31"))
    assert before == archived
    ArchiveObject.objects.all().delete()  # the database is lost
    assert restore_from_archive("2022-01-01", "2024-12-31").num_rows == 0

    report = rebuild_index()
    assert report.refused == [] and report.already_indexed == []
    assert [o["key"] for o in report.indexed] == KEYS
    assert index() == before_index  # key, range, rows, size, checksum, class, created: as before
    first = ArchiveObject.objects.get(key=KEYS[0])
    assert (first.start_date, first.end_date) == (date(2022, 3, 1), date(2022, 12, 31))
    assert first.record_count == 4 * 297 and first.storage_class == "GLACIER_IR"
    assert first.compression == "gzip" and first.target == "s3" and first.bucket == BUCKET
    # The daily tier holds nothing of these ranges: the source is known to be deleted.
    assert all(o.verified and o.source_deleted for o in ArchiveObject.objects.all())
    assert [o["rows_in_daily_tier"] for o in report.indexed] == [0, 0, 0]
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2024-12-31")) == before
    # The archive_metadata point of each object is there (written again, not duplicated).
    assert sorted(p.tags["s3_key"] for p in tier.metadata_points()) == KEYS


def test_dry_run_writes_nothing_and_a_rerun_changes_nothing(archived, s3):
    ArchiveObject.objects.filter(key__in=KEYS[1:]).delete()  # one row survived
    kept = index()

    storage = Recording(s3.storage())
    dry = rebuild_index(storage, dry_run=True)
    assert dry.dry_run and [o["key"] for o in dry.indexed] == KEYS[1:]
    assert dry.already_indexed == KEYS[:1] and dry.refused == []
    assert index() == kept
    assert storage.keys("put") == [] and storage.keys("delete") == []

    survivor = ArchiveObject.objects.get(key=KEYS[0])
    report = rebuild_index(storage)
    assert [o["key"] for o in report.indexed] == KEYS[1:]
    # The existing row is left alone (not even re-verified).
    assert index()[0] == kept[0]
    assert ArchiveObject.objects.get(key=KEYS[0]).verified == survivor.verified
    rebuilt = list(ArchiveObject.objects.order_by("key").values_list("key", "verified"))

    again = rebuild_index(storage)
    assert again.indexed == [] and again.refused == [] and again.already_indexed == KEYS
    assert list(ArchiveObject.objects.order_by("key").values_list("key", "verified")) == rebuilt
    assert storage.keys("put") == [] and storage.keys("delete") == []


def test_a_damaged_object_is_reported_and_not_indexed(archived, s3):
    client = s3.client()
    head = client.head_object(Bucket=BUCKET, Key=KEYS[1])
    body = client.get_object(Bucket=BUCKET, Key=KEYS[1])["Body"].read()
    middle = len(body) // 2
    damaged = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
    # One flipped byte; the metadata still carries the SHA-256 of the original.
    client.put_object(Bucket=BUCKET, Key=KEYS[1], Body=damaged, Metadata=head["Metadata"])
    ArchiveObject.objects.all().delete()

    report = rebuild_index()
    assert [o["key"] for o in report.indexed] == [KEYS[0], KEYS[2]]
    [refused] = report.refused
    assert refused["key"] == KEYS[1]
    assert f"not the {head['Metadata']['sha256']} stored with it" in refused["why"]
    assert "damaged" in refused["why"]
    assert not ArchiveObject.objects.filter(key=KEYS[1]).exists()
    # Restore serves the verified files and none of the damaged one's days.
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2024-12-31")) == [
        r for r in archived if r["time"].year != 2023
    ]


def test_rows_still_in_the_daily_tier_leave_source_deleted_unknown(archived, tier, s3):
    """As after a crash between upload and delete: the file's rows are still in InfluxDB.
    The rebuilt row says nothing was deleted; the next archive run adopts the file (no
    upload) and deletes the rows."""
    again = [r for r in daily_rows(4, date(2022, 3, 10), 297 + 365 + 366) if r.time.year == 2023]
    tier.write(again)
    ArchiveObject.objects.all().delete()

    report = rebuild_index()
    assert [o["rows_in_daily_tier"] for o in report.indexed] == [0, 4 * 365, 0]
    assert ArchiveObject.objects.get(key=KEYS[1]).source_deleted is None
    assert ArchiveObject.objects.get(key=KEYS[0]).source_deleted is not None

    storage = Recording(s3.storage())
    archive = run_archive(NOW, storage=storage)
    assert archive.errors == [] and storage.keys("put") == []
    assert tier.rows() == [] and ArchiveObject.objects.get(key=KEYS[1]).source_deleted


def test_the_range_comes_from_the_content_when_the_metadata_has_none(tier, s3):
    readings = daily_rows(2, date(2022, 5, 3), 200)  # 2022-05-03 .. 2022-11-18
    tier.write(readings)
    run_archive(NOW)
    key = "archives/2022/data_2022-05-01.parquet"
    client = s3.client()
    sha = client.head_object(Bucket=BUCKET, Key=key)["Metadata"]["sha256"]
    # The object copied without the archive's metadata except its SHA-256.
    client.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key},
                       Metadata={"sha256": sha}, MetadataDirective="REPLACE")  # fmt: skip
    ArchiveObject.objects.all().delete()

    report = rebuild_index()
    assert report.refused == []
    obj = ArchiveObject.objects.get(key=key)
    # Start from the key's date (the period bound), end from the last day in the file.
    assert (obj.start_date, obj.end_date) == (date(2022, 5, 1), date(2022, 11, 18))
    assert obj.record_count == 2 * 200
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2022-12-31")) == as_rows(readings)


def test_local_directory_round_trip_and_inconsistent_objects(tier, local_archive):
    readings = daily_rows(3, date(2022, 1, 1), 365 + 365)
    tier.write(readings)
    run_archive(NOW)
    before_index = index()
    before = fmt.table_rows(restore_from_archive("2022-01-01", "2023-12-31"))
    storage = LocalStorage(local_archive)
    rows_2022 = [r for r in as_rows(readings) if r["time"].year == 2022]
    june = [r for r in rows_2022 if r["time"].month == 6]
    types = fmt.field_types({"humidity_mean": "float", "temperature_mean": "float",
                             "humidity_coverage_seconds": "float",
                             "temperature_coverage_seconds": "float"})  # fmt: skip
    june_data = fmt.to_parquet(fmt.rows_to_table(june, types), "gzip")
    meta = {"start_date": "2022-06-01", "end_date": "2022-06-30", "record_count": str(len(june))}
    # A second, valid file for days the 2022 file already holds: restore would see them twice.
    storage.put("archives/2022/data_2022-06-01.parquet", june_data, metadata=meta)
    # A file whose metadata claims a month it does not hold.
    storage.put("archives/2021/data_2021-06-01.parquet", june_data, metadata=meta | {
        "start_date": "2021-06-01", "end_date": "2021-06-30"})  # fmt: skip
    # Bytes with a matching SHA-256 that are not Parquet; a file that is not .parquet.
    storage.put("archives/2020/data_2020-01-01.parquet", b"not parquet")
    storage.put("archives/README.txt", b"not an archive file")
    ArchiveObject.objects.all().delete()

    report = rebuild_index()
    assert [o["key"] for o in report.indexed] == [
        "archives/2022/data_2022-01-01.parquet",
        "archives/2023/data_2023-01-01.parquet",
    ]
    why = {r["key"]: r["why"] for r in report.refused}
    assert "not a readable archive Parquet file" in why["archives/2020/data_2020-01-01.parquet"]
    assert (
        "holds days 2022-06-01..2022-06-30, outside its declared range 2021-06-01..2021-06-30"
        in (why["archives/2021/data_2021-06-01.parquet"])
    )
    assert (
        "overlaps archives/2022/data_2022-01-01.parquet"
        in (why["archives/2022/data_2022-06-01.parquet"])
    )
    assert len(why) == 3
    assert index() == before_index
    assert ArchiveObject.objects.get(key=before_index[0][0]).target == "local"
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2023-12-31")) == before


def test_the_command_reports_and_fails_on_refused_objects(archived, s3, capsys):
    ArchiveObject.objects.all().delete()
    call_command("rebuild_archive_index", "--dry-run")
    out = capsys.readouterr().out
    assert f"archive index (s3: {BUCKET}): would index 3 files, 0 already indexed, 0 refused" in out
    assert f"  {KEYS[0]}  2022-03-01..2022-12-31  {4 * 297:,} rows" in out
    assert not ArchiveObject.objects.exists()

    call_command("rebuild_archive_index")
    assert "indexed 3 files" in capsys.readouterr().out
    assert ArchiveObject.objects.count() == 3

    ArchiveObject.objects.filter(key=KEYS[2]).delete()
    s3.client().put_object(Bucket=BUCKET, Key=KEYS[2], Body=b"PAR1 damaged",
                           Metadata={"sha256": "0" * 64})  # fmt: skip
    # One file, in the singular: it said "1 files not indexed; ... cannot find them".
    one = "1 file not indexed; see above. Restore cannot find it until it is fixed and this"
    with pytest.raises(CommandError, match=one):
        call_command("rebuild_archive_index")
    captured = capsys.readouterr()
    assert "indexed 0 files, 2 already indexed, 1 refused" in captured.out
    assert f"refused {KEYS[2]}: its bytes have SHA-256" in captured.err


def test_an_archive_run_holding_the_lock_stops_the_rebuild(archived):
    ArchiveObject.objects.all().delete()
    redis = get_redis()
    redis.set(archive_lock_key(), "another run", ex=60)
    try:
        with pytest.raises(ArchiveError, match="rebuild the index when it has finished"):
            rebuild_index()
        with pytest.raises(CommandError, match="holds the archive lock"):
            call_command("rebuild_archive_index")
    finally:
        redis.delete(archive_lock_key())
    assert not ArchiveObject.objects.exists()


def test_a_stopped_rebuilds_lock_is_named_as_its_and_when_it_frees_itself(archived):
    """A rebuild stopped under its lock (Redis back with its data) left it held: the next one
    said "index rebuild ... holds the archive lock (an archive run or a restore)"."""
    ArchiveObject.objects.all().delete()
    stopped_run = RunLock("retention", "archive", owner="index rebuild", ttl_seconds=900)
    assert stopped_run.acquire()
    try:
        with pytest.raises(ArchiveError) as refused:
            rebuild_index()
    finally:
        stopped_run.release()
    said = str(refused.value)
    assert said.startswith("index rebuild since "), said
    assert said.endswith(
        " holds the archive lock; rebuild the index when it has finished (the lock of a run "
        "that was stopped frees itself within 15 minutes)."
    ), said
    assert not ArchiveObject.objects.exists()


@pytest.mark.parametrize("stop_after", [None, 1])
def test_redis_gone_stops_the_rebuild_saying_to_run_it_again(
    archived, settings, monkeypatch, capsys, stop_after
):
    """Redis (the store of the archive's lock; a redis-server of the test's own) out of reach
    before the rebuild takes the lock (None), or once it has indexed its first file (1): the
    command died with a traceback ending in RedisUnavailable, under redis' own "ConnectionError:
    Error 111 ...", and not a word of what it had indexed nor of what to do. Now it stops with
    the message, before the next file; what it indexed is verified and restore finds exactly
    that; run again with Redis back, it indexes the rest."""
    redis = OwnRedis()
    url = settings.REDIS_URL = redis.url
    before_index = index()
    ArchiveObject.objects.all().delete()  # the database is lost

    def bar(keys, **_):  # the command's progress bar: Redis stops after `stop_after` files
        for done, key in enumerate(keys):
            if done == stop_after:
                redis.stop()
            yield key

    monkeypatch.setattr("retention.management.commands.rebuild_archive_index.tqdm", bar)
    try:
        if stop_after is None:
            redis.stop()
        said = refusal("rebuild_archive_index")
        assert said.startswith(
            f"The archive's lock is unavailable: cannot reach Redis at REDIS_URL={url} ("
        ), said
        assert said.endswith(
            "Indexing stopped before the next file; the files indexed so far are verified and "
            "kept. Run this command again once Redis is back: it indexes the rest."
        ), said
        indexed = KEYS[: stop_after or 0]
        assert [row[0] for row in index()] == indexed
        assert all(o.verified for o in ArchiveObject.objects.all())
        # Restore finds the rows of the files indexed, all of them, and no other.
        assert fmt.table_rows(restore_from_archive("2022-01-01", "2024-12-31")) == [
            r for r in archived if r["time"].year in {int(k.split("/")[1]) for k in indexed}
        ]

        redis.start()  # Redis is back
        monkeypatch.undo()  # the command's own bar
        capsys.readouterr()
        call_command("rebuild_archive_index")
    finally:
        redis.stop()
    assert (
        f"indexed {3 - len(indexed)} files, {len(indexed)} already indexed, 0 refused"
        in capsys.readouterr().out
    )
    assert index() == before_index
    assert fmt.table_rows(restore_from_archive("2022-01-01", "2024-12-31")) == archived


def large_year(entities: int) -> pa.Table:
    """A year of power rows of `entities` entities as the archive writes them, with values at
    full precision (they do not compress): about 58 bytes per row in the file."""
    rng = np.random.default_rng(3)
    rows = entities * 365
    days = np.arange(np.datetime64("2021-01-01"), np.datetime64("2022-01-01"))
    columns = {
        "time": pa.array(np.tile(days, entities).astype("datetime64[us]"), fmt.TIME_TYPE),
        "entity_id": pa.array(np.repeat([f"sensor.power_{n:03d}" for n in range(entities)], 365)),
        "kind": pa.array(["power"] * rows),
    }
    for name, kind in fmt.KNOWN_FIELDS.items():
        if name in ("state_changes", "on_seconds", "last_state"):  # not a power sensor's
            columns[name] = pa.nulls(rows, kind)
        elif pa.types.is_integer(kind):
            columns[name] = pa.array(rng.integers(0, 1440, rows), kind)
        else:
            columns[name] = pa.array(rng.uniform(0, 3000, rows), kind)
    return pa.table(columns)


def copy_in(s3, key: str, data: bytes, metadata: dict[str, str]) -> dict:
    """Upload as `aws s3 cp --checksum-algorithm SHA256 --metadata ...` does (s3transfer with
    its defaults: parts of 8 MB above 8 MB); HEAD's answer."""
    client = s3.client()
    client.upload_fileobj(
        io.BytesIO(data),
        BUCKET,
        key,
        ExtraArgs={"Metadata": metadata, "ChecksumAlgorithm": "SHA256"},
    )
    return client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")


def test_an_object_copied_in_with_a_multipart_upload_is_checked_by_its_bytes(tier, s3):
    """A year restored from a backup with `aws s3 cp` above 8 MB arrives in parts: S3's
    ChecksumSHA256 is then the SHA-256 of the parts' SHA-256s, which no SHA-256 of the bytes
    matches. The rebuild (and the run's read-back check) verify such a file by its bytes against
    the SHA-256 in its metadata and by its rows, instead of calling it damaged; a copy damaged
    on the way is still refused."""
    table = large_year(420)
    data = fmt.to_parquet(table, "zstd")
    meta = {"sha256": sha256_hex(data), "start_date": "2021-01-01", "end_date": "2021-12-31",
            "record_count": str(table.num_rows), "compression": "zstd"}  # fmt: skip
    key = "archives/2021/data_2021-01-01.parquet"
    head = copy_in(s3, key, data, meta)
    assert len(data) > 8 * 1024 * 1024 and head["ETag"].endswith('-2"')  # two parts
    whole = base64.b64encode(bytes.fromhex(sha256_hex(data))).decode()
    assert head["ChecksumSHA256"].split("-")[0] != whole  # of the parts, not of the bytes
    middle = len(data) // 2
    damaged = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    copy_in(s3, "archives/2020/data_2020-01-01.parquet", damaged, meta)

    report = rebuild_index()
    assert [(o["key"], o["record_count"], o["sha256"]) for o in report.indexed] == [
        (key, 420 * 365, sha256_hex(data))
    ]
    [(refused, why)] = [(r["key"], r["why"]) for r in report.refused]
    assert refused == "archives/2020/data_2020-01-01.parquet"
    assert f"its bytes have SHA-256 {sha256_hex(damaged)}, not the {meta['sha256']}" in why
    obj = ArchiveObject.objects.get()
    assert (obj.key, obj.start_date, obj.end_date) == (key, date(2021, 1, 1), date(2021, 12, 31))
    assert (obj.checksum, obj.file_size, obj.record_count) == (sha256_hex(data), len(data), 153300)
    assert restore_from_archive("2021-01-01", "2021-12-31").equals(table)
    # The run's read-back check of an object it finds (adopts) passes too.
    info = verify_object(s3.storage(), key, sha256_hex(data), len(data), 420 * 365)
    assert (info.parts, info.checksum_sha256) == (2, "")
