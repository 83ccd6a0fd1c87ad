"""Materialized views vs raw InfluxQL: `python -m bench.views [--quick] [--entities N --days D]`.

A dense demo home (default 50 power sensors x 90 days, one reading per minute per sensor, in
Home Assistant's official layout) is written to its own InfluxDB database, the view
`daily_energy_by_device` is built from it with `rebuild_view` (the same code the 4-hourly
refresh runs), and the PRD's two queries are timed both ways:

- "single day, single entity": raw = INTEGRAL/MEAN/MAX of one sensor over one UTC day;
  view = `MaterializedViewManager().daily_energy(entity_id, day, day)`;
- "30 days, grouped by device": raw = INTEGRAL/MAX over 30 days GROUP BY "entity_id";
  view = `MaterializedViewManager().energy_by_device(start, end)` (SQL SUM/MAX per entity).
  Also shown, not a target: the 30 days as daily rows per device (`daily_energy`, 1,500 rows
  at full size) against raw GROUP BY time(1d), "entity_id".

Each query runs against a random entity/day per call; p50/p95 over the calls; the speedup is
raw p95 / view p95.

Through REST: gunicorn as `make run` starts it (bench.api's `web_server`) serves
`GET /api/views/daily_energy_by_device?entity_id=…&start=…&end=…` to one client with an API
token, a random sensor and 1-30 days per request (`rest_views_p95_ms`).

The build's bound: InfluxDB's own CSV read of the same raw points, one query per sensor as the
build reads them, with no processing (`read_bound_points_per_second`);
`build_vs_read` = build rate / read rate. Everything the bench uses is removed at the end: the
InfluxDB databases `bench_views_ha_<run>` and `bench_views_enrich_<run>` (this run's own:
`bench._env.run_database`), a fresh relational database
(SQLite file var/bench/views.sqlite3, or `<name>_bench_views` when DATABASE_URL names
PostgreSQL), and Redis keys under `bench-views-<random>:` (the API throttle's); gunicorn's log
stays in var/bench/views-gunicorn.log.
"""

import argparse
import json
import math
import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

from bench._env import BENCH_DIR, ROOT, base_environment, own_database, run_database

RESULTS = ROOT / "bench" / "results" / "views.json"
HA_DATABASE = run_database("bench_views_ha")
ENRICH_DATABASE = run_database("bench_views_enrich")
SIZES = {False: (50, 90), True: (10, 35)}  # quick -> (entities, days)
END = datetime(2024, 6, 1, tzinfo=UTC)  # a fixed, closed range: the runs are comparable
CALLS = {False: {"view": 300, "raw_day": 60, "raw_group": 10, "rest": 200},
         True: {"view": 100, "raw_day": 20, "raw_group": 5, "rest": 60}}  # fmt: skip
VIEW_P95_TARGET_MS = 2.0
GROUP_SPEEDUP_TARGET = 500
BUILD_TARGET_POINTS_PER_SECOND = 200_000
REST_P95_TARGET_MS = 20.0


def _prepare_environment(
    name: str = "views", ha_database: str = HA_DATABASE, enrich_database: str = ENRICH_DATABASE
) -> tuple[str, str | None]:
    """The bench's own databases (`name` tells them apart; bench.api uses it too)."""
    base_environment(
        name,
        HA_INFLUXDB_DATABASE=ha_database,
        TIER_DATABASE=ha_database,
        INFLUXDB_DATABASE=enrich_database,
        TIME_ZONE="UTC",
        ENERGY_FLAT_TARIFF="0.30",
    )
    return own_database(name)


# --- the dense home ------------------------------------------------------------------------------
def dense_home(entities: int, days: int, seed: int = 7) -> Iterator:
    """One reading per minute per power sensor: a base load, a daily rhythm, random bursts."""
    from enrich.readings import Reading

    rng = random.Random(seed)
    start = END - timedelta(days=days)
    for n in range(entities):
        base, swing, phase = rng.uniform(5, 80), rng.uniform(20, 400), rng.uniform(0, 2 * math.pi)
        tags = {"domain": "sensor", "entity_id": f"device_{n:02d}_power"}
        for minute in range(days * 1440):
            daily = math.sin(2 * math.pi * minute / 1440 + phase)
            burst = 1500.0 if rng.random() < 0.01 else 0.0
            watts = max(0.0, base + swing * max(daily, 0) + burst + rng.gauss(0, 3))
            yield Reading("W", {"value": round(watts, 1)}, start + timedelta(minutes=minute), tags)


def register_entities(entities: int, days: int) -> None:
    from retention.models import Entity

    Entity.objects.bulk_create(
        Entity(
            entity_id=f"sensor.device_{n:02d}_power",
            kind=Entity.Kind.POWER,
            unit="W",
            layout=Entity.Layout.OFFICIAL,
            measurement="W",
            first_seen=END - timedelta(days=days),
            last_seen=END,
        )
        for n in range(entities)
    )


# --- timing --------------------------------------------------------------------------------------
def timed(call: Callable[[], object], times: int) -> list[float]:
    call()  # warm up: connections, query plans
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def timed_together(calls: dict[str, Callable[[], object]], times: int) -> dict[str, list[float]]:
    """`timed` for several calls in turns: call 1 of each, call 2 of each, ..."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm up
    for _ in range(times):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - began) * 1000)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def raw_query(ts, influxql: str, params: dict) -> int:
    with ts.query(HA_DATABASE, influxql, params=params) as rows:
        return sum(1 for _ in rows)


def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": round(value, 3), "unit": unit, "target": target, "better": better}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 entities x 35 days")
    parser.add_argument("--entities", type=int, help="power sensors (default 50)")
    parser.add_argument("--days", type=int, help="days of 1-minute data (default 90, >= 31)")
    args = parser.parse_args(argv)
    entities, days = SIZES[args.quick]
    entities, days = args.entities or entities, args.days or days
    if days < 31 or entities < 1:
        parser.error("--days must be at least 31 (the 30-day query) and --entities at least 1")

    url, admin_url = _prepare_environment()
    os.environ["REDIS_KEY_PREFIX"] = f"bench-views-{secrets.token_hex(4)}"
    import django

    django.setup()
    from bench.collectors import bench_database, bench_redis_keys
    from enrich.influx import get_timeseries
    from retention.rollups.materialized import ENERGY, MaterializedViewManager, rebuild_view

    ts = get_timeseries()
    calls = CALLS[args.quick]
    load_before = os.getloadavg()[0]
    with bench_redis_keys(), bench_database(url, admin_url):
        for name in (HA_DATABASE, ENRICH_DATABASE):
            ts.create_database(name)
        try:
            began = time.perf_counter()
            points = ts.write(HA_DATABASE, dense_home(entities, days), batch_size=10000)
            write_seconds = time.perf_counter() - began
            print(f"wrote {points:,} points in {write_seconds:.1f} s", flush=True)
            register_entities(entities, days)
            first_day, last_day = (END - timedelta(days=days)).date(), END.date() - timedelta(1)
            began = time.perf_counter()
            run = rebuild_view(ENERGY, first_day, last_day)
            build_seconds = time.perf_counter() - began
            print(f"built {run.records_processed:,} view rows in {build_seconds:.1f} s", flush=True)

            began = time.perf_counter()
            read = read_bound(ts, entities, first_day, last_day)
            read_seconds = time.perf_counter() - began
            print(f"InfluxDB CSV read of {read:,} points took {read_seconds:.1f} s", flush=True)

            figures, checks = measure(
                ts, MaterializedViewManager(), entities, first_day, last_day, calls
            )
            figures.update(measure_rest(entities, first_day, last_day, calls["rest"]))
        finally:
            for name in (HA_DATABASE, ENRICH_DATABASE):
                ts.drop_database(name)
    figures["view_build_seconds"] = figure(build_seconds, "s", None, "lower")
    build_rate = points / build_seconds
    figures["view_build_points_per_second"] = figure(
        build_rate, "points/s", BUILD_TARGET_POINTS_PER_SECOND, "higher"
    )
    figures["read_bound_points_per_second"] = figure(
        read / read_seconds, "points/s", None, "higher"
    )
    figures["build_vs_read"] = figure(build_rate / (read / read_seconds), "x", None, "higher")
    figures["raw_points"] = figure(points, "points", None, "higher")
    result = {
        "name": "views",
        "params": {"entities": entities, "days": days, "sampling_seconds": 60, "calls": calls,
                   "database": url.split("://", 1)[0], "quick": args.quick,
                   "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                   "date": datetime.now(UTC).date().isoformat()},
        "figures": figures,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'figure':<30} {'value':>12}  {'unit':<7} target")
    for key, value in figures.items():
        target = (
            ""
            if value["target"] is None
            else f"{'<' if value['better'] == 'lower' else '>='} {value['target']}"
        )
        print(f"{key:<30} {value['value']:>12,.3f}  {value['unit']:<7} {target}")
    for check, ok in checks.items():
        print(f"check: {check}: {'ok' if ok else 'FAILED'}")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


def measure(ts, views, entities: int, first: date, last: date, calls: dict) -> tuple[dict, dict]:
    from django.db import connection

    rng = random.Random(11)
    ids = [f"device_{n:02d}_power" for n in range(entities)]
    day_count = (last - first).days + 1

    def some_day() -> date:
        return first + timedelta(days=rng.randrange(day_count))

    def window_30d() -> tuple[date, date]:
        start = first + timedelta(days=rng.randrange(day_count - 29))
        return start, start + timedelta(days=29)

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    one_day = (
        'SELECT INTEGRAL("value", 1h) / 1000 AS kwh, MEAN("value"), MAX("value") FROM "W" '
        'WHERE "entity_id" = $entity AND time >= $start AND time < $end'
    )
    grouped = (
        'SELECT INTEGRAL("value", 1h) / 1000 AS kwh, MAX("value") FROM "W" '
        'WHERE time >= $start AND time < $end GROUP BY "entity_id"'
    )
    daily_grouped = (
        'SELECT INTEGRAL("value", 1h) / 1000 AS kwh, MAX("value") FROM "W" '
        'WHERE time >= $start AND time < $end GROUP BY time(1d), "entity_id"'
    )

    def raw_day():
        day = some_day()
        params = {"entity": rng.choice(ids), "start": at(day), "end": at(day + timedelta(1))}
        return raw_query(ts, one_day, params)

    def view_day():
        day = some_day()
        return views.daily_energy("sensor." + rng.choice(ids), day, day)

    def raw_group(query=grouped):
        start, end = window_30d()
        return raw_query(ts, query, {"start": at(start), "end": at(end + timedelta(1))})

    def view_group():
        return views.energy_by_device(*window_30d())

    def view_daily_rows():
        return views.daily_energy(None, *window_30d())

    def round_trip():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchall()

    # The view queries take turns with one round trip to the database doing nothing, the
    # bound of any of them, so all three meet the same load on a shared machine.
    timings = timed_together(
        {"db_round_trip": round_trip, "single_day_view": view_day, "group_30d_view": view_group},
        calls["view"],
    )
    timings |= {
        "single_day_raw": timed(raw_day, calls["raw_day"]),
        "group_30d_raw": timed(raw_group, calls["raw_group"]),
        "daily_rows_30d_view": timed(view_daily_rows, calls["view"] // 2),
        "daily_rows_30d_raw": timed(lambda: raw_group(daily_grouped), calls["raw_group"]),
    }
    figures = {}
    for name, values in timings.items():
        for q in (50, 95):
            wanted = name.endswith("view") and q == 95 and "rows" not in name
            target = VIEW_P95_TARGET_MS if wanted else None
            figures[f"{name}_p{q}_ms"] = figure(percentile(values, q / 100), "ms", target, "lower")
    figures["single_day_speedup"] = figure(
        figures["single_day_raw_p95_ms"]["value"] / figures["single_day_view_p95_ms"]["value"],
        "x", None, "higher",
    )  # fmt: skip
    figures["group_30d_speedup"] = figure(
        figures["group_30d_raw_p95_ms"]["value"] / figures["group_30d_view_p95_ms"]["value"],
        "x", GROUP_SPEEDUP_TARGET, "higher",
    )  # fmt: skip
    # The two ways must agree: the view's 30-day kWh per device equals the raw integral.
    start, end = first, first + timedelta(days=29)
    by_view = {r["entity_id"]: r["total_kwh"] for r in views.energy_by_device(start, end)}
    # Integral alone: InfluxDB 1.6 returns INTEGRAL and MAX of one series in separate rows.
    integral = grouped.replace(', MAX("value")', "")
    window = {"start": at(start), "end": at(end + timedelta(1))}
    with ts.query(HA_DATABASE, integral, params=window) as rows:
        by_raw = {"sensor." + r.tags["entity_id"]: r.values["kwh"] for r in rows}
    # INTEGRAL interpolates linearly between points, the view holds each value (HA's step
    # rule): over a month of 1-minute data they agree to well under 1 %.
    agree = by_view.keys() == by_raw.keys() and all(
        abs(by_view[k] - by_raw[k]) <= 0.01 * max(abs(by_raw[k]), 1e-9) for k in by_raw
    )
    return figures, {"view and raw 30-day kWh per device agree within 1 %": agree}


def read_bound(ts, entities: int, first: date, last: date) -> int:
    """InfluxDB's CSV read of the raw points the build reads, one query per sensor, nothing
    done with the rows: what the build's rate is bounded by."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    query = (
        'SELECT "value" FROM "W" WHERE "entity_id" = $entity AND "domain" = \'sensor\' '
        "AND time >= $start AND time < $end"
    )
    rows = 0
    for n in range(entities):
        params = {"entity": f"device_{n:02d}_power", "start": start, "end": end}
        blocks = ts.query_csv(HA_DATABASE, query, params, chunk_size=50000)
        rows += sum(block.count("\n") for block in blocks) - 1  # the header
    return rows


def measure_rest(entities: int, first: date, last: date, calls: int) -> dict:
    """GET /api/views/daily_energy_by_device through gunicorn, one client with a token."""
    import requests

    from bench.api import tokens, web_server

    rng = random.Random(5)
    day_count = (last - first).days + 1
    token = tokens(1)[0]
    samples = []
    with web_server(BENCH_DIR / "views-gunicorn.log") as base, requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        for n in range(calls + 5):  # the first 5 warm both workers up
            span = rng.randint(1, 30)
            start = first + timedelta(days=rng.randrange(day_count - span + 1))
            path = (
                f"/api/views/daily_energy_by_device?entity_id=sensor.device_"
                f"{rng.randrange(entities):02d}_power&start={start}"
                f"&end={start + timedelta(days=span - 1)}"
            )
            began = time.perf_counter()
            answer = session.get(base + path, timeout=60)
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 200 or answer.json()["count"] != span:
                raise RuntimeError(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
            if n >= 5:
                samples.append(elapsed)
    return {
        "rest_views_p50_ms": figure(percentile(samples, 0.5), "ms", None, "lower"),
        "rest_views_p95_ms": figure(percentile(samples, 0.95), "ms", REST_P95_TARGET_MS, "lower"),
    }


if __name__ == "__main__":
    sys.exit(main())
