"""Daily rows of archived days, as an hourly run folding late points reads them
(`retention.tiers.late`): once a day's daily row was archived and deleted from InfluxDB, the
archive holds it.

An hourly run reads them under the archive's lock (`retention.archive.lock`), taken at its first
such read and held until it has folded its late points, so over the corrected rows it writes back to
the daily tier too. Without it, beside an index rebuild that has not indexed the day's file yet, the
day would look unarchived: its late points would be taken for the day's whole record, and the next
archive run would merge that row over the archived one (the day's mean and energy lost); beside an
archive run, the file may be replaced (a merge) or deleted (an expiry) while it is read, and a row
written meanwhile stops that run's delete. While another run holds the lock, a read raises
ArchiveBusy naming it: the late points stay raw, and the run says so; its next run folds them.

The files the index does not know are looked for through one `ArchiveListing` a run (one LIST
of the store, each such file's metadata read once, however many late days it reads): under the
lock no archive run or index rebuild changes the store meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from enrich.redis.lock import RunLock
from retention.archive.errors import ArchiveBusy, ArchiveError
from retention.archive.lock import archive_run_lock, waits_for
from retention.archive.target import archive_configured, get_storage
from retention.tiers.rows import DAILY_RP, TierRow, _row
from retention.timeutil import utc_date

if TYPE_CHECKING:
    from retention.archive.unindexed import ArchiveListing


def archived_row(
    entity_id: str, day_start: datetime, listing: ArchiveListing | None = None
) -> TierRow | None:
    """The entity's daily row of the day as the archive holds it, once the daily tier's row
    was archived and deleted (None when no archive object covers the day, or it has no row of
    the entity). Raises StorageError or ArchiveError when the archive cannot be read, and
    ArchiveError when a file in the store that the index does not know covers the day
    (`retention.archive.unindexed`): until `manage.py rebuild_archive_index` indexes it, the
    day's row is not known, so a late point is not taken for the day's whole record.
    `listing`: the run's of the store's files (else the store is listed for this day alone)."""
    # pyarrow (numpy with it) is imported where used, not at every worker's start.
    from retention.archive import format as fmt
    from retention.archive.plan import cutoff_day
    from retention.archive.restore import objects_covering, restore_from_archive
    from retention.archive.unindexed import ArchiveListing, unindexed_covering, unindexed_message

    day = utc_date(day_start)
    if not objects_covering(day, day):
        if archive_configured() and day < cutoff_day():
            # A file the index lost (a database restored from an older backup) may hold it.
            listing = listing or ArchiveListing(get_storage())
            if found := unindexed_covering(listing.storage, day, day, listing):
                raise ArchiveError(unindexed_message(found, "the day's row is read from it"))
        return None
    for values in fmt.table_rows(restore_from_archive(day, day)):
        if values["entity_id"] == entity_id:
            fields = {k: v for k, v in values.items() if k not in ("time", "entity_id")}
            return _row(DAILY_RP, entity_id, day_start, fields)
    return None


class ArchivedRows:
    """A run's reads of archived rows under the archive's lock, its value naming `owner`: taken
    at the first read (ArchiveBusy while another run holds it), held until `release()`; the
    store listed once for all of them (module doc)."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock: RunLock | None = None
        self._listing: ArchiveListing | None = None

    @property
    def locks(self) -> list[RunLock]:
        """The archive's lock once taken, for the run to renew with its others."""
        return [self._lock] if self._lock is not None else []

    def row(self, entity_id: str, day_start: datetime) -> TierRow | None:
        """`archived_row`, holding the archive's lock."""
        if self._lock is None:
            lock = archive_run_lock(self._owner)
            if not lock.acquire():
                why = (
                    "an archive run may replace or delete the day's file meanwhile, an index "
                    "rebuild may not have indexed it yet"
                )
                who = "reading an archived day's row"
                raise ArchiveBusy(f"{waits_for(who, why)}; the next run reads it")
            self._lock = lock
        if self._listing is None and archive_configured():
            from retention.archive.unindexed import ArchiveListing

            self._listing = ArchiveListing(get_storage())
        return archived_row(entity_id, day_start, self._listing)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release_quietly()
            self._lock = None
        self._listing = None
