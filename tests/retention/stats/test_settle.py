"""The settled storage figure (retention.stats.settle) against a real InfluxDB that compacts in
seconds: bench._tiers.PrivateInflux, Debian's influxd with the cache snapshot after 1 s and the
full compaction of a cold shard after 2 s (the defaults are 10 minutes and 4 hours)."""

import shutil
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench._tiers import PrivateInflux, settled_sizes
from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention.models import Entity, RetentionRun
from retention.stats import settle
from retention.stats.history import run_summary
from retention.tiers import runner as tiers
from tests.retention.conftest import T0
from tests.support.private_influx import the_influxdb

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAYS = 6


@pytest.fixture
def compacting_influx(settings):
    server = PrivateInflux(f"test-settle-{uuid.uuid4().hex[:8]}")
    settings.REDIS_KEY_PREFIX = f"test-settle-{uuid.uuid4().hex[:8]}"
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = "home"
    try:
        with the_influxdb(server, settings):
            yield server
    finally:
        shutil.rmtree(server.data, ignore_errors=True)


@pytest.mark.usefixtures("compacting_influx")
def test_a_run_records_its_settled_storage_once_influxdb_compacted():
    ts = get_timeseries()
    ts.create_database("home")
    readings = (
        Reading(
            "W",
            {"value": float(n % 97)},
            T0 + timedelta(minutes=n),
            {"domain": "sensor", "entity_id": f"plug_{p}_power"},
        )  # fmt: skip
        for p in range(4)
        for n in range(DAYS * 1440)
    )
    ts.write("home", readings)
    for p in range(4):
        Entity.objects.create(entity_id=f"sensor.plug_{p}_power", kind="power", unit="W",
                              layout="official", measurement="W")  # fmt: skip
    settled_sizes({"home"}, stable_polls=3, interval=1.0, timeout=120)

    run = tiers.downsample_hourly(T0.date(), T0.date() + timedelta(days=DAYS))
    assert run.status == "ok", run.errors
    # Every shard with [bytes at start, bytes at end, touched]: the run touched them all here.
    assert run.details["shards"] and all(hit for _, _, hit in run.details["shards"].values())
    immediate = run.storage_after_bytes
    # Deleted points are tombstones until InfluxDB compacts: right after the run, no gain.
    assert run.storage_freed_mb is not None and run.storage_settled_bytes is None

    # Too early: nothing is settled yet.
    assert settle.settle_runs(now=run.finished + timedelta(hours=1)) == []
    compacted = settled_sizes({"home"}, stable_polls=3, interval=1.0, timeout=180)
    [settled] = settle.settle_runs(now=run.finished + timedelta(hours=6))
    assert settled.pk == run.pk
    run.refresh_from_db()
    # Nothing else wrote meanwhile: the settled figure is the database's compacted size.
    assert run.storage_settled_bytes == sum(compacted.values())
    assert run.storage_settled_bytes < immediate
    assert run.storage_settled_freed_mb == pytest.approx(
        (run.storage_before_bytes - run.storage_settled_bytes) / 1e6, abs=1e-3
    )
    assert run.storage_settled_freed_mb > run.storage_freed_mb
    assert run.storage_settled_freed_mb > 0  # 4 x 6 days of minute points became hourly rows
    assert run.storage_settled_at == run.finished + timedelta(hours=6)

    shown = run_summary(run)
    assert shown["storage_freed_mb"] == run.storage_settled_freed_mb
    assert shown["storage_freed_immediate_mb"] == run.storage_freed_mb
    assert shown["storage_settled"] is True
    # Settled once: a later call leaves it alone.
    assert settle.settle_runs(now=datetime.now(UTC) + timedelta(days=1)) == []


@pytest.mark.usefixtures("compacting_influx")
def test_a_later_run_takes_the_shards_it_changed_too():
    ts = get_timeseries()
    ts.create_database("home")
    ts.write("home", (Reading("W", {"value": float(n % 13)}, T0 + timedelta(minutes=n),
                              {"domain": "sensor", "entity_id": "heater_power"})
                      for n in range(3 * 1440)))  # fmt: skip
    Entity.objects.create(entity_id="sensor.heater_power", kind="power", unit="W",
                          layout="official", measurement="W")  # fmt: skip
    first = tiers.downsample_hourly(T0.date(), T0.date() + timedelta(days=2))
    second = tiers.downsample_hourly(T0.date() + timedelta(days=2), T0.date() + timedelta(days=3))
    assert first.status == second.status == "ok"

    def touched(run):
        return {shard for shard, (_, _, hit) in run.details["shards"].items() if hit}

    shared = touched(first) & touched(second)
    assert shared  # both wrote hourly rows into the hourly tier's one shard
    settled_sizes({"home"}, stable_polls=3, interval=1.0, timeout=180)
    later = datetime.now(UTC) + timedelta(hours=6)
    assert {r.pk for r in settle.settle_runs(now=later)} == {first.pk, second.pk}
    first.refresh_from_db()
    second.refresh_from_db()
    now = {shard: info.disk_bytes for shard, info in ts.shard_sizes().items()}
    # The first run's settling counts the shared shard as it was at its end: what happened to
    # it afterwards is the second run's.
    expected = sum(
        now.get(shard, 0) if hit and shard not in shared else end
        for shard, (_, end, hit) in first.details["shards"].items()
    )
    assert first.storage_settled_bytes == expected
    assert second.storage_settled_bytes == sum(
        now.get(shard, 0) if hit else end
        for shard, (_, end, hit) in second.details["shards"].items()
    )
    assert RetentionRun.objects.filter(storage_settled_bytes__isnull=False).count() == 2
