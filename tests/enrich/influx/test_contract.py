"""Contract of `enrich.influx`: what every caller may rely on, for InfluxDB 1.x and 2.x.

Runs against the InfluxDB named by INFLUXDB_URL / INFLUXDB_VERSION (see conftest.py), each
test in its own database.
"""

import os
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from enrich.influx import (
    InfluxQueryError,
    InfluxUnavailable,
    InfluxVersionMismatch,
    InfluxWriteError,
    RetentionConflict,
    RetentionTier,
    TimeSeries,
    UnsafeDelete,
    connect,
    get_timeseries,
    quote_ident,
    reset_timeseries,
)
from enrich.readings import Reading
from tests.enrich.conftest import influx_options
from tests.support.ports import free_port

pytestmark = pytest.mark.influxdb

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)  # microseconds on purpose


def count(ts: TimeSeries, database: str, measurement: str, **kwargs) -> int:
    q = f"SELECT count(*) FROM {quote_ident(measurement)}"
    rows = list(ts.query(database, q, **kwargs))
    return max(rows[0].values.values()) if rows else 0


def recent_hour() -> datetime:
    """A time inside any short retention tier (points older than a tier are dropped)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def poll(condition, seconds: float = 15.0):
    """Call `condition` until it returns something truthy, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


# --- Version ------------------------------------------------------------------------------
def test_ping_reports_the_server_version_and_check_version_accepts_it(ts):
    version = ts.ping()
    assert version.lstrip("v").startswith(f"{ts.version}.")
    ts.check_version()


def test_check_version_names_both_versions_when_settings_disagree(ts):
    options = influx_options()
    other = "2" if ts.version == "1" else "1"
    wrong = connect(options["url"], other, timeout=5, token="t", org="o")
    with pytest.raises(InfluxVersionMismatch) as error:
        wrong.check_version()
    message = str(error.value)
    assert f"INFLUXDB_VERSION={other}" in message
    assert ts.ping() in message
    assert f"Set INFLUXDB_VERSION={ts.version}" in message


# --- Write and read -----------------------------------------------------------------------
def test_round_trip_keeps_tags_field_types_and_exact_timestamps(ts, database):
    # A backslash in a tag is kept as written: InfluxDB unescapes only \, \= and "\ ".
    tags = {"entity_id": "living room, east=1", "quote": 'say "hi"', "plain": "x",
            "path": "C:\\temp\\x", "two": "a\\\\b"}  # fmt: skip
    fields = {
        "float": 21.375,
        "tiny": 1e-300,
        "int": 2**62 + 1,
        "negative": -7,
        "on": True,
        "off": False,
        "text": 'a "quoted", spaced = string\\with backslash',
    }
    readings = [
        Reading("sensor state", fields, T0 + timedelta(microseconds=i), tags) for i in range(3)
    ]
    assert ts.write(database, readings) == 3

    rows = list(ts.query(database, 'SELECT * FROM "sensor state" GROUP BY *'))

    assert [r.time_ns for r in rows] == [r.time_ns for r in readings]
    assert [r.time for r in rows] == [r.time for r in readings]
    for row in rows:
        assert row.measurement == "sensor state"
        assert row.tags == tags
        assert row.values == fields
        for key, value in fields.items():
            assert type(row.values[key]) is type(value), key
        assert row.time.tzinfo is not None and row.time.utcoffset() == timedelta(0)


def test_field_names_with_quotes_and_backslashes_are_stored_as_written(ts, database):
    # Weather attributes become fields of the tier rows under their own names. InfluxDB
    # unescapes \" in a field name too: 'q\\\\"x' (two backslashes, a quote) was stored as
    # 'q\\"x', and the tiers' verification failed on every run ("reads back differently").
    fields = {'q\\\\"x': 1.0, 'a"b': 2.0, "two\\\\ spaced, eq=": 3.0, "e\\f": 4.0, "plain": 5.0}
    ts.write(database, [Reading("weather", fields, T0)])
    assert ts.field_keys(database, "weather").keys() == fields.keys()
    [row] = ts.query(database, 'SELECT * FROM "weather"')
    assert row.values == fields


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Heat\npump", "a line break"),
        ("ends\\", "a backslash at its end"),
        ("a\\ b", "an odd number of backslashes before a comma, '=' or a space"),
        ("a\\\\\\=b", "an odd number of backslashes before a comma, '=' or a space"),
    ],
)
def test_a_field_name_line_protocol_cannot_carry_is_refused_naming_it(ts, database, name, why):
    # InfluxDB refused the point ("invalid number", "invalid field format") and wrote the
    # rest of the batch: a tier run failed with its parse error, half written.
    good = Reading("weather", {"temperature": 1.0}, T0)
    bad = Reading("weather", {name: 2.0}, T0 + timedelta(seconds=1))
    with pytest.raises(InfluxWriteError) as error:
        ts.write(database, [good, bad])
    assert f"the field {name!r} cannot be written" in str(error.value)
    assert why in str(error.value)
    assert count(ts, database, "weather") == 0  # the batch, good point too, was not sent


def test_writing_the_same_points_again_overwrites_them(ts, database):
    readings = [
        Reading("power", {"w": float(i)}, T0 + timedelta(minutes=i), {"circuit": "a"})
        for i in range(50)
    ]
    assert ts.write(database, readings, batch_size=7) == 50
    assert ts.write(database, readings, batch_size=7) == 50
    assert count(ts, database, "power") == 50

    ts.write(database, [Reading("power", {"w": 999.5}, T0, {"circuit": "a"})])
    first = next(ts.query(database, 'SELECT "w" FROM "power" LIMIT 1'))
    assert first.values["w"] == 999.5
    assert count(ts, database, "power") == 50


def test_chunked_query_streams_100k_points_each_exactly_once_in_order(ts, database):
    n = 120_000
    written = ts.write(
        database,
        (Reading("bulk", {"v": i}, T0 + timedelta(seconds=i)) for i in range(n)),
        batch_size=10_000,
    )
    assert written == n

    rows = ts.query(database, 'SELECT "v" FROM "bulk"', chunk_size=10_000)
    first = next(rows)
    # The first row is available after one chunk of twelve: the rest is still unread.
    assert rows.chunks == 1
    assert first.values["v"] == 0

    total, seen, last_ns = 0, 1, first.time_ns
    for row in rows:
        assert row.values["v"] == seen  # in order, none missing, none twice
        assert row.time_ns > last_ns
        total += row.values["v"]
        seen += 1
        last_ns = row.time_ns
    assert seen == n
    assert total == n * (n - 1) // 2
    assert rows.chunks >= n // 10_000


def test_bound_parameters_carry_quotes_and_exact_times(ts, database):
    awkward = 'it\'s "odd" ; DROP DATABASE x'
    ts.write(
        database,
        [
            Reading("power", {"w": 1.0}, T0, {"circuit": awkward}),
            Reading("power", {"w": 2.0}, T0 + timedelta(microseconds=1), {"circuit": awkward}),
            Reading("power", {"w": 3.0}, T0, {"circuit": "other"}),
        ],
    )
    q = 'SELECT "w" FROM "power" WHERE "circuit" = $circuit AND time > $after'
    rows = list(ts.query(database, q, params={"circuit": awkward, "after": T0}))
    assert [(r.values["w"], r.time) for r in rows] == [(2.0, T0 + timedelta(microseconds=1))]
    assert database in ts.databases()


def test_listings_of_measurements_tags_and_fields(ts, database):
    ts.write(
        database,
        [
            Reading("power", {"w": 1.5, "count": 3}, T0, {"circuit": "oven, main", "phase": "L1"}),
            Reading("power", {"w": 2.5, "count": 4}, T0, {"circuit": "dryer", "phase": "L2"}),
            Reading("state", {"on": True, "label": "x"}, T0, {"entity_id": "light.kitchen"}),
        ],
    )
    assert ts.measurements(database) == ["power", "state"]
    assert ts.tag_keys(database, "power") == ["circuit", "phase"]
    assert ts.tag_values(database, "power", "circuit") == ["dryer", "oven, main"]
    assert ts.field_keys(database, "power") == {"count": "integer", "w": "float"}
    assert ts.field_keys(database, "state") == {"label": "string", "on": "boolean"}


# --- Delete -------------------------------------------------------------------------------
def test_delete_removes_exactly_the_window_start_inclusive_end_exclusive(ts, database):
    odd = 'o\'clock "x"'
    series = [("power", "a"), ("power", odd), ("energy", "a")]
    ts.write(
        database,
        [
            Reading(m, {"v": float(k)}, T0 + timedelta(minutes=k), {"circuit": c})
            for m, c in series
            for k in range(10)
        ],
    )

    def remaining() -> dict[tuple[str, str], list[int]]:
        result = {}
        for m in ("power", "energy"):
            for row in ts.query(database, f'SELECT "v" FROM "{m}" GROUP BY "circuit"'):
                result.setdefault((m, row.tags["circuit"]), []).append(int(row.values["v"]))
        return result

    # One measurement, one tag value (with quotes): minutes 3, 4, 5 go, 6 stays.
    ts.delete(
        database,
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=6),
        measurement="power",
        tags={"circuit": odd},
    )
    kept = [0, 1, 2, 6, 7, 8, 9]
    assert remaining() == {
        ("power", "a"): list(range(10)),
        ("power", odd): kept,
        ("energy", "a"): list(range(10)),
    }

    # One measurement, every series.
    ts.delete(database, T0, T0 + timedelta(minutes=1), measurement="energy")
    # The whole database; the point exactly at `end` (minute 9) stays.
    ts.delete(database, T0 + timedelta(minutes=8), T0 + timedelta(minutes=9))
    assert remaining() == {
        ("power", "a"): [0, 1, 2, 3, 4, 5, 6, 7, 9],
        ("power", odd): [0, 1, 2, 6, 7, 9],
        ("energy", "a"): [1, 2, 3, 4, 5, 6, 7, 9],
    }


def test_delete_in_one_retention_policy_never_touches_another(ts, database):
    ts.create_database(database, [RetentionTier("hourly", "30d")])
    t = recent_hour()
    point = Reading("power", {"w": 1.0}, t, {"circuit": "a"})
    ts.write(database, [point])
    ts.write(database, [point], retention_policy="hourly")
    only_hourly = Reading("hourly_only", {"w": 2.0}, t)
    ts.write(database, [only_hourly], retention_policy="hourly")
    window = (t - timedelta(minutes=1), t + timedelta(minutes=1))

    if ts.version == "1":
        # 1.x DELETE spans all retention policies: refuse rather than delete too much.
        with pytest.raises(UnsafeDelete, match="every retention policy"):
            ts.delete(database, *window, measurement="power", retention_policy="hourly")
        assert count(ts, database, "power", retention_policy="hourly") == 1
    else:
        ts.delete(database, *window, measurement="power", retention_policy="hourly")
        assert count(ts, database, "power", retention_policy="hourly") == 0
    assert count(ts, database, "power") == 1

    # Nothing of it elsewhere: every version deletes it.
    ts.delete(database, *window, measurement="hourly_only", retention_policy="hourly")
    assert count(ts, database, "hourly_only", retention_policy="hourly") == 0
    assert count(ts, database, "power") == 1


# --- Databases and tiers ------------------------------------------------------------------
def test_create_database_with_tiers_is_idempotent_and_guards_durations(ts, database):
    tiers = [
        RetentionTier("raw", "7d", default=True),
        RetentionTier("hourly", "2160h"),
        RetentionTier("daily", "INF"),
    ]
    expected = {
        "autogen": ("INF", False),
        "raw": ("7d", True),
        "hourly": ("90d", False),
        "daily": ("INF", False),
    }
    ts.create_database(database, tiers)
    ts.create_database(database, tiers)  # again: nothing changes, no error
    assert {t.name: (t.duration, t.default) for t in ts.retention_policies(database)} == expected
    if ts.version == "1":
        shown = ts.query(database, f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
        durations = {row.values["name"]: row.values["duration"] for row in shown}
        assert durations == {
            "autogen": "0s",
            "raw": "168h0m0s",
            "hourly": "2160h0m0s",
            "daily": "0s",
        }

    with pytest.raises(RetentionConflict, match="'hourly'.*90d.*30d"):
        ts.create_database(database, [RetentionTier("hourly", "30d")])
    ts.create_database(database, [RetentionTier("hourly", "30d")], alter=True)
    assert {t.name: t.duration for t in ts.retention_policies(database)}["hourly"] == "30d"


def test_an_implicit_autogen_leaves_the_default_a_database_has(ts, database):
    """A database whose default policy is its own (Home Assistant's `WITH DURATION 30d NAME
    ha30`, no autogen) keeps it: the autogen added beside it is no default, so what is written
    without a policy still lands in ha30."""
    ts.create_database(database, [RetentionTier("ha30", "30d", default=True)])
    if ts.version == "1":
        ts.execute(None, f"DROP RETENTION POLICY autogen ON {quote_ident(database)}")
    ts.create_database(database)
    shown = {t.name: (t.duration, t.default) for t in ts.retention_policies(database)}
    assert shown == {"autogen": ("INF", False), "ha30": ("30d", True)}


def test_a_tier_can_set_its_shard_group_duration(ts, database):
    tiers = [RetentionTier("daily", "INF", shard_duration="52w"), RetentionTier("plain", "INF")]
    ts.create_database(database, tiers)
    if ts.version == "1":
        shown = ts.query(database, f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
        shards = {row.values["name"]: row.values["shardGroupDuration"] for row in shown}
        assert shards["daily"] == "8736h0m0s" and shards["plain"] == "168h0m0s"
    with pytest.raises(ValueError, match="shard_duration='INF': use a duration like 52w"):
        RetentionTier("daily", "INF", shard_duration="INF")


def test_a_malformed_tier_duration_is_refused_before_reaching_influxdb():
    with pytest.raises(ValueError, match="'7 days' is not a retention duration.*'7d'"):
        RetentionTier("weekly", "7 days")
    with pytest.raises(ValueError, match="not a retention duration"):
        RetentionTier("weekly", "7d; DROP DATABASE x")


def test_write_and_read_a_non_default_retention_policy(ts, database):
    ts.create_database(database, [RetentionTier("hourly", "30d")])
    t = recent_hour()
    readings = [Reading("power_mean", {"w": 10.0 + i}, t + timedelta(minutes=i)) for i in range(5)]
    assert ts.write(database, readings, retention_policy="hourly") == 5

    rows = list(ts.query(database, 'SELECT "w" FROM "power_mean"', retention_policy="hourly"))
    assert [(r.time, r.values["w"]) for r in rows] == [(r.time, r.fields["w"]) for r in readings]
    assert count(ts, database, "power_mean") == 0  # not in the default tier


def test_drop_database_removes_it_and_tolerates_a_missing_one(ts):
    name = f"test_ts_drop_{os.getpid()}_{time.monotonic_ns()}"
    ts.create_database(name)
    ts.write(name, [Reading("m", {"v": 1.0}, T0)])
    assert name in ts.databases()
    ts.drop_database(name)
    assert name not in ts.databases()
    ts.drop_database(name)


def test_sizes_reports_bytes_on_disk_that_grow_with_data(ts, database):
    key = (database, "autogen")
    ts.write(
        database, (Reading("bulk", {"v": float(i)}, T0 + timedelta(seconds=i)) for i in range(2000))
    )
    first = poll(lambda: ts.sizes().get(key, 0))
    assert first > 0, f"no size for {key} in {ts.sizes()}"

    ts.write(
        database,
        (Reading("bulk", {"v": float(i)}, T0 + timedelta(seconds=i)) for i in range(2000, 60_000)),
    )
    grown = poll(lambda: size if (size := ts.sizes().get(key, 0)) > first else 0)
    assert grown > first


# --- Errors -------------------------------------------------------------------------------
def test_a_bad_query_raises_with_the_servers_message_the_query_and_database(ts, database):
    with pytest.raises(InfluxQueryError) as error:
        ts.query(database, "SELECT FROM WHERE")
    assert "error parsing query" in error.value.server_message
    assert error.value.query == "SELECT FROM WHERE"
    assert error.value.database == database
    assert "error parsing query" in str(error.value) and database in str(error.value)


def test_a_field_type_conflict_raises_with_influxdbs_message(ts, database):
    ts.write(database, [Reading("power", {"w": 1.5}, T0)])
    with pytest.raises(InfluxWriteError) as error:
        ts.write(database, [Reading("power", {"w": "high"}, T0 + timedelta(seconds=1))])
    assert "conflict" in error.value.server_message
    assert "conflict" in str(error.value) and database in str(error.value)
    assert count(ts, database, "power") == 1


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Heat\npump", "a line break"),
        ("Heat\r\npump", "a line break"),
        ("Garage\\", "a backslash at its end"),
        ("C:\\ drive", "before a comma, '=' or a space"),
        ("a\\,b", "before a comma, '=' or a space"),
        ("a\\=b", "before a comma, '=' or a space"),
    ],
)
def test_a_tag_line_protocol_cannot_carry_is_refused_naming_it(ts, database, value, why):
    # InfluxDB refused the whole batch ("invalid tag format", "missing fields").
    good = Reading("power", {"w": 1.0}, T0, {"circuit": "Oven"})
    bad = Reading("power", {"w": 2.0}, T0, {"circuit": value})
    with pytest.raises(InfluxWriteError) as error:
        ts.write(database, [good, bad])
    assert f"the tag circuit={value!r} cannot be written" in str(error.value)
    assert why in str(error.value)
    assert count(ts, database, "power") == 0  # the batch, good point too, was not sent


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (Reading("power", {"w": 2.0}, datetime(1677, 9, 21, tzinfo=UTC)), "the time 1677-09-21"),
        (Reading("power", {"w": 2.0}, datetime(2262, 4, 12, tzinfo=UTC)), "the time 2262-04-12"),
        (Reading("power", {"w": 2.0}, datetime(9999, 1, 1, tzinfo=UTC)), "the time 9999-01-01"),
        (Reading("power", {"count": 2**63}, T0), "power.count: 9223372036854775808 is past"),
        (Reading("power", {"count": -(2**63) - 1}, T0), "power.count: -9223372036854775809"),
    ],
)
def test_a_time_or_integer_past_influxdbs_range_is_refused_naming_it(ts, database, bad, named):
    # InfluxDB stored the batch's other points and answered "partial write" about this one.
    good = Reading("power", {"w": 1.0}, T0 - timedelta(seconds=1))
    with pytest.raises(InfluxWriteError) as error:
        ts.write(database, [good, bad])
    assert named in str(error.value)
    assert count(ts, database, "power") == 0  # the batch, good point too, was not sent
    edges = [datetime(1677, 9, 21, 0, 12, 43, 145225, tzinfo=UTC), datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC)]  # fmt: skip
    ts.write(database, [Reading("edge", {"count": 2**63 - 1}, moment) for moment in edges])
    assert count(ts, database, "edge") == 2  # the range's ends are kept


def test_writing_to_a_missing_database_says_so(ts):
    missing = f"test_ts_missing_{time.monotonic_ns()}"
    with pytest.raises(InfluxWriteError, match=missing):
        ts.write(missing, [Reading("m", {"v": 1.0}, T0)])


def test_unreachable_influxdb_raises_unavailable_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    gateway = connect(url, "1", timeout=2)
    started = time.monotonic()
    for call in (
        gateway.ping,
        lambda: gateway.query("db", "SHOW MEASUREMENTS"),
        lambda: gateway.write("db", [Reading("m", {"v": 1.0}, T0)]),
    ):
        with pytest.raises(InfluxUnavailable) as error:
            call()
        assert url in str(error.value) and "INFLUXDB_URL" in str(error.value)
    assert time.monotonic() - started < 6


def test_a_server_that_never_answers_times_out_within_the_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts connections; nobody ever answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        gateway = connect(url, "1", timeout=1.0)
        started = time.monotonic()
        with pytest.raises(InfluxUnavailable) as error:
            gateway.ping()
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert url in str(error.value) and "within 1 s" in str(error.value)
    assert "INFLUXDB_TIMEOUT" in str(error.value)


# --- Settings -----------------------------------------------------------------------------
def test_get_timeseries_builds_from_settings_once_per_process(settings):
    options = influx_options()
    settings.INFLUXDB_URL = options["url"]
    settings.INFLUXDB_VERSION = options["version"]
    settings.INFLUXDB_USERNAME = options["username"]
    settings.INFLUXDB_PASSWORD = options["password"]
    settings.INFLUXDB_TOKEN = options["token"]
    settings.INFLUXDB_ORG = options["org"]
    settings.INFLUXDB_TIMEOUT = 3.0
    reset_timeseries()
    try:
        gateway = get_timeseries()
        assert get_timeseries() is gateway
        assert (gateway.url, gateway.version, gateway.timeout) == (
            options["url"].rstrip("/"),
            options["version"],
            3.0,
        )
        gateway.check_version()
    finally:
        reset_timeseries()


def test_a_write_to_a_database_influxdb_has_not_says_how_to_create_it(ts):
    # The first-run setup page showed "Create the database first (TimeSeries.create_database)":
    # a name in enrich's code, where the person setting up a home needs the command.
    missing = f"test_no_such_db_{os.getpid()}_{time.monotonic_ns()}"
    with pytest.raises(InfluxWriteError) as error:
        ts.write(missing, [Reading("power", {"w": 1.0}, T0)])
    said = str(error.value)
    assert f"to {missing!r} (HTTP 404)" in said, said
    assert (
        "Create the database first (`manage.py setup_influxdb`, which `make run` runs, creates "
        "the one INFLUXDB_DATABASE names)." in said
    ), said
    assert "TimeSeries" not in said
