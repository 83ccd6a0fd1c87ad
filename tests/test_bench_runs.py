"""Two bench runs at once, against the real InfluxDB: each run's InfluxDB databases are its own
(`bench._env.run_database`), so neither drops nor counts the other's points, and each removes
its own when it ends. Before, every run of a bench used the same fixed names: a second run
dropped the first's database as it started and again as it ended."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading

pytestmark = pytest.mark.influxdb

ROOT = Path(__file__).resolve().parent.parent
NAMES = {  # module -> its InfluxDB database names
    "bench.api": ("HA_DATABASE", "ENRICH_DATABASE"),
    "bench.archive": ("TIER_DATABASE", "ENRICH_DATABASE", "RESTORE_DATABASE"),
    "bench.collectors": ("INFLUXDB_DATABASE",),
    "bench.downsample": ("INFLUX_DATABASE",),
    "bench.status_page": ("HA_DATABASE", "ENRICH_DATABASE"),
    "bench.views": ("HA_DATABASE", "ENRICH_DATABASE"),
}
PRINT_NAMES = f"""
import importlib, json
names = {{}}
for module, attrs in {NAMES!r}.items():
    loaded = importlib.import_module(module)
    names.update({{f"{{module}}.{{attr}}": getattr(loaded, attr) for attr in attrs}})
print(json.dumps(names))
"""


def run_names(**env: str) -> dict[str, str]:
    """The database names of a bench run started apart (its own process, without the
    BENCH_RUN of this one), with `env` on top (a bench's worker inherits its BENCH_RUN)."""
    environment = {k: v for k, v in os.environ.items() if k != "BENCH_RUN"}
    done = subprocess.run(
        [sys.executable, "-c", PRINT_NAMES],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_bench_run_has_influxdb_databases_of_its_own():
    first, second = run_names(), run_names()
    assert first.keys() == second.keys() and len(first) == 11
    for name, database in first.items():
        assert database != second[name], name
        base = database.rsplit("_", 2)[0]
        assert second[name].startswith(f"{base}_"), (name, database, second[name])
    assert len(set(first.values())) == len(first)  # no two benches share one either
    # A bench's worker or server, started with its environment, names the same databases.
    suffix = first["bench.views.HA_DATABASE"].removeprefix("bench_views_ha_")
    assert run_names(BENCH_RUN=suffix) == first


def test_a_collectors_run_leaves_another_run_s_database_alone_and_removes_its_own():
    from bench.collectors import INFLUXDB_DATABASE, bench_influxdb

    ts = get_timeseries()
    other = run_names()["bench.collectors.INFLUXDB_DATABASE"]  # another run, midway
    point = Reading("carbon_intensity", {"carbon_intensity_gco2_kwh": 212.0},
                    datetime(2026, 1, 5, 12, tzinfo=UTC), {"region": "GB-13"})  # fmt: skip
    ts.create_database(other)
    try:
        ts.write(other, [point])
        with bench_influxdb():  # this run, from its start to its end
            assert INFLUXDB_DATABASE != other
            ts.write(INFLUXDB_DATABASE, [point])
            assert {INFLUXDB_DATABASE, other} <= set(ts.databases())
        assert INFLUXDB_DATABASE not in ts.databases()  # removed as the run ended
        # Before, both runs used "bench_collectors": this run dropped it as it started and ended.
        assert other in ts.databases()
        assert ts.measurements(other) == ["carbon_intensity"]
    finally:
        ts.drop_database(other)


def test_the_storage_bench_s_private_influxd_keeps_another_run_s_data_directory():
    if shutil.which("influxd") is None:
        pytest.skip("influxd is not installed (make services installs it)")
    from bench._tiers import PrivateInflux

    make = "from bench._tiers import PrivateInflux; print(PrivateInflux('storage').data)"
    environment = {k: v for k, v in os.environ.items() if k != "BENCH_RUN"}
    done = subprocess.run([sys.executable, "-c", make], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    other = Path(done.stdout.strip())
    ours = None
    try:
        (other / "data" / "shard").mkdir(parents=True)  # the other run's influxd wrote there
        ours = PrivateInflux("storage").data
        assert ours != other
        assert (other / "data" / "shard").is_dir() and (ours / "influxdb.conf").is_file()
    finally:
        shutil.rmtree(other, ignore_errors=True)
        if ours is not None:
            shutil.rmtree(ours, ignore_errors=True)
