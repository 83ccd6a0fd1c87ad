"""Hot -> warm throughput: `python -m bench.downsample [--quick]`.

A dense home (bench/_tiers.py: one point a minute per measurement entity) of 50 entities x
14 days (quick: 20 x 3), all older than the raw horizon, is written to its own InfluxDB
database; then one real `retention.tiers.runner.downsample_hourly` run takes it through the whole
hot -> warm path: read, aggregate, write the hourly rows, read them back and verify (field by
field, raw counts by InfluxDB, energy), delete the raw points, measure storage before/after.

Figures: points_per_minute = raw points aggregated / the run's recorded duration (everything
above, including verification, deletion and the storage measurement) x 60, target 5,000,000;
read_bound_points_per_minute = the same raw points read just before the run as InfluxDB's own
CSV answer (`Accept: application/csv`, one query grouped by entity as the tier reads them,
read to the end, not parsed) per minute;
downsample_vs_read = points_per_minute / read_bound_points_per_minute, target 0.2 (the
machine-independent form: absolute rates differ about 2x between machines). When a target is
not met, the bench prints the bound it hit with the measured figures. run_queries = the
queries the run sent to InfluxDB (counted at the gateway, every thread): one per group of
entities for each read of a day, not one per entity.
Then late points of whole days (a Home Assistant pushing its backlog, an import of history):
the home's first LATE_DAYS days are written again with other readings, into the days the run
has done, and a second run folds them into the hourly rows and deletes them: late_points (those
folded in: the weather entity's readings, the same again, are rows it holds, deleted without),
late_run_seconds and late_run_queries (counted as run_queries) are its figures.
Everything is removed at the end (InfluxDB database `bench_downsample_<run>`, this run's own
(`bench._env.run_database`), the bench's relational
database, Redis keys under its own prefix).
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from bench import _tiers
from bench._env import run_database

NAME = "downsample"
INFLUX_DATABASE = run_database("bench_downsample")
SIZES = {False: (50, 14), True: (20, 3)}  # quick -> (entities, days)
LATE_DAYS = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.downsample", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="20 entities x 3 days")
    args = parser.parse_args(argv)
    entities, days = SIZES[args.quick]

    database_url, admin_url = _tiers.prepare_environment(NAME, INFLUX_DATABASE)
    import django

    django.setup()
    from django.conf import settings

    from bench.collectors import bench_database
    from enrich.influx import get_timeseries
    from enrich.redis.client import get_redis
    from retention.entities.ha_source import count_samples
    from retention.models import Entity
    from retention.tiers import runner as tiers
    from retention.tiers.rows import HOURLY_RP, read_rows

    ts = get_timeseries()
    # Old enough for the horizon whatever RETENTION_RAW_DAYS is set to.
    end = _tiers.utc_day(datetime.now(UTC)) - timedelta(days=settings.RETENTION_RAW_DAYS + 30)
    start = end - timedelta(days=days)
    specs = _tiers.plan(entities)
    ts.create_database(INFLUX_DATABASE)
    try:
        with bench_database(database_url, admin_url):
            written = ts.write(INFLUX_DATABASE, _tiers.dense_home(specs, start, days))
            _tiers.register(specs)
            registry = list(Entity.objects.all())
            raw_before = sum(count_samples(e, start, end) for e in registry)
            load_before = os.getloadavg()[0]
            read_lines, read_seconds = read_bound(ts, INFLUX_DATABASE, specs, start, end)
            with _tiers.counted_queries() as queries:
                run = tiers.downsample_hourly(start.date(), end.date())
            load_after = os.getloadavg()[0]
            raw_after = sum(count_samples(e, start, end) for e in registry)
            rows = read_rows(HOURLY_RP, start, end)
            accounted = sum(r.points for per in rows.values() for r in per)
            row_count = sum(len(per) for per in rows.values())
            late, late_run, late_queries, late_left = late_pass(ts, specs, start, end, registry)
    finally:
        ts.drop_database(INFLUX_DATABASE)
        redis = get_redis()
        for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*", count=1000):
            redis.delete(key)

    seconds = run.duration_seconds or float("nan")
    rate = round(run.records_processed / seconds * 60)
    read_rate = round(raw_before / read_seconds * 60)
    figures = {
        "points_per_minute": _tiers.figure(rate, "points/min", 5_000_000, "higher"),
        "read_bound_points_per_minute": _tiers.figure(read_rate, "points/min", None, "higher"),
        "downsample_vs_read": _tiers.figure(round(rate / read_rate, 3), "x", 0.2, "higher"),
        "read_bound_seconds": _tiers.figure(round(read_seconds, 2), "s", None, "lower"),
        "raw_points": _tiers.figure(run.records_processed, "points", None, "higher"),
        "run_seconds": _tiers.figure(round(seconds, 2), "s", None, "lower"),
        "hourly_rows": _tiers.figure(row_count, "rows", None, "lower"),
        "run_queries": _tiers.figure(queries.count, "queries", None, "lower"),
        "late_points": _tiers.figure(
            late_run.details.get("late_points", 0), "points", None, "higher"
        ),  # fmt: skip
        "late_run_seconds": _tiers.figure(
            round(late_run.duration_seconds or float("nan"), 2), "s", None, "lower"
        ),
        "late_run_queries": _tiers.figure(late_queries, "queries", None, "lower"),
    }
    checks = {
        "run ok": run.status == "ok",
        "every written point was aggregated": run.records_processed == raw_before == written,
        "every raw point deleted after verification": raw_after == 0
        and run.records_deleted == raw_before,
        "hourly rows account for every raw point": accounted == raw_before,
        "the CSV read returned every raw point": read_lines >= raw_before,
        "the late run deleted every late point, once folded in": late_run.status == "ok"
        and late_run.records_deleted == late
        and late_left == 0,
    }
    if run.status != "ok":
        print(run.errors, file=sys.stderr)
    params = {
        "entities": entities,
        "days": days,
        "sampling": "1 point/min (measurements), motion on change, weather 10 min",
        "database": "postgresql" if admin_url else "sqlite",
        "quick": args.quick,
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
    }
    unmet = [k for k, f in figures.items() if f["target"] is not None and f["value"] < f["target"]]
    if unmet:
        params["bound"] = (
            f"{', '.join(unmet)} below target. Bound: InfluxDB's CSV read of the same "
            f"{raw_before:,} raw points took {read_seconds:.2f} s ({read_rate:,} points/min); "
            f"the run (read, aggregate, write, read back, verify, delete) took {seconds:.2f} s "
            f"on {os.cpu_count()} cores at load average {load_before:.1f} -> {load_after:.1f}"
        )
        print(params["bound"])
    return _tiers.report(NAME, params, figures, checks)


def late_pass(ts, specs: list, start: datetime, end: datetime, registry: list
              ) -> tuple[int, object, int, int]:  # fmt: skip
    """(late points written, the run, its queries, raw points left after it): the home's first
    LATE_DAYS days written again with other readings, into days done, and one run over them."""
    from retention.entities.ha_source import count_samples
    from retention.tiers import runner as tiers

    ts.write(INFLUX_DATABASE, _tiers.dense_home(specs, start, LATE_DAYS, seed=8))
    late = sum(count_samples(e, start, end) for e in registry)
    with _tiers.counted_queries() as queries:
        run = tiers.downsample_hourly(start.date(), end.date())
    return late, run, queries.count, sum(count_samples(e, start, end) for e in registry)


def read_bound(ts, database: str, specs: list, start: datetime, end: datetime
               ) -> tuple[int, float]:  # fmt: skip
    """(lines, seconds) of InfluxDB's own CSV answer with every raw point of the home in
    [start, end): one query over all its measurements, read to the end and not parsed."""
    from enrich.influx import quote_ident
    from enrich.influx.bulk import csv_read_bound

    measurements = ", ".join(quote_ident(m) for m in sorted({s.measurement for s in specs}))
    query = (
        f"SELECT * FROM {measurements} WHERE time >= $start AND time < $end "
        'GROUP BY "entity_id", "domain"'
    )
    began = time.perf_counter()
    lines, _ = csv_read_bound(ts, database, query, {"start": start, "end": end})
    return lines, time.perf_counter() - began


if __name__ == "__main__":
    sys.exit(main())
