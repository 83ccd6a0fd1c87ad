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

from collections import defaultdict
from datetime import date, datetime, timedelta

from enrich.wording import counted, listed
from retention.models import ArchiveObject
from retention.rollups.rows import Outcome
from retention.timeutil import (
    DAY,
    local_day_start,
    local_days,
    stretches,
    utc_date,
    utc_day_pieces,
)

ARCHIVED = (
    "archived (the daily rows left InfluxDB for the archive, which a rebuild does not read); "
    "their rows are kept as they were"
)


def name_archived(name: str, first: date, last: date, outcome: Outcome) -> Outcome:
    """`outcome` with the archived days of first..last named in its `skipped`, a line per
    stretch of days ("2023-01-01 to 2023-01-31 (31 days): ..."): daily_energy_by_device's
    local days wholly archived (a partly archived one is named by its entities' lines),
    hourly_room_activity's UTC days (its hours are UTC hours). The entities or areas it wrote
    rows for there (from raw points still in InfluxDB: not tiered then) are named too. They
    come first: a line per stretch, before the per-entity lines a long range can give (the
    run keeps the first 100, `manage.py rebuild_view` prints the first 10)."""
    if name == "daily_carbon_summary":
        return outcome
    written: dict[date, set[str]] = defaultdict(set)
    if name == "daily_energy_by_device":
        for row in outcome.rows:
            written[row.date].add(row.entity_id)
        days = [day for day, (_, whole) in _archived_pieces(first, last).items() if whole]
        utc = ""
    else:
        for row in outcome.rows:
            written[utc_date(row.hour)].add(row.area)
        hours_end = local_day_start(last + DAY) - timedelta(microseconds=1)
        days = ArchiveObject.deleted_days(utc_date(local_day_start(first)), utc_date(hours_end))
        utc = "UTC "
    lines = []
    for start, end in stretches(sorted(days), DAY):
        span = str(start) if start == end else f"{start} to {end}"
        line = f"{span} ({counted((end - start).days + 1, utc + 'day')}): {ARCHIVED}"
        if names := sorted(set().union(*(written[day] for day in days if start <= day <= end))):
            shown = names[:5] + ([f"{len(names) - 5} more"] if len(names) > 5 else [])
            line += (
                f", but for the rows written for {listed(shown)} from raw points of these "
                "days still in InfluxDB (not tiered then)"
            )
        lines.append(line)
    outcome.skipped[:0] = lines
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
