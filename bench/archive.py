"""The parquet archive of a 50-entity home: `python -m bench.archive [--quick] [--target moto]`.

Daily aggregates of 50 entities (20 power, 8 energy, 12 binary, 8 numeric, 2 weather) for 6
years (quick: 2) are generated directly into the daily tier (InfluxDB retention policy
enrich_daily), then one archive run writes them to Parquet in the archive - the local
directory target by default, or moto's S3 server on loopback with `--target moto` - and
deletes them from InfluxDB. One whole year is then restored through `restore_from_archive`.

Figures: bytes_per_row (archive bytes / archived rows), objects_per_year, restore_seconds_per_year
(best of 3 restores of one year), restore_max_range_seconds (`restore_to_influxdb` of the longest
range POST /retention/restore takes, RETENTION_MAX_RANGE_DAYS days ending on the last archived
day, into InfluxDB: what a queued restore does on a worker), plus archive_seconds (the archive
run) and bytes_per_row_zstd (the same rows encoded with zstd level 9, for comparison).

Everything is the bench's own and removed at the end: the SQLite file var/bench/archive.sqlite3,
the InfluxDB databases bench_archive_tier_<run>, bench_archive_<run> and
bench_archive_restore_<run> (<run>: `<pid>_<random>`, this run's own, `bench._env.run_database`),
the directory var/bench/archive, and Redis keys under bench-archive-<random>.
"""

import argparse
import json
import math
import random
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bench._env import BENCH_DIR, ROOT, base_environment, run_database

RESULTS = ROOT / "bench" / "results" / "archive.json"
TIER_DATABASE = run_database("bench_archive_tier")
ENRICH_DATABASE = run_database("bench_archive")
RESTORE_DATABASE = run_database("bench_archive_restore")
DATABASES = (TIER_DATABASE, ENRICH_DATABASE, RESTORE_DATABASE)
ARCHIVE_DIR = BENCH_DIR / "archive"
SQLITE = BENCH_DIR / "archive.sqlite3"
ENTITIES = {"power": 20, "energy": 8, "binary": 12, "numeric": 8, "weather": 2}
FIRST_YEAR = 2018


def _prepare_environment() -> None:
    base_environment(
        "archive",
        DATABASE_URL=f"sqlite:///{SQLITE}",
        TIER_DATABASE=TIER_DATABASE,
        INFLUXDB_DATABASE=ENRICH_DATABASE,
        RESTORE_INFLUXDB_DATABASE=RESTORE_DATABASE,
        ARCHIVE_LOCAL_DIR=str(ARCHIVE_DIR),
        S3_ARCHIVE_BUCKET="",
    )


def generate(years: int, seed: int = 1):
    """Daily aggregate readings, shaped like a real home's: seasonal power, growing meters,
    daily motion, full-precision time-weighted means (which is what makes them incompressible)."""
    from enrich.readings import Reading
    from retention.archive.reader import MEASUREMENT
    from retention.tiers.aggregate import Aggregate

    rng = random.Random(seed)
    first = date(FIRST_YEAR, 1, 1)
    days = (date(FIRST_YEAR + years, 1, 1) - first).days
    for kind, count in ENTITIES.items():
        for n in range(count):
            domain = {"binary": "binary_sensor", "weather": "weather"}.get(kind, "sensor")
            entity_id = f"{domain}.{kind}_{n:02d}"
            scale = rng.uniform(20, 2000)
            meter = rng.uniform(0, 5000)
            for offset in range(days):
                day = first + timedelta(days=offset)
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                season = 1 + 0.3 * math.cos(2 * math.pi * offset / 365.25)
                agg = Aggregate(start, start + timedelta(days=1), kind)
                agg.sample_count = (
                    rng.randint(200, 3000) if kind != "binary" else rng.randint(0, 90)
                )
                agg.coverage_seconds = 86400.0 if rng.random() > 0.02 else rng.uniform(3600, 86400)
                if kind in ("power", "energy", "numeric"):
                    mean = scale * season * rng.uniform(0.7, 1.3)
                    agg.avg_value = mean
                    agg.min_value = round(mean * rng.uniform(0.05, 0.6), 1)
                    agg.max_value = round(mean * rng.uniform(1.5, 4.0), 1)
                    agg.last_value = round(mean * rng.uniform(0.5, 1.5), 1)
                    if kind == "power":
                        agg.total_energy = mean * agg.coverage_seconds / 3.6e6
                    if kind == "energy":
                        growth = scale / 100 * season * rng.uniform(0.5, 1.5)
                        meter += growth
                        agg.avg_value = agg.min_value = agg.max_value = None
                        agg.last_value = round(meter, 3)
                        agg.total_energy = growth
                elif kind == "binary":
                    agg.state_changes = agg.sample_count
                    agg.on_seconds = float(rng.randint(0, 40000))
                    agg.last_state = rng.choice(("on", "off"))
                else:
                    agg.state_changes = rng.randint(0, 12)
                    agg.last_state = rng.choice(("sunny", "cloudy", "rainy", "partlycloudy"))
                    agg.attribute_means = {
                        "temperature": 10 + 12 * season * rng.uniform(0.6, 1.4),
                        "humidity": rng.uniform(40, 95),
                    }
                    agg.attribute_coverage = {"temperature": 86400.0, "humidity": 86400.0}
                yield Reading(
                    MEASUREMENT, agg.to_fields(), start, {"entity_id": entity_id, "kind": kind}
                )


def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": value, "unit": unit, "target": target, "better": better}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 years instead of 6")
    parser.add_argument("--target", choices=("local", "moto"), default="local")
    args = parser.parse_args(argv)
    years = 2 if args.quick else 6

    _prepare_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from enrich.influx import RetentionTier, get_timeseries
    from enrich.redis.client import get_redis
    from retention.archive import format as fmt
    from retention.archive.local import LocalStorage
    from retention.archive.restore import restore_from_archive, restore_to_influxdb
    from retention.archive.run import run_archive
    from retention.archive.s3 import S3Storage
    from retention.models import ArchiveObject
    from retention.schema import DAILY_RP
    from retention.tiers.layout import expand

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    SQLITE.unlink(missing_ok=True)
    shutil.rmtree(ARCHIVE_DIR, ignore_errors=True)
    ts = get_timeseries()
    server = None
    try:
        call_command("migrate", verbosity=0)
        ts.create_database(
            TIER_DATABASE,
            tiers=[RetentionTier("enrich_hourly", "INF"), RetentionTier(DAILY_RP, "INF")],
        )
        ts.create_database(ENRICH_DATABASE)
        if args.target == "moto":
            from moto.server import ThreadedMotoServer

            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            storage = S3Storage(
                "bench-archive", endpoint_url=f"http://{host}:{port}", access_key="bench",
                secret_key="bench",
            )  # fmt: skip
            storage._client.create_bucket(Bucket="bench-archive")
        else:
            storage = LocalStorage(ARCHIVE_DIR)

        readings = list(generate(years))
        ts.write(TIER_DATABASE, readings, retention_policy=DAILY_RP, batch_size=10000)
        rows = len(readings)
        print(f"{rows} daily rows of {sum(ENTITIES.values())} entities over {years} years written")

        # Every generated year is closed and older than RETENTION_DAILY_DAYS on this day.
        now = datetime(FIRST_YEAR + years, 1, 2, tzinfo=UTC) + timedelta(
            days=settings.RETENTION_DAILY_DAYS
        )
        began = time.perf_counter()
        report = run_archive(now, storage=storage)
        archive_seconds = time.perf_counter() - began
        objects = list(ArchiveObject.objects.order_by("start_date"))
        archive_bytes = sum(o.file_size for o in objects)

        year = FIRST_YEAR + years - 1
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            table = restore_from_archive(date(year, 1, 1), date(year, 12, 31), storage=storage)
            timings.append(time.perf_counter() - began)
        # As enrich's readers see a row: with the fields the tiers leave out put back (restore
        # puts them back too: a power row's total_energy, gap_count 0, ...).
        expected = sorted(
            (
                {"time": r.time, **r.tags, **expand(DAILY_RP, r.fields, r.tags["kind"])}
                for r in readings
                if r.time.year == year
            ),
            key=fmt.sort_key,
        )
        last = date(FIRST_YEAR + years - 1, 12, 31)
        first = last - timedelta(days=settings.RETENTION_MAX_RANGE_DAYS - 1)
        began = time.perf_counter()
        restored = restore_to_influxdb(first, last, storage=storage)
        restore_max_range_seconds = time.perf_counter() - began
        range_rows = sum(1 for r in readings if first <= r.time.date() <= last)
        zstd_bytes = sum(
            len(fmt.to_parquet(fmt.from_parquet(storage.get(o.key)), "zstd")) for o in objects
        )

        checks = {
            "archive run ok": report.status == "ok" and not report.errors,
            "every row archived": sum(o.record_count for o in objects) == rows,
            "every row deleted from InfluxDB": report.records_deleted == rows,
            "restored year equals generated year": fmt.table_rows(table) == expected,
            "every row of the longest API range restored into InfluxDB": (
                restored.records == range_rows
            ),
        }
        figures = {
            "bytes_per_row": figure(round(archive_bytes / rows, 2), "B/row", None, "lower"),
            "objects_per_year": figure(
                round(len(objects) / years, 2), "objects/year", None, "lower"
            ),
            "restore_seconds_per_year": figure(round(min(timings), 4), "s", None, "lower"),
            "restore_max_range_seconds": figure(
                round(restore_max_range_seconds, 3), "s", None, "lower"
            ),
            "archive_seconds": figure(round(archive_seconds, 3), "s", None, "lower"),
            "bytes_per_row_zstd": figure(round(zstd_bytes / rows, 2), "B/row", None, "lower"),
        }
        params = {
            "entities": sum(ENTITIES.values()),
            "kinds": ENTITIES,
            "years": years,
            "rows": rows,
            "target": args.target,
            "compression": settings.ARCHIVE_COMPRESSION,
            "period": settings.ARCHIVE_PERIOD,
            "object_sizes": [o.file_size for o in objects],
            "restore_range": f"{first}..{last}",
            "restore_range_rows": range_rows,
            "restore_range_objects": len(restored.objects),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps({"name": "archive", "params": params, "figures": figures}, indent=2)
        )
        print(f"{'figure':<26}{'value':>12}  unit")
        for name, fig in figures.items():
            print(f"{name:<26}{fig['value']:>12}  {fig['unit']}")
        print("objects:", ", ".join(f"{o.key} ({o.file_size} B)" for o in objects))
        for name, ok in checks.items():
            print(f"{'ok  ' if ok else 'FAIL'} {name}")
        print(f"written {RESULTS.relative_to(ROOT)}")
        return 0 if all(checks.values()) else 1
    finally:
        if server is not None:
            server.stop()
        for name in DATABASES:
            ts.drop_database(name)
        redis = get_redis()
        for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
            redis.delete(key)
        connections.close_all()
        SQLITE.unlink(missing_ok=True)
        shutil.rmtree(ARCHIVE_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
