"""A year of a dense home, kept raw vs tiered: `python -m bench.storage [--quick]`.

The same dense home (bench/_tiers.py) of 20 entities x 365 days (quick: 8 x 120) is written
twice: to `bench_storage_raw`, kept as it is, and to `bench_storage_tiered`, which then goes
through the real tiers as on the morning after the last day: `downsample_hourly` (raw older
than RETENTION_RAW_DAYS -> hourly rows, raw deleted) and `downsample_daily` (hourly older than
RETENTION_HOURLY_DAYS -> daily rows, hourly deleted). Both are then measured on disk by
InfluxDB's own accounting (SHOW STATS shard diskBytes: TSM files + WAL) after compaction.

Compaction: InfluxDB 1.x snapshots its cache 10 minutes and fully compacts a shard 4 hours
after the last write by default, and has no command to force either. The bench therefore runs
its own influxd (Debian's binary, a free loopback port, its own data directory, removed at the
end) configured to do both after seconds, and polls the sizes until they stop changing with
nothing left in the cache. The user's InfluxDB is never restarted or reconfigured.

Then the bench restarts its own influxd and accounts for every point written: raw points left
+ sample/gap counts of the hourly and daily rows == points written. (InfluxDB 1.6's in-memory
series index can lose sight of a series after deletes in other shards until a restart — data
on disk is intact; see README "Tiered retention". The restart makes the count reflect disk.)

The sparse variant (`--sparse`; the default runs both) writes a year of a home whose entities
change rarely (bench/_sparse.py: door and window contacts, motion sensors, a thermostat, hourly
weather, a power sensor and an energy meter with a reset) to `bench_storage_sparse_raw` and
`bench_storage_sparse_tiered`, its entities measured as discovery does (states per day), and
goes through the same tiers: a day of an entity with no more states than the hourly rows that
would replace them keeps its states (retention/tiers/density.py).

Figures: raw_bytes, tiered_bytes, reduction_percent (target 95); sparse_raw_bytes,
sparse_tiered_bytes, sparse_reduction_percent (target 50, never negative).
"""

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from bench import _sparse, _tiers
from bench.downsample import read_bound

NAME = "storage"
SIZES = {False: (20, 365), True: (8, 120)}  # quick -> (entities, days) of the dense home
TARGETS = {"": 95, "sparse_": 50}  # reduction_percent per variant (prefix of its figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storage", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="8 entities x 120 days")
    parser.add_argument("--sparse", action="store_true", help="only the sparse home")
    parser.add_argument("--dense", action="store_true", help="only the dense home")
    args = parser.parse_args(argv)
    entities, days = SIZES[args.quick]
    variants = ["sparse_"] if args.sparse else [""] if args.dense else ["", "sparse_"]

    database_url, admin_url = _tiers.prepare_environment(NAME, "bench_storage_tiered")
    with _tiers.private_influxd(NAME) as server:
        os.environ["INFLUXDB_URL"] = server.url
        os.environ["INFLUXDB_VERSION"] = "1"
        os.environ["INFLUXDB_TIMEOUT"] = "300"
        import django

        django.setup()
        from bench.collectors import bench_database

        figures: dict = {}
        checks: dict = {}
        bounds: list[str] = []
        with bench_database(database_url, admin_url):
            for prefix in variants:
                sparse = prefix == "sparse_"
                specs = _sparse.plan() if sparse else _tiers.plan(entities)
                home = _sparse.sparse_home if sparse else _tiers.dense_home
                got, passed, bound = run_variant(server, prefix, specs, home, days)
                figures.update(got)
                checks.update(passed)
                bounds += [bound] if bound else []
    params = {
        "entities": entities,
        "days": days,
        "sampling": "1 point/min (measurements), motion on change, weather 10 min",
        "sparse_entities": len(_sparse.plan()),
        "sparse_sampling": "door/window 0-8 changes a day, motion 24-60, thermostat every "
        "15-60 min, weather hourly, power about 3 changes an hour, meter every 10-30 min "
        "with one reset",
        "variants": [p.rstrip("_") or "dense" for p in variants],
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "influxdb": "private influxd 1.x, cache snapshot after 1 s, full compaction after 2 s",
        "quick": args.quick,
    }
    if bounds:
        params["bound"] = "; ".join(bounds)
        print(params["bound"])
    return _tiers.report(NAME, params, _with_earlier(figures, args.quick), checks)


def _with_earlier(figures: dict, quick: bool) -> dict:
    """This run's figures plus the other variant's from the last run of the same size (a run
    of one variant keeps the other's figures in the results file)."""
    path = _tiers.RESULTS_DIR / f"{NAME}.json"
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return figures
    if earlier.get("params", {}).get("quick") != quick:
        return figures
    return {**earlier.get("figures", {}), **figures}


def run_variant(server, prefix: str, specs: list, home, days: int) -> tuple[dict, dict, str]:
    """Write the home raw and tiered, run the tiers, measure both, account for every point;
    the dense home also measures the runs' speed against InfluxDB's own read (returned: the
    bound hit when a speed target is missed, else "")."""
    from django.conf import settings

    from enrich.influx import get_timeseries
    from retention.entities.ha_source import count_samples
    from retention.models import Entity, RetentionRun, TierChunk
    from retention.tiers import density
    from retention.tiers import runner as tiers
    from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
    from retention.tiers.safety import daily_horizon, hourly_horizon

    raw_db, tiered_db = f"bench_storage_{prefix}raw", f"bench_storage_{prefix}tiered"
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = tiered_db
    for model in (Entity, RetentionRun, TierChunk):
        model.objects.all().delete()
    # The simulated year ends at the start of a UTC day; the tiers run as that morning.
    end = datetime(2025, 1, 1, tzinfo=UTC)
    start = end - timedelta(days=days)
    now = end + timedelta(hours=3)
    for database in (raw_db, tiered_db):
        get_timeseries().create_database(database)
    began = time.monotonic()
    written = get_timeseries().write(raw_db, home(specs, start, days))
    get_timeseries().write(tiered_db, home(specs, start, days))
    write_seconds = time.monotonic() - began
    # Days older than the raw horizon have long been on disk in a real install: let InfluxDB
    # snapshot and compact the year first. A DELETE while one of its shards is being snapshotted
    # can hide points in 1.6 (bench/README.md, "The empty days"); not timed.
    _tiers.settled_sizes({raw_db, tiered_db})
    _tiers.register(specs)
    registry = list(Entity.objects.all())
    if prefix:
        density.measure(registry, now)  # as discovery does before the tier runs
    hourly = tiers.downsample_hourly(now=now)
    daily = tiers.downsample_daily(now=now)
    sizes = _tiers.settled_sizes({raw_db, tiered_db})
    if not prefix:  # the hourly run's bound: InfluxDB's CSV read of the same points (kept raw)
        read_lines, read_seconds = read_bound(get_timeseries(), raw_db, specs, start, end)

    server.restart()
    raw_from = datetime.combine(hourly_horizon(now), clock(), UTC)
    hourly_from = datetime.combine(daily_horizon(now), clock(), UTC)
    raw_left = sum(count_samples(e, start, end) for e in registry)
    raw_too_old = sum(count_samples(e, start, raw_from) for e in registry)
    kept = [
        (entity, day)
        for day, names in TierChunk.objects.filter(tier="hourly").values_list("day", "kept_raw")
        for entity in registry
        if entity.entity_id in names
    ]
    day = timedelta(days=1)
    midnights = [(e, datetime.combine(d, clock(), UTC)) for e, d in kept]
    raw_kept = sum(count_samples(e, at, at + day) for e, at in midnights)
    far = (start - day, end + day)
    hour_rows = read_rows(HOURLY_RP, *far)
    day_rows = read_rows(DAILY_RP, *far)
    accounted = raw_left + sum(
        r.points for table in (hour_rows, day_rows) for per in table.values() for r in per
    )
    hour_times = [r.start for per in hour_rows.values() for r in per]
    day_times = [r.start for per in day_rows.values() for r in per]
    per_entity_day: dict = {}
    for entity_id, rows in hour_rows.items():
        for row in rows:
            key = (entity_id, row.start.date())
            count, points = per_entity_day.get(key, (0, 0))
            per_entity_day[key] = (count + 1, points + row.points)
    more_rows = sum(1 for count, points in per_entity_day.values() if count >= points)

    raw_bytes = sum(v for (db, _), v in sizes.items() if db == raw_db)
    tiered_bytes = sum(v for (db, _), v in sizes.items() if db == tiered_db)
    by_tier = {rp: v for (db, rp), v in sizes.items() if db == tiered_db}
    reduction = 100 * (raw_bytes - tiered_bytes) / raw_bytes if raw_bytes else float("nan")
    figure = _tiers.figure
    figures = {
        f"{prefix}raw_bytes": figure(raw_bytes, "bytes", None, "lower"),
        f"{prefix}tiered_bytes": figure(tiered_bytes, "bytes", None, "lower"),
        f"{prefix}reduction_percent": figure(round(reduction, 2), "%", TARGETS[prefix], "higher"),
        f"{prefix}raw_points": figure(written, "points", None, "higher"),
        f"{prefix}write_seconds": figure(round(write_seconds, 1), "s", None, "lower"),
        f"{prefix}hourly_run_seconds": figure(hourly.duration_seconds, "s", None, "lower"),
        f"{prefix}daily_run_seconds": figure(
            daily.duration_seconds, "s", None if prefix else 60, "lower"
        ),
    }
    bound = ""
    if not prefix:
        figures.update(speed_figures(hourly, daily, written, read_seconds))
        unmet = [k for k, f in figures.items() if f["target"] is not None and (
            f["value"] < f["target"] if f["better"] == "higher" else f["value"] > f["target"])]  # fmt: skip
        if unmet:
            bound = (
                f"{', '.join(unmet)} missed. InfluxDB's CSV read of the year's {written:,} points "
                f"took {read_seconds:.1f} s; hourly run {hourly.duration_seconds:.1f} s "
                f"({hourly.records_processed:,} raw points), daily run "
                f"{daily.duration_seconds:.1f} s ({daily.records_processed:,} hourly rows of "
                f"{len(daily.details.get('days', []))} days); load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
    for rp, size in sorted(by_tier.items()):
        figures[f"{prefix}tiered_{rp}_bytes"] = figure(size, "bytes", None, "lower")
    if prefix:
        figures[f"{prefix}kept_entity_days"] = figure(len(kept), "entity-days", None, "lower")
    what = prefix.rstrip("_") or "dense"
    checks = {
        f"{what}: both runs ok": hourly.status == daily.status == "ok",
        f"{what}: raw points older than the raw horizon only in entity-days that kept their "
        f"states ({raw_too_old:,} older, {raw_kept:,} kept, {raw_left:,} in all)": raw_too_old
        == raw_kept
        and raw_left > 0,
        f"{what}: hourly rows only between the daily and the raw horizon": bool(hour_times)
        and min(hour_times) >= hourly_from
        and max(hour_times) < raw_from,
        f"{what}: daily rows only before the daily horizon": bool(day_times)
        and max(day_times) < hourly_from,
        f"{what}: every point written accounted for (raw + hourly + daily counts: "
        f"{accounted:,})": accounted == written,
        f"{what}: no entity-day has as many hourly rows as the raw states they replace "
        f"({more_rows} have)": not prefix or more_rows == 0,
        f"{what}: tiering made the history no bigger": tiered_bytes <= raw_bytes,
    }
    if not prefix:
        checks[f"{what}: the CSV read bound returned every point"] = read_lines >= written
    for run in (hourly, daily):
        if run.status != "ok":
            print(run.errors, file=sys.stderr)
    if raw_too_old != raw_kept:  # name the entity-days, to look into
        for entity in registry:
            for n in range((raw_from - start).days):
                at = start + n * day
                if (left := count_samples(entity, at, at + day)) and (
                    entity,
                    at.date(),
                ) not in kept:
                    print(f"raw left: {entity.entity_id} {at.date()} {left}", file=sys.stderr)
    return figures, checks, bound


def speed_figures(hourly, daily, written: int, read_seconds: float) -> dict:
    """The tier runs' rates (targets of issue 15) against InfluxDB's own read of the points."""
    rate = round(hourly.records_processed / (hourly.duration_seconds or float("nan")) * 60)
    read_rate = round(written / read_seconds * 60)
    days = len(daily.details.get("days", [])) or 1
    return {
        "hourly_points_per_minute": _tiers.figure(rate, "points/min", 5_000_000, "higher"),
        "read_bound_points_per_minute": _tiers.figure(read_rate, "points/min", None, "higher"),
        "hourly_vs_read": _tiers.figure(round(rate / read_rate, 3), "x", 0.2, "higher"),
        "daily_seconds_per_day": _tiers.figure(
            round((daily.duration_seconds or 0) / days, 3), "s", None, "lower"
        ),
    }


if __name__ == "__main__":
    sys.exit(main())
