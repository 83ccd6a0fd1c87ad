"""A verified file's rows leaving the daily tier: the archive run's last step for each file
(`retention.archive.run`), under the daily tier's lock.

The row's `source_deleted` is set first, in one UPDATE of its own, then the rows are checked
once more and deleted from InfluxDB with no transaction open: on SQLite (the embedded default)
a transaction holds the database's one write lock, and every other process's write (a
collector's run record, an admin save) would wait for InfluxDB's reads and delete.

- An admin's delete of the row (`enrich.admin_kept`: it locks the row, then checks it) that
  comes first goes through while the days are still in InfluxDB; the UPDATE then finds no row
  and nothing is deleted. One that comes after the UPDATE finds the file the only copy of its
  days and refuses.
- A check that fails before the delete is sent (rows written meanwhile, InfluxDB out of
  reach), or a delete InfluxDB refuses as a whole (`UnsafeDelete`: the hourly tier holds rows
  of those days), takes the mark back: the days stay in InfluxDB, as the row says (a merged
  file's row, of late rows in a range archived before, says again when its old days left).
- Once the delete is sent the mark stays, also when it fails or leaves rows behind, and so
  does one a process killed after the UPDATE leaves: days (some) still in InfluxDB under a
  marked row are found by the next run in the archived range, which adopts the file (it holds
  them), marks the row again and deletes them; a mark taken back from days gone would never be
  set again (the admin would let the row of the only copy go).

Crash points for the tests: `archive.after_mark`, `archive.after_delete` (`retention.faults`).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from enrich.influx import TimeSeries, UnsafeDelete
from retention import faults
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.archive.reader import MEASUREMENT, count_rows, read_complete_rows
from retention.archive.verify import holds
from retention.models import ArchiveObject
from retention.schema import DAILY_RP
from retention.timeutil import utc_midnight


def delete_archived(obj: ArchiveObject, archived: list[fmt.Row], ts: TimeSeries) -> int | None:
    """Mark the row, check the file's days once more (`check_source`) and delete them
    (`delete_source`); the rows deleted, None when the row was deleted (in the admin) before it
    was marked: then nothing is deleted."""
    marked, before = timezone.now(), obj.source_deleted  # a merge's: when its old days left
    if not ArchiveObject.objects.filter(pk=obj.pk).update(source_deleted=marked):
        return None
    obj.source_deleted = marked
    sent = False
    try:
        faults.point("archive.after_mark")
        current = check_source(obj, archived, ts)
        sent = bool(current)
        delete_source(obj, current, ts)
    except BaseException as exc:
        # Nothing deleted: the days stay in InfluxDB, as the row says again. Once the delete is
        # sent the mark stays, also when it fails (see the module docstring).
        if not sent or isinstance(exc, UnsafeDelete):
            ArchiveObject.objects.filter(pk=obj.pk, source_deleted=marked).update(
                source_deleted=before
            )
            obj.source_deleted = before
        else:
            exc.delete_sent = True  # what the run logs: not "nothing of it was deleted"
        raise
    return len(current)


def check_source(obj: ArchiveObject, archived: list[fmt.Row], ts: TimeSeries) -> list[fmt.Row]:
    """The daily tier's rows of the file's range, each checked to be in the file (rows written
    meanwhile stop the delete)."""
    current = read_complete_rows(obj.start_date, obj.end_date + timedelta(days=1), ts)
    if not holds(archived, current):
        raise ArchiveError(
            f"the daily tier has rows in {obj.start_date}..{obj.end_date} that {obj.key} does "
            "not hold (written after the file); nothing deleted, the next run archives them."
        )
    return current


def delete_source(obj: ArchiveObject, current: list[fmt.Row], ts: TimeSeries) -> None:
    """Delete the file's range (its `current` rows) from the daily tier; check none is left."""
    if not current:
        return
    end = obj.end_date + timedelta(days=1)
    ts.delete(
        settings.TIER_DATABASE,
        utc_midnight(obj.start_date),
        utc_midnight(end),
        measurement=MEASUREMENT,
        retention_policy=DAILY_RP,
    )
    left = count_rows(obj.start_date, end, ts)
    if left:
        raise ArchiveError(
            f"{left} rows of {obj.key}'s range are still in InfluxDB after the delete."
        )
