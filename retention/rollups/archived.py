"""The days a view rebuild cannot read: archived (their daily rows left InfluxDB for the
archive, ArchiveObject.source_deleted set). A rebuild reads InfluxDB only, so their rows are
kept as they were; the run names those days among what it skipped, and why, instead of a
bare "0 rows". The carbon view reads enrich's own points, which the archive does not take.
"""

from __future__ import annotations

from datetime import date, timedelta

from enrich.wording import counted
from retention.models import ArchiveObject
from retention.rollups.rows import Outcome
from retention.timeutil import local_date, stretches

DAY = timedelta(days=1)


def name_archived(name: str, first: date, last: date, outcome: Outcome) -> Outcome:
    """`outcome` with the archived days of first..last it wrote no row for named in its
    `skipped`, a line per stretch of days ("2023-01-01 to 2023-01-31 (31 days): ...")."""
    if name == "daily_carbon_summary":
        return outcome
    written = {getattr(row, "date", None) or local_date(row.hour) for row in outcome.rows}
    days = sorted(ArchiveObject.deleted_days(first, last))
    kept = [day for day in days if day not in written]
    for start, end in stretches(kept, DAY):
        span = str(start) if start == end else f"{start} to {end}"
        outcome.skipped.append(
            f"{span} ({counted((end - start).days + 1, 'day')}): archived (the daily rows "
            "left InfluxDB for the archive, which a rebuild does not read); their rows are "
            "kept as they were"
        )
    return outcome
