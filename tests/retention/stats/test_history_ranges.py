"""GET /retention/history's `range_start` and `range_end` are the range a run was asked for
(docs/storage.md): a tier run's `start` and `end`, null where they were left out (the nightly
runs), whose days the run's details list; a restore's first and last day; an archive run's
first file's first day and its cutoff."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from retention.archive.restore import restore_to_influxdb
from retention.archive.run import run_archive
from tests.support.api import token_client
from tests.support.archive import daily_rows
from tests.support.doc_pages import ROOT

pytestmark = pytest.mark.django_db


def history_ranges() -> list[tuple[str, str | None, str | None]]:
    runs = token_client("ranges").get("/retention/history").json()["runs"]
    return [(r["operation_type"], r["range_start"], r["range_end"]) for r in reversed(runs)]


def test_a_tier_run_shows_the_range_it_was_asked_for_and_none_for_the_whole_range(ha_db):
    ha_db.saved_entity("official", "sensor.r_power", [(n * 600, n) for n in range(6)], unit="W")
    call_command("downsample_hourly", "--dry-run")  # as the nightly run: no start, no end
    call_command("downsample_hourly", "--dry-run", "--start", "2024-03-04", "--end", "2024-03-05")
    assert history_ranges() == [
        ("downsample_hourly", None, None),
        ("downsample_hourly", "2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z"),
    ]


def test_a_restore_shows_its_first_and_last_day(tier, local_archive):
    restore_to_influxdb(date(2023, 1, 1), date(2023, 1, 31))
    assert history_ranges() == [("restore", "2023-01-01T00:00:00Z", "2023-01-31T00:00:00Z")]


def test_an_archive_run_shows_its_first_files_first_day_and_its_cutoff(tier, local_archive):
    """The page said an archive run's `range_end` is null; it is the run's cutoff (the daily
    rows before it were due), a dry run's too."""
    tier.write(daily_rows(1, date(2022, 1, 1), 3))
    now = datetime(2025, 3, 15, 12, tzinfo=UTC)  # cutoff: RETENTION_DAILY_DAYS (365) before
    run_archive(now, dry_run=True)
    run_archive(now)
    cutoff = "2024-03-15T00:00:00Z"
    assert history_ranges() == [
        ("archive", None, cutoff),
        ("archive", "2022-01-01T00:00:00Z", cutoff),
    ]
    page = " ".join((ROOT / "docs" / "storage.md").read_text().split())
    said = page.split("`range_start` and `range_end`, the range the run was asked for:")[1]
    assert "an archive run's first file's first day (null when it writes none" in said
    assert "and its cutoff as `range_end`" in said.split("`count` and `truncated`")[0]


def test_the_storage_page_says_a_run_of_the_whole_range_has_no_range():
    page = " ".join((ROOT / "docs" / "storage.md").read_text().split())
    said = page.split("`range_start` and `range_end`, the range the run was asked for:")[1]
    assert said.startswith(" a tier run's `start` and `end` (`end` exclusive), null where left out")
