"""GET /retention/history's `range_start` and `range_end` are the range a run was asked for
(docs/storage.md): a tier run's `start` and `end`, null where they were left out (the nightly
runs), whose days the run's details list; a restore's first and last day."""

from datetime import date

import pytest
from django.core.management import call_command

from retention.archive.restore import restore_to_influxdb
from tests.support.api import token_client

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


def test_the_storage_page_says_a_run_of_the_whole_range_has_no_range():
    from tests.support.doc_pages import ROOT

    page = " ".join((ROOT / "docs" / "storage.md").read_text().split())
    said = page.split("`range_start` and `range_end`, the range the run was asked for:")[1]
    assert said.startswith(" a tier run's `start` and `end` (`end` exclusive), null where left out")
