"""What an hourly run reading an archived day's row for its late points says when another run
holds the archive's lock: in the words of the restore's (retention.archive.lock.waits_for),
true of every holder. It said the lock was one "archive runs and index rebuilds hold", also
when a restore or another hourly run held it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from retention.archive.errors import ArchiveBusy
from retention.archive.lock import archive_run_lock
from retention.tiers.archived import ArchivedRows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("holder", ["restore run 12", "raw -> hourly run 8 folding late points"])
def test_reading_an_archived_row_beside_another_holder_says_what_it_waits_for(holder):
    other = archive_run_lock(holder)
    assert other.acquire()
    rows = ArchivedRows("raw -> hourly run 9 folding late points into archived days")
    try:
        with pytest.raises(ArchiveBusy) as busy:
            rows.row("sensor.boiler_power", datetime(2022, 3, 1, tzinfo=UTC))
    finally:
        other.release()
    said = str(busy.value)
    assert said.startswith(f"the archive's lock is held by {holder} since "), said
    assert said.endswith(
        ": reading an archived day's row waits for it (an archive run may replace or delete the "
        "day's file meanwhile, an index rebuild may not have indexed it yet); the next run "
        "reads it"
    ), said
    assert "archive runs and index rebuilds hold" not in said
