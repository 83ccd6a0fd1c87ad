"""Helpers of the tier benchmarks (bench.downsample, bench.storage): environment, a dense home,
a private InfluxDB, figures. Not a benchmark itself (the name starts with `_`).

The dense home is written in the official Home Assistant layout, one point a minute for the
measurements (power W, cumulative energy kWh with one meter reset, temperature °C), motion
sensors on every state change (about 1 in 5 minutes), and one weather entity every 10
minutes; everything drawn from a seeded generator, so the same arguments give the same points.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._env import BENCH_DIR, ROOT, base_environment, own_database, run_suffix

RESULTS_DIR = ROOT / "bench" / "results"
MINUTE = timedelta(minutes=1)


# --- environment: read before Django starts -------------------------------------------------
def prepare_environment(name: str, influx_database: str) -> tuple[str, str | None]:
    """The bench's own relational database, InfluxDB databases and Redis key prefix, set in
    the environment (like bench.collectors). Returns (DATABASE_URL, PostgreSQL admin URL)."""
    base_environment(name, HA_INFLUXDB_DATABASE=influx_database, TIER_DATABASE=influx_database)
    return own_database(name)


# --- the dense home --------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    entity_id: str
    kind: str
    unit: str
    measurement: str


def plan(entities: int) -> list[Spec]:
    """Half power sensors, a fifth energy meters, then motion, temperature, one weather."""
    specs = [Spec("weather.home", "weather", "", "weather.home")]
    cycle = ["power", "energy", "power", "binary", "power", "numeric", "energy", "power",
             "binary", "power"]  # fmt: skip
    for n in range(entities - 1):
        kind = cycle[n % len(cycle)]
        if kind == "power":
            specs.append(Spec(f"sensor.device_{n}_power", "power", "W", "W"))
        elif kind == "energy":
            specs.append(Spec(f"sensor.device_{n}_energy", "energy", "kWh", "kWh"))
        elif kind == "numeric":
            specs.append(Spec(f"sensor.room_{n}_temperature", "numeric", "°C", "°C"))
        else:
            specs.append(
                Spec(
                    f"binary_sensor.room_{n}_motion", "binary", "", f"binary_sensor.room_{n}_motion"
                )
            )
    return specs


def dense_home(specs: list[Spec], start: datetime, days: int, seed: int = 7) -> Iterator:
    """Readings (official layout) of the home from `start` for `days` days, day by day."""
    from enrich.readings import Reading

    rng = random.Random(seed)
    power = {s.entity_id: rng.uniform(20, 400) for s in specs}
    meter = {s.entity_id: rng.uniform(0, 500) for s in specs}
    motion = {s.entity_id: False for s in specs}
    reset_at = start + timedelta(days=days // 2, hours=3)
    for day in range(days):
        day_start = start + timedelta(days=day)
        for spec in specs:
            domain, object_id = spec.entity_id.split(".", 1)
            tags = {"domain": domain, "entity_id": object_id}
            for minute in range(1440):
                moment = day_start + minute * MINUTE
                if spec.kind == "power":
                    power[spec.entity_id] = max(0.0, power[spec.entity_id] + rng.gauss(0, 15))
                    fields = {"value": round(power[spec.entity_id], 1)}
                elif spec.kind == "energy":
                    meter[spec.entity_id] += rng.uniform(0, 0.02)
                    if moment == reset_at:
                        meter[spec.entity_id] = 0.0  # a smart plug's counter after a power cut
                    fields = {"value": round(meter[spec.entity_id], 4)}
                elif spec.kind == "numeric":
                    daily = 2 * math.sin(2 * math.pi * minute / 1440)
                    fields = {"value": round(20 + daily + rng.gauss(0, 0.1), 2)}
                elif spec.kind == "binary":
                    if rng.random() >= 0.2:
                        continue  # HA writes a state when it changes
                    motion[spec.entity_id] = not motion[spec.entity_id]
                    on = motion[spec.entity_id]
                    fields = {"state": "on" if on else "off", "value": 1.0 if on else 0.0}
                else:
                    if minute % 10:
                        continue
                    fields = {
                        "state": "rainy" if (day + minute // 240) % 5 == 0 else "cloudy",
                        "temperature": round(10 + 5 * math.sin(2 * math.pi * minute / 1440), 1),
                        "humidity": float(60 + (minute // 10) % 30),
                        "pressure": 1013.0 + day % 7,
                    }
                yield Reading(spec.measurement, fields, moment, tags)


def register(specs: list[Spec]) -> None:
    from retention.models import Entity

    Entity.objects.bulk_create(
        Entity(
            entity_id=s.entity_id,
            kind=s.kind,
            unit=s.unit,
            layout="official",
            measurement=s.measurement,
        )
        for s in specs
    )


# --- a private InfluxDB with compactions that settle in seconds ----------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CONFIG = """reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  # Settle in seconds what the defaults settle in 10 minutes (cache -> TSM) and 4 hours (full
  # compaction of a cold shard), so the sizes measured are those after compaction.
  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "2s"
[http]
  bind-address = "127.0.0.1:{http}"
  auth-enabled = {auth}{https}
  log-enabled = false
  max-row-limit = 0
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "{log_level}"
"""


class PrivateInflux:
    """Debian's influxd on a free loopback port with its own data directory (`data`, else
    one under bench/ named after `name` and this run); `https`: its PEM certificate, key and
    the CA that signed them, to answer over TLS (https://localhost:<port>)."""

    def __init__(
        self,
        name: str,
        auth: bool = False,
        data: Path | None = None,
        https: tuple[Path, Path, Path] | None = None,
    ) -> None:
        binary = shutil.which("influxd")
        if binary is None:
            raise SystemExit("influxd is not installed: run `make services` (it installs it).")
        self.binary = binary
        self.data = data or BENCH_DIR / f"influxd-{name}-{run_suffix()}"  # this run's own
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        http, rpc = _free_port(), _free_port()
        level = os.environ.get("BENCH_INFLUXD_LOG", "warn")
        tls = ""
        if https:
            tls = f'\n  https-enabled = true\n  https-certificate = "{https[0]}"'
            tls += f'\n  https-private-key = "{https[1]}"'
        config = CONFIG.format(
            dir=self.data, http=http, rpc=rpc, log_level=level, auth=str(auth).lower(), https=tls
        )
        (self.data / "influxdb.conf").write_text(config)
        self.url = f"https://localhost:{http}" if https else f"http://127.0.0.1:{http}"
        self.verify: str | bool = str(https[2]) if https else True
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import requests

        log = open(self.data / "influxd.log", "a")
        self.proc = subprocess.Popen(
            [self.binary, "-config", str(self.data / "influxdb.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(self.url + "/ping", timeout=1, verify=self.verify)
                if answer.status_code == 204:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The bench's influxd did not start; see {self.data}/influxd.log")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again (only this private instance): InfluxDB 1.x then rebuilds its
        in-memory series index from the files on disk."""
        self.stop()
        self.start()
        from enrich.influx import reset_timeseries

        reset_timeseries()


@contextmanager
def private_influxd(
    name: str, auth: bool = False, https: tuple[Path, Path, Path] | None = None
) -> Iterator[PrivateInflux]:
    """A private influxd (see CONFIG; `auth`: it asks for credentials; `https`: as for
    PrivateInflux), removed at the end. The user's InfluxDB is never restarted or
    reconfigured."""
    server = PrivateInflux(name, auth, https=https)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if not os.environ.get("BENCH_KEEP_INFLUXD"):
            shutil.rmtree(server.data, ignore_errors=True)


def settled_sizes(databases: set[str], stable_polls: int = 5, interval: float = 2.0,
                  timeout: float = 900) -> dict[tuple[str, str], int]:  # fmt: skip
    """Poll InfluxDB's own size accounting until the databases' sizes stop changing
    (`stable_polls` equal reads in a row) and no cache data is left to snapshot."""
    from enrich.influx import get_timeseries

    ts = get_timeseries()
    deadline = time.monotonic() + timeout
    last: dict | None = None
    same = 0
    while time.monotonic() < deadline:
        sizes = {k: v for k, v in ts.sizes().items() if k[0] in databases}
        cached = 0
        for row in ts.query(None, "SHOW STATS FOR 'tsm1_cache'"):
            if row.tags.get("database") in databases:
                cached += int(row.values.get("memBytes") or 0)
        same = same + 1 if (sizes == last and cached == 0) else 0
        if same >= stable_polls:
            return sizes
        last = sizes
        time.sleep(interval)
    raise SystemExit(f"InfluxDB's sizes did not settle within {timeout:.0f} s")


# --- InfluxDB queries --------------------------------------------------------------------------
class Queries:
    """How many queries (POST /query) were sent to InfluxDB, by every thread (`counted`)."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counted_queries() -> Iterator[Queries]:
    """Count the queries the gateway sends meanwhile: each still goes to the real InfluxDB."""
    import threading

    from enrich.influx.gateway import TimeSeries

    queries, lock, request = Queries(), threading.Lock(), TimeSeries._request

    def counted(ts, method, path, doing, **kwargs):
        if path == "/query":
            with lock:
                queries.count += 1
        return request(ts, method, path, doing, **kwargs)

    TimeSeries._request = counted  # type: ignore[method-assign]
    try:
        yield queries
    finally:
        TimeSeries._request = request  # type: ignore[method-assign]


# --- output -------------------------------------------------------------------------------------
def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": value, "unit": unit, "target": target, "better": better}


def report(name: str, params: dict, figures: dict, checks: dict[str, bool]) -> int:
    import json

    result = {"name": name, "params": params, "figures": figures}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    print(f"{'figure':<22}{'value':>16}  {'unit':<16}{'target':>12}  better")
    for key, f in figures.items():
        target = "" if f["target"] is None else f["target"]
        print(f"{key:<22}{f['value']:>16,}  {f['unit']:<16}{target!s:>12}  {f['better']}")
    for key, passed in checks.items():
        print(f"check: {key}: {'yes' if passed else 'NO'}")
    if not all(checks.values()):
        return 1
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


def utc_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
