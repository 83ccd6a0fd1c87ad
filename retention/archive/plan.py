"""What an archive run would archive and expire now (`plan_archive`); it only reads.

- Rows of TIER_DATABASE.enrich_daily.entity_aggregates whose day is before the cutoff
  (today - RETENTION_DAILY_DAYS), in CLOSED periods (ARCHIVE_PERIOD: month, quarter or year)
  that lie wholly before the cutoff.
- Small periods: Glacier IR bills every object as at least 128 KB and for at least 90 days,
  and a month of daily rows of a home is ~20 KB. So consecutive periods of one calendar year
  are grouped into one file until the file reaches 128 KB (MIN_OBJECT_BYTES); the rest of a
  year is written once the year has closed (wholly before the cutoff), even if smaller. Until
  then those rows wait in InfluxDB. A file is therefore written once and never extended: no
  young object ever has to be rewritten.
- Key: `archives/{year}/data_{first day the file covers}.parquet` - deterministic, so a
  rerun finds the object (and its ArchiveObject row) instead of uploading again.
- Rows found again in a range already archived (written after its file) are planned against
  that file (`PlannedObject.existing`).
- Expiry: objects whose data ended more than ARCHIVE_RETENTION_YEARS ago (and at least 90 days
  old).
- Before the daily tier's first run (a fresh install) its retention policy does not exist yet:
  nothing is due, and nothing of it is read (InfluxDB answers "retention policy not found").
- A run with nothing due says why and when the next period comes due (`nothing_due`).

How a run then writes each file: `retention.archive.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from enrich.influx import TimeSeries, get_timeseries
from enrich.wording import counted
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.reader import (
    daily_field_types,
    first_day_before,
    last_day_before,
    read_complete_rows,
)
from retention.models import ArchiveObject
from retention.schema import DAILY_RP
from retention.tiers.safety import missing_tiers, none_due
from retention.timeutil import utc_date, utc_midnight

KEY_FORMAT = "archives/{year}/data_{start}.parquet"
MIN_OBJECT_BYTES = 128 * 1024  # Glacier IR's minimum billable object size
MIN_STORAGE_DAYS = 90  # Glacier IR bills deleting/overwriting younger objects to 90 days
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_start(day: date, period: str) -> date:
    months = PERIOD_MONTHS[period]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def next_period(start: date, period: str) -> date:
    month = start.month - 1 + PERIOD_MONTHS[period]
    return date(start.year + month // 12, month % 12 + 1, 1)


def archive_key(start: date) -> str:
    return KEY_FORMAT.format(year=start.year, start=start.isoformat())


def cutoff_day(now: datetime | None = None) -> date:
    """Rows of days before this one are due for the archive."""
    today = utc_date(now or timezone.now())
    return today - timedelta(days=settings.RETENTION_DAILY_DAYS)


@dataclass
class PlannedObject:
    """One file to write (or, with `existing`, rows left in a range already archived)."""

    key: str
    start: date
    end: date  # last day covered, inclusive
    data: bytes = field(repr=False)
    record_count: int
    why: str
    existing: ArchiveObject | None = None

    @property
    def rows(self) -> list[fmt.Row]:
        """The file's rows, read from `data` when asked: a run holds the Python rows (some
        2 KB each) of the file it writes, not those of every file due (some 180 MB for a year
        of a home of 200 entities)."""
        return fmt.table_rows(fmt.from_parquet(self.data))

    @property
    def file_size(self) -> int:
        return len(self.data)

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, **_summary(self)}


@dataclass
class Waiting:
    start: date
    end: date
    record_count: int
    file_size: int
    why: str

    def summary(self) -> dict[str, Any]:
        return _summary(self)


def _summary(days: PlannedObject | Waiting) -> dict[str, Any]:
    """How the report lists days to write or waiting."""
    return {
        "start_date": days.start.isoformat(),
        "end_date": days.end.isoformat(),
        "record_count": days.record_count,
        "file_size": days.file_size,
        "why": days.why,
    }


@dataclass
class ArchivePlan:
    cutoff: date
    objects: list[PlannedObject]
    waiting: list[Waiting]
    expire: list[ArchiveObject]
    # Ranges InfluxDB did not return completely: planning stopped there, nothing of them
    # (nor of the file they would have joined) is archived by this run.
    unreadable: list[str] = field(default_factory=list)
    daily_tier: bool = True  # False: TIER_DATABASE has no enrich_daily yet (nothing to read)

    @property
    def records(self) -> int:
        return sum(o.record_count for o in self.objects)


def _min_object_bytes() -> int:
    # Tests shrink it to exercise grouping with small data; production keeps Glacier's 128 KB.
    return int(getattr(settings, "ARCHIVE_MIN_OBJECT_BYTES", MIN_OBJECT_BYTES))


def plan_archive(
    now: datetime | None = None, ts: TimeSeries | None = None, renew: Callable = lambda: None
) -> ArchivePlan:
    """What a run would archive and expire now; reads only. `renew` (the run's lock) is called
    before each period is read."""
    ts = ts or get_timeseries()
    now = now or timezone.now()
    cutoff = cutoff_day(now)
    archived = list(ArchiveObject.objects.filter(expired__isnull=True))
    if DAILY_RP in missing_tiers():
        return ArchivePlan(cutoff, [], [], _due_for_expiry(now, archived), daily_tier=False)
    period = settings.ARCHIVE_PERIOD
    compression = settings.ARCHIVE_COMPRESSION
    types = daily_field_types(ts)
    minimum = _min_object_bytes()
    objects: list[PlannedObject] = []
    waiting: list[Waiting] = []
    leftovers: dict[int, list[fmt.Row]] = {}

    group: dict[str, Any] | None = None

    def close(why: str) -> None:
        nonlocal group
        if group is not None:
            start, end = group["start"], group["end"] - timedelta(days=1)
            objects.append(
                PlannedObject(
                    archive_key(start), start, end, group["data"], len(group["rows"]), why
                )
            )
        group = None

    unreadable: list[str] = []
    first = first_day_before(cutoff, ts)
    unit = period_start(first, period) if first else None
    # The periods after the last row hold none: not read (an --as-of years ahead would read
    # thousands), they still extend and close the group as read empty periods do.
    last = last_day_before(cutoff, ts) if first else None
    while unit is not None and next_period(unit, period) <= cutoff:
        unit_end = next_period(unit, period)
        renew()
        try:
            rows = read_complete_rows(unit, unit_end, ts) if last and unit <= last else []
        except ArchiveError as exc:
            unreadable.append(str(exc))
            group = None  # its year would be incomplete: it waits for the next run
            break
        owner = next((a for a in archived if a.start_date <= unit <= a.end_date), None)
        if owner is not None:
            close("the next period is already archived")
            if rows:
                leftovers.setdefault(owner.pk, []).extend(rows)
            unit = unit_end
            continue
        if group is not None and unit.year != group["start"].year:
            close(f"year {group['start'].year} closed")
        if rows or group is not None:
            group = group or {"start": unit, "rows": []}
            group["end"] = unit_end
            if rows:  # an empty period changes neither the rows nor their file
                group["rows"].extend(rows)
                data = fmt.to_parquet(fmt.rows_to_table(group["rows"], types), compression)
                group["data"] = data
                if len(data) >= minimum:
                    close(f"reached {minimum} bytes")
        unit = unit_end
    if group is not None:
        year_end = date(group["start"].year + 1, 1, 1)
        if year_end <= cutoff:
            close(f"year {group['start'].year} closed")
        else:
            waiting.append(
                Waiting(
                    group["start"],
                    group["end"] - timedelta(days=1),
                    len(group["rows"]),
                    len(group["data"]),
                    f"{len(group['data'])} bytes, below the {minimum} bytes minimum object "
                    f"size; written when it grows past it or when all of {group['start'].year} "
                    f"is due (on {year_end + timedelta(days=settings.RETENTION_DAILY_DAYS)})",
                )
            )
            group = None
    by_pk = {a.pk: a for a in archived}
    for pk, rows in leftovers.items():
        owner = by_pk[pk]
        table = fmt.rows_to_table(rows, types)
        objects.append(
            PlannedObject(
                owner.key,
                owner.start_date,
                owner.end_date,
                fmt.to_parquet(table, compression),
                len(rows),
                "rows found again in an archived range",
                existing=owner,
            )
        )
    objects.sort(key=lambda o: o.start)
    return ArchivePlan(cutoff, objects, waiting, _due_for_expiry(now, archived), unreadable)


def nothing_due(cutoff: date) -> str:
    """Why a run with nothing planned or waiting archives nothing (every closed period before
    the one of `cutoff` is archived, or holds no daily row) and when that period comes due:
    once it lies wholly before the cutoff, RETENTION_DAILY_DAYS after it ends."""
    period = settings.ARCHIVE_PERIOD
    start = period_start(cutoff, period)
    end = next_period(start, period)
    days = settings.RETENTION_DAILY_DAYS
    archived = ArchiveObject.objects.filter(start_date__lt=start).exists()
    return none_due(
        period,
        start,
        "is archived (or holds no daily row)" if archived else "holds no daily row",
        f"{start}..{end - timedelta(days=1)}",
        utc_midnight(end + timedelta(days=days)),
        f"daily rows are kept {counted(days, 'day')}, then archived by whole {period}s",
    )


def _due_for_expiry(now: datetime, archived: list[ArchiveObject]) -> list[ArchiveObject]:
    years = settings.ARCHIVE_RETENTION_YEARS
    today = utc_date(now)
    try:
        limit = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        limit = today.replace(year=today.year - years, day=28)
    young = now - timedelta(days=MIN_STORAGE_DAYS)
    return [a for a in archived if a.end_date < limit and a.created <= young]
