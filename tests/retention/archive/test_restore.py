"""Restore from the archive: exactly the objects covering a range are downloaded, exactly the
rows in range come back, value for value; re-import into InfluxDB by function and command."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from enrich.influx import connect, get_timeseries
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError, VerificationError
from retention.archive.reader import MEASUREMENT
from retention.archive.restore import restore_from_archive, restore_to_influxdb
from retention.archive.run import run_archive
from retention.models import ArchiveObject, RetentionRun
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, read_rows
from tests.retention.conftest import HaDatabase
from tests.support.archive import BUCKET, Recording, as_rows, daily_rows, read_back
from tests.support.archived import archived_once

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, tzinfo=UTC)  # 2022..2024 are closed years
YEARS = {2022: "archives/2022/data_2022-01-01.parquet", 2023: "archives/2023/data_2023-01-01.parquet",
         2024: "archives/2024/data_2024-01-01.parquet"}  # fmt: skip


@pytest.fixture
def archived(tier, s3):
    def archive():
        readings = daily_rows(5, date(2022, 1, 1), 366 + 365 + 365)  # 2022 .. 2024 (leap year)
        tier.write(readings)
        report = run_archive(NOW)
        assert [o["key"] for o in report.objects] == list(YEARS.values()) and tier.rows() == []
        return as_rows(readings)

    return archived_once(archive, tier, s3)  # made once, then planted (tests/support/archived.py)


def in_range(rows: list[dict], start: date, end: date) -> list[dict]:
    return [r for r in rows if start <= r["time"].date() <= end]


@pytest.mark.parametrize(
    "start, end, keys",
    [
        (date(2023, 3, 10), date(2023, 3, 20), [YEARS[2023]]),
        (date(2022, 12, 31), date(2023, 1, 1), [YEARS[2022], YEARS[2023]]),
        (date(2022, 6, 1), date(2024, 2, 29), list(YEARS.values())),
        (date(2024, 2, 29), date(2024, 2, 29), [YEARS[2024]]),
    ],
)
def test_restore_downloads_exactly_the_covering_objects_and_returns_the_rows_in_range(
    archived, s3, start, end, keys
):
    storage = Recording(s3.storage())
    table = restore_from_archive(start, end, storage=storage)
    assert storage.keys("get") == keys
    assert [m for m, _ in storage.calls] == ["get"] * len(keys)  # nothing else asked
    assert fmt.table_rows(table) == in_range(archived, start, end)  # value for value
    assert table.num_rows == 5 * ((end - start).days + 1)


def test_restore_of_a_range_nothing_covers_downloads_nothing(archived, s3):
    storage = Recording(s3.storage())
    table = restore_from_archive("2019-01-01", "2021-12-31", storage=storage)
    assert table.num_rows == 0 and storage.calls == []
    assert table.column_names[:3] == ["time", "entity_id", "kind"]


def test_restore_refuses_a_damaged_object(archived, s3):
    s3.client().put_object(Bucket=BUCKET, Key=YEARS[2023], Body=b"PAR1 damaged")
    with pytest.raises(VerificationError, match="does not match its recorded SHA-256"):
        restore_from_archive("2023-01-01", "2023-01-31")


def test_restore_rejects_bad_ranges(archived):
    with pytest.raises(ValueError, match="is before start_date"):
        restore_from_archive("2023-02-01", "2023-01-01")
    with pytest.raises(
        ValueError, match="start_date 'yesterday' is not valid: expected a date as YYYY-MM-DD"
    ):
        restore_from_archive("yesterday", "2023-01-01")
    with pytest.raises(ValueError, match=r"^2199-01-01 is after today \(20"):
        restore_from_archive("2199-01-01", "2199-01-31")
    with pytest.raises(ValueError, match="the archive holds past days only"):
        restore_to_influxdb("2199-01-01", "2199-01-31")
    assert not RetentionRun.objects.filter(operation=RetentionRun.Operation.RESTORE).exists()


def test_round_trip_into_the_restore_database(archived, tier):
    report = restore_to_influxdb("2023-05-01", "2024-01-31")
    expected = in_range(archived, date(2023, 5, 1), date(2024, 1, 31))
    assert report.database == tier.restore_database and report.records == len(expected)
    assert report.objects == [YEARS[2023], YEARS[2024]]
    assert read_back(tier.restore_database) == expected  # archived rows == restored rows
    # Field types survive too: counts stay integers, measures floats, states strings.
    types = get_timeseries().field_keys(tier.restore_database, MEASUREMENT)
    assert types["sample_count"] == "integer" and types["avg_value"] == "float"
    assert types["last_state"] == "string" and types["temperature_mean"] == "float"
    run = RetentionRun.objects.get(pk=report.run_id)
    assert (run.operation, run.status, run.records_processed) == ("restore", "ok", len(expected))
    assert run.range_start == datetime(2023, 5, 1, tzinfo=UTC)
    assert run.duration_seconds > 0


def test_a_restore_holds_the_python_rows_of_one_file_at_a_time(archived, tier, monkeypatch):
    """A row is some 3 KB of Python objects once expanded: a range's rows are expanded file by
    file and made into readings a batch at a time, not all at once (a year of a home of 200
    entities is some 250 MB so)."""
    from retention.archive import restore

    held = []
    table_rows = fmt.table_rows

    def counted(table):
        rows = table_rows(table)
        held.append(len(rows))
        return rows

    monkeypatch.setattr(fmt, "table_rows", counted)
    monkeypatch.setattr(restore, "READING_BATCH_ROWS", 100, raising=False)
    report = restore_to_influxdb("2022-01-01", "2024-12-31")
    assert report.records == len(archived) == 5 * (366 + 365 + 365)
    assert max(held) <= 366 * 5  # the rows of the largest file, of 2024 (before: all of them)
    assert read_back(tier.restore_database) == archived


def test_the_report_counts_the_days_restored_apart_from_the_days_asked(archived, tier, capsys):
    # The archive starts on 2022-01-01: of the 5 days asked, 2 hold rows (5 entities each).
    report = restore_to_influxdb("2021-12-29", "2022-01-02")
    assert (report.records, report.days) == (10, 2)  # before: 5, the days asked
    assert report.days_asked == 5
    details = RetentionRun.objects.get(pk=report.run_id).details
    # Before: "days": 5 beside "records": 10, as if five days had been restored.
    assert (details["records"], details["days"], details["days_asked"]) == (10, 2, 5)
    nothing = restore_to_influxdb("2021-01-01", "2021-01-31")
    assert (nothing.records, nothing.days, nothing.days_asked) == (0, 0, 31)

    call_command("restore_from_archive", "2021-12-29", "2022-01-02")
    out = capsys.readouterr().out
    assert "the archive held rows for 2 of the 5 days asked" in out


def test_a_restore_no_indexed_file_covers_says_to_index_the_archive(
    archived, tier, capsys, tmp_path, caplog
):
    """After losing enrich's database, or its coming back from a backup older than the last
    archive run (docs/storage.md, Restore), the archive's files are in the store but not in its
    index: the command said "0 rows ... from 0 archive files" and a hint that did not tell
    whether any file was there, and a restore queued by the API ended ok with 0 records and
    not a word of why. Each names the files the index lacks and the command that indexes them."""
    ArchiveObject.objects.all().delete()
    unindexed = (
        f"{YEARS[2022]} (2022-01-01..2022-12-31) is in the archive store but not in its index "
        "(no ArchiveObject row: the database may have come back from a backup older than the "
        "archive run that wrote it); its rows of 2022-02-01..2022-02-28 were not restored. Run "
        "manage.py rebuild_archive_index and restore again."
    )
    call_command("restore_from_archive", "2022-02-01", "2022-02-28")
    out = capsys.readouterr().out
    assert out == (
        "0 rows of 2022-02-01..2022-02-28 from 0 archive files written to InfluxDB database "
        f"'{tier.restore_database}' (measurement entity_aggregates); the archive held rows for "
        f"0 of the 28 days asked. {unindexed}\n"
    )
    target = tmp_path / "feb.parquet"
    call_command("restore_from_archive", "2022-02-01", "2022-02-28", "--output", str(target))
    out = capsys.readouterr().out
    assert out.startswith(
        f"0 rows of 2022-02-01..2022-02-28 from 0 archive files written to {target};"
    )
    assert out.endswith(f" asked. {unindexed}\n")
    report = restore_to_influxdb("2022-02-01", "2022-02-28")  # what the API's queued restore runs
    assert RetentionRun.objects.get(pk=report.run_id).details["unindexed"] == unindexed
    caplog.set_level("WARNING", logger="retention.archive.restore")
    assert restore_from_archive("2022-02-01", "2022-02-28").num_rows == 0
    said = [r.getMessage() for r in caplog.records if r.name == "retention.archive.restore"]
    assert said == [f"restore: {unindexed}"]
    # Days no file covers, indexed or not: none was archived there, and it says so.
    call_command("restore_from_archive", "2021-01-01", "2021-01-31")
    out = capsys.readouterr().out
    assert out.startswith("0 rows of 2021-01-01..2021-01-31 from 0 archive files written"), out
    assert out.endswith(
        " (no archive file covers these days, in the index or in the archive store)\n"
    )
    call_command("rebuild_archive_index")
    capsys.readouterr()
    call_command("restore_from_archive", "2022-02-01", "2022-02-28")
    out = capsys.readouterr().out
    assert "140 rows of 2022-02-01..2022-02-28 from 1 archive file" in out
    assert out.endswith("the archive held rows for 28 of the 28 days asked\n")


def test_the_command_restores_a_range_longer_than_a_request_may_ask(
    archived, tier, settings, capsys
):
    """docs/storage.md: the POST takes at most RETENTION_MAX_RANGE_DAYS days; the command
    restores a range of any length and refuses one starting after today, as the POST does."""
    settings.RETENTION_MAX_RANGE_DAYS = 400
    call_command("restore_from_archive", "2022-01-01", "2024-12-31")  # 1,096 days
    assert "the archive held rows for 1,096 of the 1,096 days asked" in capsys.readouterr().out
    assert len(read_back(tier.restore_database)) == len(archived)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with pytest.raises(CommandError, match=rf"^{tomorrow} is after today \("):
        call_command("restore_from_archive", str(tomorrow), str(tomorrow))


def test_restore_never_writes_into_the_tier_database(archived, tier):
    with pytest.raises(ValueError, match="restore into another database"):
        restore_to_influxdb("2023-01-01", "2023-01-31", tier.database)


def test_the_command_restores_into_influxdb_and_to_a_parquet_file(archived, tier, tmp_path, capsys):
    call_command("restore_from_archive", "2022-02-01", "2022-02-28")
    out = capsys.readouterr().out
    assert (
        "140 rows of 2022-02-01..2022-02-28 from 1 archive file written to InfluxDB database" in out
    )
    assert read_back(tier.restore_database) == in_range(
        archived, date(2022, 2, 1), date(2022, 2, 28)
    )

    target = tmp_path / "feb.parquet"
    call_command("restore_from_archive", "2022-02-01", "2022-02-28", "--output", str(target))
    assert capsys.readouterr().out == (
        f"140 rows of 2022-02-01..2022-02-28 from 1 archive file written to {target}; the archive "
        "held rows for 28 of the 28 days asked\n"
    )
    assert fmt.table_rows(fmt.from_parquet(target.read_bytes())) == in_range(
        archived, date(2022, 2, 1), date(2022, 2, 28)
    )
    no_such_day = r"start_date '2022-02-30' is not valid: expected a date that exists \(a day "
    with pytest.raises(CommandError, match=no_such_day + "of its month: February 2022 has days"):
        call_command("restore_from_archive", "2022-02-30", "2022-03-01")


def test_restore_from_the_local_directory(tier, local_archive):
    readings = daily_rows(2, date(2022, 1, 1), 365)
    tier.write(readings)
    run_archive(NOW)
    assert (local_archive / YEARS[2022]).is_file()
    table = restore_from_archive(date(2022, 1, 1), date(2022, 12, 31))
    assert fmt.table_rows(table) == as_rows(readings)


def test_restored_rows_convert_to_pandas(archived, s3):
    start, end = date(2023, 3, 1), date(2023, 3, 2)
    frame = restore_from_archive(start, end, storage=s3.storage()).to_pandas()
    expected = in_range(archived, start, end)
    assert len(frame) == len(expected) == 5 * 2
    assert sorted(zip(frame["entity_id"], frame["sample_count"], strict=True)) == sorted(
        (row["entity_id"], row["sample_count"]) for row in expected
    )


def test_restore_gives_back_the_fields_the_tiers_leave_out_of_their_rows(tier, s3):
    """The tiers store a row without what a reader derives (a power row's total_energy, a
    meter's max_value equal to its last reading, gap_count 0, a weather attribute's coverage
    equal to the row's) and the archive keeps the rows so. Restored, those fields were missing:
    a year of a fridge restored into InfluxDB had no kWh at all."""
    ha = HaDatabase(tier.database)
    start = datetime(2022, 3, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    ha.saved_entity("official", "sensor.fridge_power", [(start, 100), (start + 6 * hour, 300)],
                    unit="W")  # fmt: skip
    ha.saved_entity("official", "sensor.fridge_energy", [(start, 1.0), (start + 6 * hour, 3.0)],
                    unit="kWh")  # fmt: skip
    ha.saved_entity("official", "weather.home", [(start, "sunny", {"temperature": 12.5})])
    first, end = start.date(), start.date() + timedelta(days=2)
    for run in (tiers.downsample_hourly(first, end), tiers.downsample_daily(first, end)):
        assert (run.status, run.errors) == ("ok", "")
    days = read_rows(DAILY_RP, start, start + timedelta(days=2))  # as enrich reads them
    assert days["sensor.fridge_power"][0].fields["total_energy"] == pytest.approx(6.0)
    assert run_archive(NOW).errors == [] and tier.rows() == []

    def rows(found) -> dict:
        return {(r["entity_id"], r["time"]): r for r in found}

    table = rows(fmt.table_rows(restore_from_archive(first, end)))
    report = restore_to_influxdb(first, end)
    restored = rows(read_back(tier.restore_database))
    assert report.records == len(table) == len(restored) == 6
    for entity_id, day_rows in days.items():
        for row in day_rows:
            want = {"time": row.start, "entity_id": entity_id, "kind": row.kind, **row.fields}
            assert table[(entity_id, row.start)] == want
            assert restored[(entity_id, row.start)] == want


def test_a_meters_first_reading_time_survives_the_archive_and_a_restore(tier, s3):
    """The daily row of the day a meter was first read times that reading (06:15, its day
    counting from then in daily_energy_by_device): archived and restored, it is kept, a float
    in InfluxDB as the tiers write it."""
    ha = HaDatabase(tier.database)
    start = datetime(2022, 3, 1, tzinfo=UTC)
    first_read = start + timedelta(hours=6, minutes=15)
    ha.saved_entity("ingestor", "sensor.kettle_energy", [(first_read, 1.0),
        (first_read + timedelta(minutes=1), "unavailable"), (start + timedelta(hours=20), 2.2)],
        unit="kWh", kind="energy")  # fmt: skip
    first, end = start.date(), start.date() + timedelta(days=1)
    for run in (tiers.downsample_hourly(first, end), tiers.downsample_daily(first, end)):
        assert (run.status, run.errors) == ("ok", "")
    assert run_archive(NOW).errors == [] and tier.rows() == []

    [row] = fmt.table_rows(restore_from_archive(first, end))
    restore_to_influxdb(first, end)
    [restored] = read_back(tier.restore_database)

    assert row["first_reading_time"] == restored["first_reading_time"] == 1646115300.0
    types = get_timeseries().field_keys(tier.restore_database, MEASUREMENT)
    assert types["first_reading_time"] == "float"


def test_a_restored_table_has_the_columns_of_the_archive_files_in_their_order(tier, s3):
    """The fields put back (a weather attribute's coverage seconds) were appended in a set's
    order, which changes from one process to the next: the same range restored twice with
    --output gave files whose columns differed in order."""
    ha = HaDatabase(tier.database)
    start = datetime(2022, 3, 1, tzinfo=UTC)
    attributes = {"temperature": 12.5, "humidity": 80, "pressure": 1013.0, "wind_speed": 9.0}
    ha.saved_entity("official", "weather.home", [(start, "sunny", attributes)])
    first, end = start.date(), start.date() + timedelta(days=2)
    for run in (tiers.downsample_hourly(first, end), tiers.downsample_daily(first, end)):
        assert (run.status, run.errors) == ("ok", "")
    assert run_archive(NOW).errors == []

    names = restore_from_archive(first, end).column_names

    fixed = ["time", "entity_id", "kind", *fmt.KNOWN_FIELDS]
    others = names[len(fixed) :]
    assert names[: len(fixed)] == fixed and others == sorted(others)
    assert {f"{name}_coverage_seconds" for name in attributes} <= set(others)


def test_the_command_refuses_options_it_would_ignore(archived, tier, tmp_path):
    target = tmp_path / "feb.parquet"
    # Before: --database was dropped without a word and the file written.
    with pytest.raises(CommandError) as refused:
        call_command("restore_from_archive", "2022-02-01", "2022-02-28",
                     "--output", str(target), "--database", "enrich_restore")  # fmt: skip
    said = str(refused.value)
    assert "--database 'enrich_restore'" in said and "--output" in said
    assert "exclude each other" in said
    assert not target.exists()
    # Before: --force without --output restored into InfluxDB as if it were not given.
    with pytest.raises(CommandError, match="--force replaces an --output file"):
        call_command("restore_from_archive", "2022-02-01", "2022-02-28", "--force")
    assert read_back(tier.restore_database) == []


def _hidden_after_writes(tier, proxy, times: int) -> list[int]:
    """Each of the first `times` writes InfluxDB accepts through the proxy is followed by a
    week of the restored rows leaving the restore database (as Debian's InfluxDB 1.6 has been
    seen answering 204 and then showing none of a shard's points); the writes seen, counted."""
    real = connect(tier.url)  # InfluxDB itself, not through the proxy
    seen = []

    def hide_a_week() -> None:
        seen.append(1)
        if len(seen) <= times and tier.restore_database in real.databases():
            real.delete(tier.restore_database, HIDDEN[0], HIDDEN[1], measurement=MEASUREMENT)

    proxy.on_write = hide_a_week
    return seen


HIDDEN = (datetime(2023, 10, 23, tzinfo=UTC), datetime(2023, 10, 30, tzinfo=UTC))


def test_rows_influxdb_accepted_but_does_not_show_are_written_again(archived, tier, proxy):
    _hidden_after_writes(tier, proxy, times=1)
    report = restore_to_influxdb("2022-01-01", "2024-12-31")
    assert report.records == len(archived)
    assert read_back(tier.restore_database) == archived  # the hidden week written again


def test_a_restore_whose_rows_stay_unshown_fails_saying_so(archived, tier, proxy):
    seen = _hidden_after_writes(tier, proxy, times=100)
    with pytest.raises(ArchiveError) as failed:
        restore_to_influxdb("2022-01-01", "2024-12-31")
    assert len(seen) == 2 + 2  # two batches of rows, each week written again twice
    assert str(failed.value) == (
        f"InfluxDB accepted the 5,480 rows restored into {tier.restore_database!r} but does not "
        "show 35 of them (from 2023-10-23) after they were written 2 times more; restart "
        "influxd and restore the range again (rows written twice overwrite themselves)."
    )
    run = RetentionRun.objects.get(operation="restore")
    assert run.status == "failed" and "does not show 35 of them" in run.errors
