"""The REST API under concurrent clients: `python -m bench.api [--quick] [--clients N]`.

gunicorn is started from the Procfile's `web` line, the command `make run` runs (same workers,
same options), on a free port of 127.0.0.1. Behind it: a home of 1-minute power sensors in
Home Assistant's official layout (`bench.views.dense_home`) in its own InfluxDB database, the
entities registered and the view `daily_energy_by_device` built from it, and one site whose
carbon intensity and prices were collected through the real pipeline from the replayed API
answers of `bench/collectors_replay.py` (so /api/enrichment/current answers from the cache).

N clients (default 50), each a thread with its own HTTP session and API token, start together
and each sends the same number of requests, round robin over:
- GET /api/enrichment/current
- GET /api/views/daily_energy_by_device?entity_id=…&start=…&end=… (a random sensor, 1-7 days)
- GET /api/series?entity_id=…&start=…&end=… (a random sensor, a random 6-hour window, raw)

Latency is measured by the client, request sent to body read, so it includes queueing in
gunicorn. Any answer other than 200, or a connection error, counts in `errors`. Everything
is removed at the end, as in `bench.views`. All traffic stays on 127.0.0.1.
"""

import argparse
import json
import os
import random
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench._env import run_database
from bench.views import BENCH_DIR, END, ROOT, percentile

RESULTS = ROOT / "bench" / "results" / "api.json"
HA_DATABASE = run_database("bench_api_ha")
ENRICH_DATABASE = run_database("bench_api_enrich")
SIZES = {False: (20, 31, 40), True: (8, 10, 12)}  # quick -> (sensors, days, requests per client)
VIEWS_P95_TARGET_MS = 20.0
ENDPOINTS = ("enrichment_current", "views", "series")


def _prepare_environment() -> tuple[str, str | None]:
    """bench.views' environment with this bench's own names (inherited by gunicorn)."""
    from bench.views import _prepare_environment as prepare

    url, admin_url = prepare("api", HA_DATABASE, ENRICH_DATABASE)
    os.environ["REDIS_KEY_PREFIX"] = f"bench-api-{uuid.uuid4().hex[:8]}"
    return url, admin_url


# --- what the API serves --------------------------------------------------------------------
def seed(sensors: int, days: int) -> None:
    """The home, its registry and view, and one site with collected carbon and prices."""
    from bench.collectors import create_sites
    from bench.collectors_replay import REGIONS, register_answers
    from bench.views import dense_home, register_entities
    from collectors import pipeline
    from enrich.influx import get_timeseries
    from enrich.models import ProviderConfig
    from retention.rollups.materialized import ENERGY, rebuild_view
    from tests.support.replay import ReplayServer

    points = get_timeseries().write(HA_DATABASE, dense_home(sensors, days), batch_size=10000)
    register_entities(sensors, days)
    run = rebuild_view(ENERGY, *day_range(days))
    print(f"wrote {points:,} points, built {run.records_processed:,} view rows", flush=True)
    with ReplayServer() as server:
        register_answers(server, REGIONS[:1], datetime.now(UTC))
        create_sites(server, REGIONS[:1], 1)
        for config in ProviderConfig.objects.all():
            outcome = pipeline.collect(config)
            print(f"collected {config.source} ({config.provider}): {outcome.status}", flush=True)


def day_range(days: int) -> tuple[date, date]:
    return (END - timedelta(days=days)).date(), END.date() - timedelta(days=1)


def tokens(count: int) -> list[str]:
    """One user and API token per client, as separate people or scripts would have."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    users = [
        get_user_model().objects.create_user(f"bench-client-{n}", password=uuid.uuid4().hex)
        for n in range(count)
    ]
    return [Token.objects.create(user=user).key for user in users]


# --- gunicorn as `make run` starts it -------------------------------------------------------
def web_command(bind: str) -> list[str]:
    """The Procfile's web line with WEB_BIND set to `bind`."""
    procfile = (ROOT / "Procfile").read_text()
    line = next(row for row in procfile.splitlines() if row.startswith("web:"))
    line = re.sub(r"\$\{WEB_BIND:-[^}]*\}", bind, line.split(":", 1)[1])
    return [str(ROOT / arg) if arg.startswith(".venv/") else arg for arg in shlex.split(line)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web(log_path: Path) -> tuple[subprocess.Popen, str]:
    import requests

    bind = f"127.0.0.1:{free_port()}"
    command = web_command(bind)
    log_path.parent.mkdir(parents=True, exist_ok=True)  # var/bench/ on a fresh checkout
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{bind}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log_path}")
        try:
            if requests.get(f"{base}/api/health/", timeout=10).status_code == 200:
                return process, base
        except requests.RequestException:  # still starting
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not answer /api/health/ within 60 s; see {log_path}")


@contextmanager
def web_server(log_path: Path) -> Iterator[str]:
    """gunicorn as make run starts it, for the block; yields its base URL."""
    process, base = start_web(log_path)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- the clients ----------------------------------------------------------------------------
class Load:
    """Shared tallies of the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def begin(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self, endpoint: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.in_flight -= 1
            self.latencies[endpoint].append(ms)
            if error:
                self.errors.append(f"{endpoint}: {error}")


def request_path(endpoint: str, rng: random.Random, sensors: int, days: int) -> str:
    sensor = f"sensor.device_{rng.randrange(sensors):02d}_power"
    first, last = day_range(days)
    if endpoint == "enrichment_current":
        return "/api/enrichment/current"
    if endpoint == "views":
        start = first + timedelta(days=rng.randrange((last - first).days + 1))
        end = min(last, start + timedelta(days=rng.randrange(7)))
        return f"/api/views/daily_energy_by_device?entity_id={sensor}&start={start}&end={end}"
    begin = datetime.combine(first, datetime.min.time(), UTC) + timedelta(
        hours=rng.randrange((days - 1) * 24)
    )
    window = f"start={begin:%Y-%m-%dT%H:%M:%SZ}&end={begin + timedelta(hours=6):%Y-%m-%dT%H:%M:%SZ}"
    return f"/api/series?entity_id={sensor}&{window}"


def client(base: str, token: str, number: int, requests_each: int, sensors: int, days: int,
           start: threading.Barrier, load: Load) -> None:  # fmt: skip
    import requests

    rng = random.Random(number)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        for endpoint in ENDPOINTS:  # warm up: connection, first query plans; not counted
            try:
                session.get(base + request_path(endpoint, rng, sensors, days), timeout=60)
            except requests.RequestException:
                pass  # the measured requests count it
        start.wait(timeout=300)
        for n in range(requests_each):
            endpoint = ENDPOINTS[(number + n) % len(ENDPOINTS)]
            path = request_path(endpoint, rng, sensors, days)
            load.begin()
            began = time.perf_counter()
            error = None
            try:
                response = session.get(base + path, timeout=60)
                if response.status_code != 200:
                    error = f"{response.status_code} {path} {response.text[:200]}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__} {path}"
            load.end(endpoint, (time.perf_counter() - began) * 1000, error)


def drive(base: str, keys: list[str], requests_each: int, sensors: int, days: int):
    load = Load()
    start = threading.Barrier(len(keys) + 1)
    threads = [
        threading.Thread(target=client, args=(base, key, n, requests_each, sensors, days, start, load))
        for n, key in enumerate(keys)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    start.wait(timeout=300)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return load, time.perf_counter() - began


def serial(
    base: str, token: str, sensors: int, days: int, each: int = 10
) -> dict[str, list[float]]:
    """One client alone: each endpoint's service time without queueing, to read the load by."""
    import requests

    rng = random.Random(0)
    timings: dict[str, list[float]] = defaultdict(list)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        for n in range(each * len(ENDPOINTS) + len(ENDPOINTS)):
            endpoint = ENDPOINTS[n % len(ENDPOINTS)]
            began = time.perf_counter()
            session.get(base + request_path(endpoint, rng, sensors, days), timeout=60)
            if n >= len(ENDPOINTS):  # the first round warms up
                timings[endpoint].append((time.perf_counter() - began) * 1000)
    return timings


def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": round(value, 3), "unit": unit, "target": target, "better": better}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="8 sensors x 10 days, 12 requests each"
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (>= 50)")
    args = parser.parse_args(argv)
    if args.clients < 50:
        parser.error("--clients: the issue asks for at least 50 concurrent clients")
    sensors, days, requests_each = SIZES[args.quick]

    url, admin_url = _prepare_environment()
    import django

    django.setup()
    from bench.collectors import bench_database, bench_redis_keys
    from enrich.influx import get_timeseries

    ts = get_timeseries()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log_path = BENCH_DIR / "api-gunicorn.log"
    with bench_redis_keys(), bench_database(url, admin_url):
        for name in (HA_DATABASE, ENRICH_DATABASE):
            ts.create_database(name)
        try:
            seed(sensors, days)
            keys = tokens(args.clients)
            with web_server(log_path) as base:
                alone = serial(base, keys[0], sensors, days)
                load_before = os.getloadavg()[0]
                load, seconds = drive(base, keys, requests_each, sensors, days)
                load_after = os.getloadavg()[0]
        finally:
            for name in (HA_DATABASE, ENRICH_DATABASE):
                ts.drop_database(name)

    total = sum(len(values) for values in load.latencies.values())
    figures = {
        "errors": figure(len(load.errors), "requests", 0, "lower"),
        "concurrent_clients": figure(load.max_in_flight, "requests in flight", 50, "higher"),
        "requests_per_second": figure(total / seconds, "req/s", None, "higher"),
    }
    for endpoint in ENDPOINTS:
        for q in (50, 95):
            target = VIEWS_P95_TARGET_MS if (endpoint, q) == ("views", 95) else None
            value = percentile(load.latencies[endpoint], q / 100)
            figures[f"{endpoint}_p{q}_ms"] = figure(value, "ms", target, "lower")
        single = percentile(alone[endpoint], 0.5)
        figures[f"{endpoint}_single_client_p50_ms"] = figure(single, "ms", None, "lower")
    result = {
        "name": "api",
        "params": {"clients": args.clients, "requests_per_client": requests_each,
                   "requests": total, "seconds": round(seconds, 3), "sensors": sensors,
                   "days": days, "gunicorn": " ".join(web_command("127.0.0.1:<port>")[1:]),
                   "database": url.split("://", 1)[0], "quick": args.quick,
                   "cpus": os.cpu_count(), "load_average_1m": [load_before, load_after]},
        "figures": figures,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{total} requests from {args.clients} clients in {seconds:.2f} s; load average "
          f"{load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'figure':<28} {'value':>10}  {'unit':<18} target")
    for key, value in figures.items():
        target = value["target"]
        shown = "" if target is None else f"{'<=' if value['better'] == 'lower' else '>='} {target}"
        print(f"{key:<28} {value['value']:>10,.1f}  {value['unit']:<18} {shown}")
    for error in load.errors[:10]:
        print(f"error: {error}")
    views_p95 = figures["views_p95_ms"]["value"]
    print(
        f"views p95 target <= {VIEWS_P95_TARGET_MS:g} ms: {'met' if views_p95 <= VIEWS_P95_TARGET_MS else 'NOT met'}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if not load.errors and load.max_in_flight >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
