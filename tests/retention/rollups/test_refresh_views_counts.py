"""What manage.py refresh_views prints of a run counts rows in words: "1 row written", not
"1 rows written", also for the run that followed entity edits."""

from datetime import UTC, datetime

import pytest

from retention.management.commands.refresh_views import _describe
from retention.models import RetentionRun

START = datetime(2026, 5, 1, tzinfo=UTC)


def refresh(**fields) -> RetentionRun:
    """A view refresh run of START, ok, with `fields`."""
    return RetentionRun(
        operation=RetentionRun.Operation.VIEW_REFRESH,
        status=RetentionRun.Status.OK,
        started=START,
        range_end=START,
        **fields,
    )


@pytest.mark.django_db
def test_a_refresh_of_one_row_says_one_row():
    edits = refresh(records_processed=1, records_deleted=1)
    edits.save()
    run = refresh(
        duration_seconds=0.5,
        records_processed=1,
        details={"view": "hourly_room_activity", "partial_rows": 0, "edits_run": edits.pk},
    )
    said = _describe(run)
    assert said.startswith("hourly_room_activity: 1 row written (0 partial) in 0.5 s"), said
    assert f"entity edits followed in run {edits.pk}: ok, 1 row written, 1 deleted" in said


@pytest.mark.parametrize(
    ("start", "sources", "said"),
    [
        (
            None,
            {"raw": 6, "hourly": 1},
            "from all history to 2026-05-01 00:00:00 UTC; read raw states (6 stretches) and "
            "hourly rows (1 stretch)",
        ),
        (
            datetime(2026, 4, 29, 22, tzinfo=UTC),
            {"points": 96},
            "from 2026-04-29 22:00:00 UTC to 2026-05-01 00:00:00 UTC; read 96 carbon points",
        ),
        (datetime(2026, 4, 30, tzinfo=UTC), {}, "; read nothing"),
    ],
)
def test_the_range_and_what_was_read_are_said_in_words(start, sources, said):
    # It said "range None .. 2026-05-01T00:00:00+00:00, sources {'raw': 6, 'hourly': 1}".
    run = refresh(
        duration_seconds=0.3,
        range_start=start,
        records_processed=186,
        details={"view": "daily_energy_by_device", "partial_rows": 6, "sources": sources},
    )
    line = _describe(run)
    assert line.startswith("daily_energy_by_device: 186 rows written (6 partial) in 0.3 s, ")
    assert line.endswith(said), line
