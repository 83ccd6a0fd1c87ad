"""The days a view rebuild cannot read: archived (their daily rows left InfluxDB for the
archive, ArchiveObject.source_deleted set). A rebuild reads InfluxDB only, so their rows are
kept as they were; the run names those days among what it skipped, and why, instead of a
bare "0 rows". The carbon view reads enrich's own points, which the archive does not take.

The archive holds UTC days, daily_energy_by_device local days: a local day of a zone other
than UTC+0 at the edge of an archived stretch lies partly in it (Europe/Berlin's 2025-01-01
starts at 23:00 UTC on 2024-12-31). Read from its other part alone it would lose the archived
hours' energy, so `partly_archived` tells `retention.rollups.energy` which days to keep.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from enrich.wording import counted
from retention.models import ArchiveObject
from retention.rollups.rows import Outcome
from retention.timeutil import (
    local_day_start,
    local_days,
    stretches,
    utc_date,
    utc_day_pieces,
)

DAY = timedelta(days=1)
ARCHIVED = (
    "archived (the daily rows left InfluxDB for the archive, which a rebuild does not read); "
    "their rows are kept as they were"
)


def name_archived(name: str, first: date, last: date, outcome: Outcome) -> Outcome:
    """`outcome` with the archived days of first..last it wrote no row for named in its
    `skipped`, a line per stretch of days ("2023-01-01 to 2023-01-31 (31 days): ..."):
    daily_energy_by_device's local days wholly archived (a partly archived one is named by
    its entities' lines), hourly_room_activity's UTC days (its hours are UTC hours)."""
    if name == "daily_carbon_summary":
        return outcome
    if name == "daily_energy_by_device":
        written = {row.date for row in outcome.rows}
        days = [day for day, (_, whole) in _archived_pieces(first, last).items() if whole]
        utc = ""
    else:
        written = {utc_date(row.hour) for row in outcome.rows}
        hours_end = local_day_start(last + DAY) - timedelta(microseconds=1)
        days = ArchiveObject.deleted_days(utc_date(local_day_start(first)), utc_date(hours_end))
        utc = "UTC "
    kept = [day for day in sorted(days) if day not in written]
    for start, end in stretches(kept, DAY):
        span = str(start) if start == end else f"{start} to {end}"
        outcome.skipped.append(
            f"{span} ({counted((end - start).days + 1, utc + 'day')}): {ARCHIVED}"
        )
    return outcome


def partly_archived(first: date, last: date) -> dict[date, list[tuple[datetime, datetime]]]:
    """The local days of first..last that lie partly in archived UTC days, each with the
    archived pieces of it."""
    return {
        day: pieces for day, (pieces, whole) in _archived_pieces(first, last).items() if not whole
    }


def _archived_pieces(
    first: date, last: date
) -> dict[date, tuple[list[tuple[datetime, datetime]], bool]]:
    """Local day of first..last touching an archived UTC day -> (its archived pieces, whether
    it is archived whole)."""
    archived = ArchiveObject.deleted_days(first - DAY, last + DAY)
    found: dict[date, tuple[list[tuple[datetime, datetime]], bool]] = {}
    if not archived:
        return found
    for day in local_days(first, last):
        pieces = utc_day_pieces(local_day_start(day), local_day_start(day + DAY))
        inside = [piece for piece in pieces if utc_date(piece[0]) in archived]
        if inside:
            found[day] = (inside, len(inside) == len(pieces))
    return found
