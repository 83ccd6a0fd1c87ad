"""Fixtures and data for the archive tests: the daily tier in InfluxDB, moto's S3 server on
loopback, a local archive directory.

The fixture functions (`tier_fixture`, `s3_fixture`, `local_archive_fixture`) are registered
for every retention test by tests/retention/conftest.py: the fixtures `tier`, `s3`,
`local_archive`.

- `tier` -> `Tier`: a fresh InfluxDB database with the retention policies `enrich_hourly` and
  `enrich_daily` (settings.TIER_DATABASE points at it) plus a fresh INFLUXDB_DATABASE for the
  `archive_metadata` points and a fresh RESTORE_INFLUXDB_DATABASE; all dropped afterwards.
- `s3` -> `MotoS3`: moto's S3 server on 127.0.0.1 (a random port; one per test process,
  emptied before each test) with a bucket; the S3_* settings point at it, so
  `retention.archive.target.get_storage()` returns an `S3Storage` for it.
- `local_archive` -> Path: the local directory target (no bucket set).

`read_back(database)`: the rows a restore wrote there.
`restore_worker_env(settings, tier, endpoint)`: the environment of a Celery worker
(tests/support/worker.py) restoring from that S3 endpoint into the `tier` fixture's databases.

`archive_killed_at(tier, s3, fault, as_of)`: an archive command run in a child process that
kills itself at a crash point.
`take_over(other)`: a command's archive lock expired and `other` took it (call it mid-run);
`stopped_by_lost_lock(other, *argv)`: the paragraph that command stopped with, `other`'s lock
left to it.

`daily_rows(entities, first_day, days)` builds realistic daily aggregate rows (power, energy,
binary, weather) through `retention.tiers.aggregate.Aggregate.to_fields`, the daily tier's schema.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import requests
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from enrich.influx import (
    RetentionTier,
    TimeSeries,
    configured_credentials,
    connect,
    get_timeseries,
)
from enrich.readings import Reading
from enrich.redis.client import get_redis
from enrich.redis.lock import RunLock
from retention.archive.lock import archive_lock_key
from retention.archive.reader import MEASUREMENT, read_daily_rows
from retention.archive.s3 import S3Storage
from retention.schema import DAILY_RP
from retention.tiers.aggregate import Aggregate

KINDS = ("power", "energy", "binary", "weather")
BUCKET = "enrich-archive-test"


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _aggregate(kind: str, day: date, rng: random.Random) -> Aggregate:
    start = midnight(day)
    base = Aggregate(
        start,
        start + timedelta(days=1),
        kind,
        sample_count=rng.randint(20, 1440),
        coverage_seconds=float(rng.choice([86400.0, rng.uniform(40000, 86400)])),
        gap_count=rng.randint(0, 3),
    )
    if kind in ("power", "energy"):
        low = round(rng.uniform(0, 50), 3)
        high = round(low + rng.uniform(10, 3000), 3)
        base.avg_value = round(rng.uniform(low, high), 6)
        base.min_value, base.max_value = low, high
        base.last_value = round(rng.uniform(low, high), 3)
        base.total_energy = round(rng.uniform(0.1, 30), 6)
    elif kind == "binary":
        base.state_changes = rng.randint(0, 80)
        base.on_seconds = float(rng.randint(0, 86400))
        base.last_state = rng.choice(["on", "off"])
    else:
        base.state_changes = rng.randint(0, 10)
        base.last_state = rng.choice(["sunny", "cloudy", "rainy"])
        for name in ("temperature", "humidity"):
            base.attribute_means[name] = round(rng.uniform(-5, 95), 4)
            base.attribute_coverage[name] = 86400.0
    return base


def daily_rows(entities: int, first_day: date, days: int, seed: int = 7) -> list[Reading]:
    """`entities` entities (kinds in turn) x `days` days of daily aggregate readings."""
    rng = random.Random(seed)
    readings = []
    for n in range(entities):
        kind = KINDS[n % len(KINDS)]
        domain = (
            "binary_sensor" if kind == "binary" else "weather" if kind == "weather" else "sensor"
        )
        entity_id = f"{domain}.{kind}_{n:03d}"
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            fields = _aggregate(kind, day, rng).to_fields()
            readings.append(
                Reading(MEASUREMENT, fields, midnight(day), {"entity_id": entity_id, "kind": kind})
            )
    return readings


def as_rows(readings: list[Reading]) -> list[dict]:
    """Readings as archive rows (what the archive must hold, value for value)."""
    rows = [{"time": r.time, **r.tags, **r.fields} for r in readings]
    return sorted(rows, key=lambda r: (r["entity_id"], r["time"]))


def read_back(database: str) -> list[dict]:
    """The `entity_aggregates` rows a restore wrote into `database`, as `as_rows` gives them
    (none when no restore created the database)."""
    ts = get_timeseries()
    if database not in ts.databases():
        return []
    query = f'SELECT * FROM "{MEASUREMENT}" GROUP BY "entity_id", "kind"'
    rows = []
    for row in ts.query(database, query):
        values = {k: v for k, v in row.values.items() if v is not None}
        rows.append({"time": row.time, **row.tags, **values})
    return sorted(rows, key=lambda r: (r["entity_id"], r["time"]))


@dataclass
class Tier:
    database: str
    enrich_database: str
    restore_database: str
    url: str = ""  # the test InfluxDB's own address

    def write(self, readings: list[Reading]) -> int:
        """Write the rows and make sure InfluxDB shows every one of them.

        Debian's InfluxDB 1.6 has been seen acknowledging a write (HTTP 204) and then showing
        none of the points of one shard (a week of every entity), with nothing in its log.
        A test built on that would check the archive against rows InfluxDB never showed it,
        so the rows it does not show are written again (up to three times); if they still do
        not show, the test stops here saying so instead of failing later on a diff.
        """
        # InfluxDB itself, even while a test points the app elsewhere (with the credentials
        # of an InfluxDB with auth on: docs/development.md)
        ts = connect(self.url, **configured_credentials())
        written = ts.write(self.database, readings, retention_policy=DAILY_RP)
        for _ in range(3):
            missing = self._not_shown(readings, ts)
            if not missing:
                return written
            ts.write(self.database, missing, retention_policy=DAILY_RP)
        pytest.fail(
            f"InfluxDB acknowledged {len(readings)} points but does not show "
            f"{len(self._not_shown(readings, ts))} of them after writing them three times; "
            "an InfluxDB defect (restart influxd), not the archive's."
        )

    def _not_shown(self, readings: list[Reading], ts: TimeSeries) -> list[Reading]:
        start = min(r.time for r in readings).date()
        end = max(r.time for r in readings).date() + timedelta(days=1)
        shown = {(row["entity_id"], row["time"]) for row in read_daily_rows(start, end, ts)}
        return [r for r in readings if (r.tags["entity_id"], r.time) not in shown]

    def rows(self, start: date = date(1971, 1, 1), end: date = date(2100, 1, 1)) -> list[dict]:
        return read_daily_rows(start, end)

    def metadata_points(self) -> list:
        ts = get_timeseries()
        return list(
            ts.query(self.enrich_database, 'SELECT * FROM "archive_metadata" GROUP BY "s3_key"')
        )


@pytest.fixture(name="tier")
def tier_fixture(settings) -> Iterator[Tier]:
    ts = get_timeseries()
    suffix = uuid.uuid4().hex[:10]
    names = Tier(
        f"test_tier_{suffix}",
        f"test_enrich_{suffix}",
        f"test_restore_{suffix}",
        settings.INFLUXDB_URL,
    )
    ts.create_database(
        names.database,
        # Year-long shard groups: a few shards per database instead of ~150 weekly ones, so
        # fewer chances of the InfluxDB 1.6 defect `Tier.write` guards against.
        tiers=[
            RetentionTier("enrich_hourly", "INF", shard_duration="52w"),
            RetentionTier(DAILY_RP, "INF", shard_duration="52w"),
        ],
    )
    ts.create_database(names.enrich_database)
    settings.TIER_DATABASE = settings.HA_INFLUXDB_DATABASE = names.database
    settings.INFLUXDB_DATABASE = names.enrich_database
    settings.RESTORE_INFLUXDB_DATABASE = names.restore_database
    settings.RETENTION_DAILY_DAYS = 365
    settings.ARCHIVE_COMPRESSION = "gzip"
    settings.ARCHIVE_PERIOD = "month"
    try:
        yield names
    finally:
        for name in (names.database, names.enrich_database, names.restore_database):
            ts.drop_database(name)


@dataclass
class MotoS3:
    server: ThreadedMotoServer
    endpoint: str
    bucket: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def storage(self) -> S3Storage:
        return S3Storage(
            self.bucket,
            endpoint_url=self.endpoint,
            access_key="testing",
            secret_key="testing",
            timeout=5,
        )


class Recording:
    """A real store that records each call (method, key) and can corrupt what it uploads."""

    def __init__(self, inner, corrupt_puts: bool = False) -> None:
        self.inner = inner
        self.target, self.location = inner.target, inner.location
        self.calls: list[tuple[str, str]] = []
        self.corrupt_puts = corrupt_puts

    def _log(self, method: str, key: str) -> None:
        self.calls.append((method, key))

    def keys(self, method: str) -> list[str]:
        return [key for m, key in self.calls if m == method]

    def put(self, key, data, storage_class="", sse="", metadata=None):
        self._log("put", key)
        if self.corrupt_puts:  # one flipped byte in the middle, as a bad disk or proxy would
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        return self.inner.put(key, data, storage_class, sse, metadata)

    def head(self, key):
        self._log("head", key)
        return self.inner.head(key)

    def get(self, key):
        self._log("get", key)
        return self.inner.get(key)

    def delete(self, key):
        self._log("delete", key)
        return self.inner.delete(key)

    def list(self, prefix=""):
        return self.inner.list(prefix)

    def absent(self):
        return self.inner.absent()

    def check_lifecycle(self, prefix="archives/", years=5):
        return self.inner.check_lifecycle(prefix, years)


def _endpoint(server: ThreadedMotoServer) -> str:
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def _emptied(server: ThreadedMotoServer | None) -> ThreadedMotoServer | None:
    """`server` with an empty store (moto keeps its state per process), or None when it no
    longer answers (a test stopped it)."""
    if server is None:
        return None
    try:
        requests.post(f"{_endpoint(server)}/moto-api/reset", timeout=5).raise_for_status()
    except requests.ConnectionError:
        return None
    return server


@pytest.fixture(name="moto_server_slot", scope="session")
def moto_server_slot_fixture() -> Iterator[list[ThreadedMotoServer]]:
    """The moto server of this test process, started by the first test that needs S3 and
    shared by the next ones (starting and stopping one costs about half a second a test)."""
    slot: list[ThreadedMotoServer] = []
    yield slot
    for server in slot:
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - a test stopped it already
            pass


@pytest.fixture(name="s3")
def s3_fixture(settings, tmp_path, moto_server_slot) -> Iterator[MotoS3]:
    server = _emptied(moto_server_slot[0] if moto_server_slot else None)
    if server is None:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        _emptied(server)
        moto_server_slot[:] = [server]
    moto = MotoS3(server, _endpoint(server), BUCKET)
    moto.client().create_bucket(Bucket=BUCKET)
    settings.S3_ARCHIVE_BUCKET = BUCKET
    settings.S3_ENDPOINT_URL = moto.endpoint
    settings.S3_REGION = "us-east-1"
    settings.AWS_ACCESS_KEY = "testing"
    settings.AWS_SECRET_KEY = "testing"
    settings.S3_STORAGE_CLASS = "GLACIER_IR"
    settings.S3_SSE = "AES256"
    settings.ARCHIVE_LOCAL_DIR = tmp_path / "unused-local-archive"
    try:
        yield moto
    finally:
        moto_server_slot[:] = [moto.server]  # a test may have stopped or replaced it


def archive_killed_at(tier: Tier, s3: MotoS3, fault: str, as_of: date):
    """`manage.py archive_to_s3 --as-of as_of` in a child process on the `tier` and `s3`
    fixtures, killing itself at the crash point `fault` (ENRICH_FAULT_INJECT, retention.faults);
    its CompletedProcess."""
    from tests.support.worker import manage_in_child

    return manage_in_child(
        "archive_to_s3",
        "--as-of",
        as_of.isoformat(),
        timeout=120,
        TIER_DATABASE=tier.database,
        INFLUXDB_DATABASE=tier.enrich_database,
        S3_ARCHIVE_BUCKET=BUCKET,
        S3_ENDPOINT_URL=s3.endpoint,
        AWS_ACCESS_KEY="testing",
        AWS_SECRET_KEY="testing",
        ENRICH_FAULT_INJECT=fault,
    )


def restore_worker_env(settings, tier: Tier, s3_endpoint: str, **more: str) -> dict[str, str]:
    """The environment of a Celery worker that restores from the bucket at `s3_endpoint` (moto's,
    or a proxy to it) into the `tier` fixture's databases; a retry comes after 1 s."""
    return {
        "TIER_DATABASE": tier.database,
        "HA_INFLUXDB_DATABASE": tier.database,
        "INFLUXDB_DATABASE": tier.enrich_database,
        "RESTORE_INFLUXDB_DATABASE": tier.restore_database,
        "S3_ARCHIVE_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY": "testing",
        "AWS_SECRET_KEY": "testing",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": "1",
        **more,
    }


def local_worker_env(
    settings, tier: Tier, local_archive: Path, retry_seconds: str
) -> dict[str, str]:
    """The environment of a Celery worker that archives the `tier` fixture's daily rows into
    the `local_archive` directory; a retry comes after `retry_seconds`."""
    return {
        "TIER_DATABASE": tier.database,
        "HA_INFLUXDB_DATABASE": tier.database,
        "INFLUXDB_DATABASE": tier.enrich_database,
        "S3_ARCHIVE_BUCKET": "",
        "ARCHIVE_LOCAL_DIR": str(local_archive),
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "RETENTION_RETRY_SECONDS": retry_seconds,
    }


@pytest.fixture(name="local_archive")
def local_archive_fixture(settings, tmp_path) -> Path:
    settings.S3_ARCHIVE_BUCKET = ""
    settings.ARCHIVE_LOCAL_DIR = tmp_path / "archive"
    return settings.ARCHIVE_LOCAL_DIR


def take_over(other: RunLock) -> None:
    """The running command's archive lock expired, and `other` (a RunLock) took it."""
    get_redis().delete(archive_lock_key())
    assert other.acquire()


def stopped_by_lost_lock(other: RunLock, *argv: str) -> str:
    """What `manage.py *argv`, whose archive lock `other` took, stopped with; `other`'s lock is
    left to it (then released)."""
    try:
        with pytest.raises(CommandError) as failed:
            call_command(*argv)
        assert get_redis().get(archive_lock_key()) == other.token  # left to its holder
    finally:
        other.release()
    return str(failed.value)
