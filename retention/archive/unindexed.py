"""Archive files in the store that the index (the ArchiveObject rows) does not know: the
relational database came back from a backup taken before the last archive run, and
`manage.py rebuild_archive_index` has not indexed them yet. Until it has, their days look
unarchived, so

- an archive run writes no file over one of them, nor one whose range overlaps one
  (`check_unindexed`: the file fails, its rows stay in InfluxDB); at its own key it replaces
  only its own leftover of a run that stopped before recording it (every entity-day of it is
  still in the daily tier) or an object that is no verified archive file (a damaged upload),
  unless that object has no SHA-256 in its metadata (no run wrote it: a copy put back by hand,
  which the index rebuild refuses) and holds rows the run's file would not (`_check_unsigned`);
- a dry run lists beside such a file the error the real run would meet (`unindexed_ahead`),
  reading the store only;
- an hourly run keeps a late point of one of their days raw (`unindexed_covering`, through
  `retention.tiers.archived`) instead of taking it for the day's whole record.

A file's range is its metadata's `start_date`/`end_date` (what the archive run writes), else its
key's date to the end of that year (a file never spans years).

The store is asked through an `ArchiveListing`: the archive's keys are listed once (one LIST
request per 1,000 keys: S3 bills each) and each file's metadata read once (one HEAD, also for the
file at a key the run plans to write, looked at as that and as a file the index lacks; the bytes
the run read of it are checked, not read again), however many files an archive run checks or
late days an hourly run reads. What an archive run writes
meanwhile is indexed as soon as it is verified, so a listing taken before it misses nothing the
checks need.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.store import PREFIX, ArchiveStorage, ObjectInfo, StorageError
from retention.archive.verify import checked_rows, holds, parsed_rows
from retention.models import ArchiveObject

if TYPE_CHECKING:
    from retention.archive.plan import PlannedObject

KEY_DATE = re.compile(r"/data_(\d{4}-\d{2}-\d{2})\.parquet$")
REBUILD = "manage.py rebuild_archive_index"


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class ArchiveListing:
    """The archive files in `storage`, listed at the first question and kept (see the module
    doc): one listing for a whole run."""

    def __init__(self, storage: ArchiveStorage) -> None:
        self.storage = storage
        self._keys: list[str] | None = None
        self._ranges: dict[str, tuple[date, date] | None] = {}
        self._heads: dict[str, ObjectInfo | None] = {}

    def keys(self) -> list[str]:
        if self._keys is None:
            self._keys = [i.key for i in self.storage.list(PREFIX) if KEY_DATE.search(i.key)]
        return self._keys

    def head(self, key: str) -> ObjectInfo | None:
        """The object's HEAD (None: there is none), asked once a run."""
        if key not in self._heads:
            self._heads[key] = self.storage.head(key)
        return self._heads[key]

    def forget(self, key: str) -> None:
        """The run wrote the object at `key`: its HEAD is asked again."""
        self._heads.pop(key, None)
        self._ranges.pop(key, None)

    def range(self, key: str) -> tuple[date, date] | None:
        """The file's range (module doc); None when neither its metadata nor its key has one."""
        if key not in self._ranges:
            info = self.head(key)
            metadata = info.metadata if info is not None else {}
            match = KEY_DATE.search(key)
            first = _day(metadata.get("start_date")) or _day(match.group(1) if match else None)
            last = first and (_day(metadata.get("end_date")) or date(first.year, 12, 31))
            self._ranges[key] = (first, last) if first and last else None
        return self._ranges[key]


def unindexed_covering(
    storage: ArchiveStorage, start: date, end: date, listing: ArchiveListing | None = None
) -> list[str]:
    """The archive files in the store without an ArchiveObject row whose range overlaps
    start..end, each named with its range ("key (first..last)"); `listing`: the run's."""
    listing = listing or ArchiveListing(storage)
    indexed = set(ArchiveObject.objects.values_list("key", flat=True))
    found = []
    for key in listing.keys():
        if key in indexed or (days := listing.range(key)) is None:
            continue
        first, last = days
        if first <= end and start <= last:
            found.append(f"{key} ({first}..{last})")
    return found


def unindexed_message(found: list[str], doing: str, then: str = "first") -> str:
    return (
        f"{', '.join(found)} {'is' if len(found) == 1 else 'are'} in the archive store but not "
        f"in its index (no ArchiveObject row: the database may have come back from a backup "
        f"older than the archive run that wrote {'it' if len(found) == 1 else 'them'}); "
        f"{doing}. Run {REBUILD} {then}."
    )


def check_unindexed(
    listing: ArchiveListing,
    planned: PlannedObject,
    stored: list[fmt.Row] | None,
    data: bytes | None = None,
) -> None:
    """ArchiveError when writing `planned` (a file the index has no row of) would replace or
    overlap a file the index does not know (`listing`: the run's). `stored`: the rows of the
    verified archive file at its key, if one is there (see the module doc); `data`: the bytes
    of the object at its key, when the run read them already."""
    if stored is None and planned.key in listing.keys():
        _check_unsigned(listing, planned, data)
    found = [
        name
        for name in unindexed_covering(listing.storage, planned.start, planned.end, listing)
        if not name.startswith(f"{planned.key} ")
    ]
    if stored is not None and not set(fmt.row_index(stored)) <= set(fmt.row_index(planned.rows)):
        found.insert(0, f"{planned.key} ({planned.start}..{planned.end})")
    if found:
        raise ArchiveError(
            unindexed_message(
                found,
                f"nothing of {planned.start}..{planned.end} was uploaded or deleted (it would "
                "replace or overlap those days), the rows stay in InfluxDB",
            )
            + " Then run the archive again: it adds these rows to the indexed file."
        )


def _check_unsigned(listing: ArchiveListing, planned: PlannedObject, data: bytes | None) -> None:
    """ArchiveError when the object at `planned`'s key carries no SHA-256 (no archive run wrote
    it: a copy put back by hand) yet is an archive file holding rows `planned` does not: they
    may be in no other file and no longer in InfluxDB. One that is no archive file, or holds
    only planned rows, is replaced. `data`: its bytes, if read already."""
    info = listing.head(planned.key)
    if info is None or info.metadata.get("sha256"):
        return
    rows = parsed_rows(data if data is not None else listing.storage.get(planned.key))
    planned_rows = planned.rows  # read from the file's bytes at each ask: once here
    if rows is None or set(fmt.row_index(rows)) <= set(fmt.row_index(planned_rows)):
        return
    raise ArchiveError(
        f"{planned.key} is in the archive store without the metadata an archive run writes "
        f"(no sha256: put there by hand?) and holds {len(rows)} rows, some not among the "
        f"{len(planned_rows)} rows of {planned.start}..{planned.end} this run would write there; "
        "nothing of them was uploaded or deleted, the rows stay in InfluxDB. Upload the file "
        "again with its metadata (sha256, start_date, end_date, record_count) and run "
        f"{REBUILD}, or move it out of archives/ if its rows are archived elsewhere."
    )


def unindexed_ahead(listing: ArchiveListing, planned: PlannedObject) -> None:
    """The ArchiveError `check_unindexed` would raise in the real run of `planned` (a file the
    index has no row of), for a dry run: reads the object at its key, writes nothing. An object
    there that holds the rows is adopted by the real run, never refused. The store out of
    reach is said as an ArchiveError too: the dry run goes on."""
    storage = listing.storage
    try:
        stored, data, info = None, None, listing.head(planned.key)
        if info is not None:
            data = storage.get(planned.key)
            stored = checked_rows(data, info.metadata.get("sha256"))
            if stored is not None and holds(stored, planned.rows):
                return
        check_unindexed(listing, planned, stored, data)
    except StorageError as exc:
        raise ArchiveError(
            f"could not check {storage.location} for archive files the index lacks ({exc}); "
            "the real run checks before it writes"
        ) from None
