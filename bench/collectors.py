"""One collection cycle for many sites: `python -m bench.collectors [--quick | --scale]`.

1,000 sites in 20 regions (quick: 100 in 5) get a carbon provider and, where one serves the
region, a price provider (see bench/collectors_replay.py for the regions and answers). The
cycle runs as in production: the two dispatch tasks go through the Redis broker to a real
Celery worker (prefork, 2 processes), which fans out one `collect` task per API target; the
adapters call a local replay server; the pipeline writes to InfluxDB and records each run.

`--scale`: 10,000 sites over every region the replay knows, one cycle on one worker of one
process, then (runs, cache, budgets and points forgotten) the same cycle on 2 workers of one
process each under separate `-n` names, as on two machines sharing the broker. `--sites N`
and `--workers N [N ...]` choose other sizes. Results: bench/results/collectors.json, or
collectors_scale.json with --scale.

Everything the bench touches is its own and is removed at the end: a fresh SQLite file
var/bench/collectors.sqlite3 (or, when DATABASE_URL names PostgreSQL, a database
`<name>_bench_collectors` on that server), the InfluxDB database `bench_collectors_<run>` (this
run's own: `bench._env.run_database`), and a
Redis key prefix `bench-collectors-<random>` (response cache, budgets, and the Celery broker
and result keys through kombu's global key prefix).

Figures (bench/README.md explains each): api_calls, distinct_api_targets, points_written,
cycle_seconds, task_p50_ms, task_p99_ms. `task_*` are the pipeline durations the runs recorded
(CollectorRun.duration_ms: cache, budget, fetch, write), one per collect task.
"""

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench._env import BENCH_DIR, ROOT, base_environment, own_database, run_database
from enrich.wording import counted

RESULTS = ROOT / "bench" / "results" / "collectors.json"
INFLUXDB_DATABASE = run_database("bench_collectors")
SIZES = {False: (1000, 20), True: (100, 5)}  # quick -> (sites, regions)
SCALE_SITES = 10_000
CYCLE_TARGET_SECONDS = 10.0  # at SCALE_SITES, on one worker process
CYCLE_TIMEOUT_SECONDS = 600


# --- environment: read before Django starts -------------------------------------------------


def _prepare_environment() -> tuple[str, str | None]:
    """Set the bench's own database, InfluxDB database and key prefix in the environment
    (inherited by the worker). Returns (DATABASE_URL, PostgreSQL admin URL or None)."""
    base_environment("collectors", INFLUXDB_DATABASE=INFLUXDB_DATABASE)
    return own_database("collectors")


@contextmanager
def bench_database(url: str, admin_url: str | None) -> Iterator[None]:
    """A fresh, migrated database for this run, removed afterwards."""
    from django.core.management import call_command
    from django.db import connections

    if admin_url is None:
        path = Path(urlsplit(url).path)
        path.unlink(missing_ok=True)
    else:
        _postgres(admin_url, "DROP DATABASE IF EXISTS {name}", url)
        _postgres(admin_url, "CREATE DATABASE {name}", url)
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connections.close_all()
        if admin_url is None:
            path.unlink(missing_ok=True)
        else:
            _postgres(admin_url, "DROP DATABASE IF EXISTS {name}", url)


def _postgres(admin_url: str, statement: str, url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    # Through the maintenance database, as Django does for test databases: the configured
    # one need not exist yet.
    maintenance = urlunsplit(urlsplit(admin_url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(name=sql.Identifier(name)))


@contextmanager
def bench_influxdb() -> Iterator[object]:
    from enrich.influx import get_timeseries

    ts = get_timeseries()
    ts.create_database(INFLUXDB_DATABASE)
    try:
        yield ts
    finally:
        ts.drop_database(INFLUXDB_DATABASE)


@contextmanager
def bench_redis_keys() -> Iterator[None]:
    from django.conf import settings

    from enrich.redis.client import get_redis

    try:
        yield
    finally:
        redis = get_redis()
        for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*", count=1000):
            redis.delete(key)


# --- the sites -------------------------------------------------------------------------------


def create_sites(server, regions, sites: int) -> None:
    """`sites` homes spread evenly over the regions, each with its carbon and price provider."""
    from bench.collectors_replay import bench_options
    from enrich.models import DEFAULT_INTERVAL_SECONDS, ProviderConfig, Site

    homes = []
    for n in range(sites):
        region = regions[n % len(regions)]
        homes.append(
            Site(
                name=f"{region.name} home {n // len(regions) + 1}",
                # Spread over ~10 km: neighbours, not one point.
                latitude=round(region.latitude + (n % 97) * 0.001, 4),
                longitude=round(region.longitude + (n % 89) * 0.001, 4),
                timezone=region.timezone,
                grid_region=region.grid_region,
                pricing_region=region.pricing_region,
            )
        )
    Site.objects.bulk_create(homes, batch_size=500)
    configs = []
    for n, site in enumerate(Site.objects.order_by("id")):
        region = regions[n % len(regions)]
        for source, provider in (
            ("carbon_intensity", region.carbon),
            ("electricity_pricing", region.price),
        ):
            if provider is None:
                continue
            configs.append(
                ProviderConfig(
                    site=site,
                    source=source,
                    provider=provider,
                    interval_seconds=DEFAULT_INTERVAL_SECONDS[source],
                    api_key="bench-electricitymaps-key" if provider == "electricitymaps" else "",
                    options=bench_options(server, region, provider),
                )
            )
    ProviderConfig.objects.bulk_create(configs, batch_size=500)


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def count_points(ts) -> int:
    """Points in the bench database: one row per series and timestamp."""
    from enrich.influx import quote_ident

    total = 0
    for measurement in ts.measurements(INFLUXDB_DATABASE):
        query = f"SELECT * FROM {quote_ident(measurement)} GROUP BY *"
        total += sum(1 for _ in ts.query(INFLUXDB_DATABASE, query))
    return total


_HALF_HOUR_IN_PATH = re.compile(r"/\d{4}-\d\d-\d\dT\d\d:\d\dZ/")


def called_endpoints(server) -> Counter:
    """How often each target x endpoint was called (the half hour in UK forecast URLs is
    the call's own time, not part of the target)."""
    return Counter(
        (
            _HALF_HOUR_IN_PATH.sub("/<half hour>/", r.path),
            tuple(sorted((k, v) for k, v in r.query.items() if k == "zone")),
        )
        for r in server.requests
    )


def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": value, "unit": unit, "target": target, "better": better}


def one_cycle(server, ts, regions, workers: int | None) -> dict:
    """Register the answers, run one cycle through `workers`, and collect what it did."""
    from bench._collector_workers import celery_workers, run_cycle
    from bench.collectors_replay import register_answers
    from collectors.models import CollectorRun

    endpoints = register_answers(server, regions, datetime.now(UTC))
    with celery_workers(BENCH_DIR, workers):
        tasks, seconds = run_cycle(CYCLE_TIMEOUT_SECONDS)
    runs = list(CollectorRun.objects.all())
    called = called_endpoints(server)
    statuses = Counter(run.status for run in runs)
    points, recorded = count_points(ts), sum(run.points_written for run in runs)
    checks = {
        "api_calls == distinct_api_targets": sum(called.values()) == len(endpoints),
        "every target x endpoint called exactly once": called
        == Counter((e.path, e.query) for e in endpoints),
        "no request missed the replayed routes": all(r.matched for r in server.requests),
        "every collect run ok": statuses == Counter(ok=len(runs)) and len(runs) == tasks,
        "points in InfluxDB == points the runs recorded": points == recorded,
    }
    if not all(checks.values()):
        failed = [
            f"{r.provider} {r.target}: {r.status} {r.error}" for r in runs if r.status != "ok"
        ]
        print("\n".join(failed[:20]), file=sys.stderr)
        print(f"runs by status: {dict(statuses)}; points recorded {recorded}", file=sys.stderr)
    durations = [run.duration_ms for run in runs]
    return {"tasks": tasks, "seconds": seconds, "endpoints": len(endpoints), "points": points,
            "calls": sum(called.values()), "durations": durations, "checks": checks}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.collectors", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100 sites in 5 regions")
    parser.add_argument(
        "--scale", action="store_true",
        help=f"{SCALE_SITES:,} sites in every region, one cycle on 1 then on 2 workers",
    )  # fmt: skip
    parser.add_argument("--sites", type=int, help="sites (default 1,000)")
    parser.add_argument(
        "--workers", type=int, nargs="+", metavar="N",
        help="one cycle per N: N workers of one process each under separate -n names "
        "(default: one worker of 2 processes, the Procfile's worker line)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    sites, region_count = SIZES[args.quick]
    workers: list[int | None] = list(args.workers or [None])
    if args.scale:
        sites, region_count, workers = SCALE_SITES, None, [1, 2]
    sites = args.sites or sites
    if sites < 1 or any(n is not None and n < 1 for n in workers):
        parser.error("--sites and --workers must be at least 1")

    database_url, admin_url = _prepare_environment()
    import django

    django.setup()
    from bench._collector_workers import forget_cycle
    from bench.collectors_replay import REGIONS
    from tests.support.replay import ReplayServer

    regions = REGIONS[:region_count]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    cycles = []
    with (
        bench_redis_keys(),
        bench_influxdb() as ts,
        bench_database(database_url, admin_url),
        ReplayServer() as server,
    ):
        create_sites(server, regions, sites)
        for n, count in enumerate(workers):
            if n:
                forget_cycle(ts, INFLUXDB_DATABASE)
                server.reset()
            cycles.append(one_cycle(server, ts, regions, count))
            on = (
                "one worker of 2 processes"
                if count is None
                else f"{counted(count, 'worker')} of 1 process"
            )
            print(f"cycle on {on}: {cycles[-1]['seconds']:.2f} s", flush=True)

    first = cycles[0]
    target = CYCLE_TARGET_SECONDS if sites >= SCALE_SITES else None
    figures = {
        "api_calls": figure(first["calls"], "calls", first["endpoints"], "lower"),
        "distinct_api_targets": figure(first["endpoints"], "targets x endpoints", None, "lower"),
        "points_written": figure(first["points"], "points", None, "higher"),
        "cycle_seconds": figure(round(first["seconds"], 3), "s", target, "lower"),
        "task_p50_ms": figure(round(percentile(first["durations"], 50), 1), "ms", None, "lower"),
        "task_p99_ms": figure(round(percentile(first["durations"], 99), 1), "ms", None, "lower"),
    }
    for count, cycle in list(zip(workers, cycles, strict=True))[1:]:
        figures[f"cycle_seconds_{count}_workers"] = figure(
            round(cycle["seconds"], 3), "s", None, "lower"
        )
        figures[f"speedup_{count}_workers"] = figure(
            round(first["seconds"] / cycle["seconds"], 3), "x", 1.0, "higher"
        )
    result = {
        "name": "collectors_scale" if args.scale else "collectors",
        "params": {
            "sites": sites,
            "regions": len(regions),
            "carbon_targets": len(regions),
            "price_targets": sum(1 for r in regions if r.price),
            "collect_tasks": first["tasks"],
            "workers": ["one worker of 2 processes" if n is None else f"{n} x 1 process"
                        for n in workers],
            "database": "postgresql" if admin_url else "sqlite",
            "quick": args.quick,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "date": datetime.now(UTC).date().isoformat(),
        },
        "figures": figures,
    }  # fmt: skip
    results = RESULTS.with_name(f"{result['name']}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")

    print(f"collectors: {sites} sites in {len(regions)} regions, {first['tasks']} collect tasks")
    print(f"{'figure':<26}{'value':>12}  {'unit':<20}{'target':>8}  better")
    for name, f in figures.items():
        target = "" if f["target"] is None else f["target"]
        print(f"{name:<26}{f['value']:>12}  {f['unit']:<20}{target!s:>8}  {f['better']}")
    checks = {}
    for count, cycle in zip(workers, cycles, strict=True):
        label = f" ({count} workers)" if len(cycles) > 1 else ""
        checks.update({f"{name}{label}": ok for name, ok in cycle["checks"].items()})
    for count, cycle in list(zip(workers, cycles, strict=True))[1:]:
        checks[f"the cycle is faster on {count} workers than on {workers[0]}"] = (
            cycle["seconds"] < first["seconds"]
        )
    for name, passed in checks.items():
        print(f"check: {name}: {'yes' if passed else 'NO'}")
    print(f"wrote {results.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
