"""Admin of the records of what the system did: retention runs, the tiers' day chunks, the
archive's files. Read-only. A row the system still works from cannot be deleted here; the
page, or the list after "Delete selected", says why (`kept_because`):

- a tier chunk, ever: it is where its day is (aggregates written, verified, source deleted).
  Without it the next run would take the day for new and write its hourly rows again from the
  raw points left there (a late one only, after the delete): the day's history would change,
  and every later run would fail the day's check.
- an archive file's row while the file is the only copy of its days (their daily rows were
  deleted from InfluxDB) and is in the store intact: restore finds files only through these
  rows (without them it finds nothing for those days), and expiry too. A row whose file is gone or
  damaged may go (the archive run and restore say to delete it, to archive the range again),
  as may one expired, or whose days InfluxDB still holds (the next run adopts the file).
- a run while it runs or is queued (its worker records to it, the alerts watch it), a failed
  run no later run of its operation made good (its alert, raised or not yet, went with it),
  and a downsample run that deleted raw points (the stats page counts them). Other finished
  runs are history only: they may go.
- an alert whose incident the alert check would raise again, and send to the
  webhook again: a run's within the check's window (7 days), a condition's until it is over
  (not a lost tier policy's: nothing raises it again; deleting it acknowledges the loss).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from enrich.admin_beat import schedule_in_words
from enrich.admin_filters import is_set
from enrich.admin_kept import KeptRowsAdmin
from retention import liveness
from retention.admin_views import ReadOnlyAdmin
from retention.archive.store import StorageError, sha256_hex
from retention.archive.target import get_storage
from retention.models import Alert, ArchiveObject, RetentionRun, TierChunk
from retention.stats.alerts import DETECTION_WINDOW, operation_label
from retention.stats.incidents import incident_over
from retention.stats.measure import DAILY_RAW_DELETES, HOURLY_RAW_DELETES, REAL_RUN


class RecordAdmin(KeptRowsAdmin, ReadOnlyAdmin):
    """For the records of what the system did (runs, chunks, archive files): every field of
    the model on the detail page, also those no form shows (auto_now, JSON details); a row
    that must stay (`kept_because`) is not deleted, and the user is told why."""

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


# --- Retention alerts (retention.stats.alerts) -------------------------------------------------------


# Why an open alert without a run cannot be deleted ({check}: `alert_check`), and, by its kind,
# when it is cleared.
RAISED_AGAIN = (
    "its condition is not over: {check} would raise it again and send it to the webhook again."
)
CONDITION_CLEARED = {
    Alert.Kind.GONE_FROM_HA: "once no entity gone from Home Assistant is counted in the views",
    Alert.Kind.HA_SILENT: "once Home Assistant's database receives a point again",
    Alert.Kind.RAW_POLICY_SHORT: (
        "once the retention policy of Home Assistant's raw data is lengthened as its message "
        "says (or set to INF), or once the raw -> hourly entry it names is enabled again"
    ),
    Alert.Kind.HOURLY_POLICY_SHORT: (
        "once the hourly -> daily entry it names is enabled again, or the retention policy of "
        "the hourly tier is set to INF"
    ),
    Alert.Kind.DAILY_POLICY_SHORT: (
        "once the archive can run again (the entry it names enabled, an archive target set), "
        "or the retention policy of the daily tier is set to INF"
    ),
    Alert.Kind.ENTITIES_LEFT_OUT: (
        "once a raw -> hourly run of the whole range (the nightly one) leaves no entity out"
    ),
}
# Who raises an alert without a run again, when not the alert check.
RAISED_BY = {Alert.Kind.ENTITIES_LEFT_OUT: "the next raw -> hourly run"}


def alert_check() -> str:
    """The alert check with its cadence as its beat entries run it, edited in the admin or not:
    "the alert check (every 5 minutes)"."""
    entries = PeriodicTask.objects.filter(task="retention.check_alerts", enabled=True)
    said = [schedule_in_words(entry) for entry in entries.order_by("name")]
    if not said:
        return "the alert check (no enabled beat entry runs it now)"
    return f"the alert check ({', '.join(words[:1].lower() + words[1:] for words in said)})"


@admin.register(Alert)
class AlertAdmin(RecordAdmin):
    """Alerts are raised by the system (retention.stats.alerts); the admin shows them read-only."""

    list_display = ("created", "kind", "operation", "run", "delivered", "short_message")
    list_filter = ("kind", "run__operation", is_set("sent", "delivered to webhook"))
    search_fields = ("message", "delivery_error")
    date_hierarchy = "created"
    readonly_fields = ("run", "kind", "message", "created", "sent", "delivery_error", "cleared")
    list_select_related = ("run",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Asked also of a run's alerts when the run is deleted: they go with it (nothing is
        # raised again for a run that is gone). Deleting the alert alone is checked.
        return ReadOnlyAdmin.has_delete_permission(self, request, obj)

    def kept_because(self, alert: Alert) -> str:
        if alert.run is None:
            if alert.cleared is None and alert.kind != Alert.Kind.TIER_POLICY_LOST:
                cleared = CONDITION_CLEARED.get(alert.kind)
                kept = RAISED_AGAIN + (f" It is cleared {cleared}." if cleared else "")
                return kept.format(check=RAISED_BY.get(alert.kind) or alert_check())
            return ""
        run = alert.run
        if (
            run.status == RetentionRun.Status.RUNNING
            or run.started >= timezone.now() - DETECTION_WINDOW
        ):
            return (f"{alert_check()} would raise it again, and send it to the webhook again, "
                    f"while its run is younger than {DETECTION_WINDOW.days} days or running.")  # fmt: skip
        return ""

    @admin.display(description="operation", ordering="run__operation")
    def operation(self, alert: Alert) -> str:  # in the words of the list filter
        return operation_label(alert)

    @admin.display(description="delivered to webhook", boolean=True)
    def delivered(self, alert: Alert) -> bool | None:
        if alert.sent:
            return True
        return False if alert.delivery_error else None

    @admin.display(description="message")
    def short_message(self, alert: Alert) -> str:
        return alert.message if len(alert.message) <= 120 else alert.message[:119] + "…"


# --- Archive objects (retention.archive.run) -------------------------------------------------


@admin.register(ArchiveObject)
class ArchiveObjectAdmin(RecordAdmin):
    """Parquet files of the archive; written, verified and expired by the system only."""

    list_display = (
        "key",
        "start_date",
        "end_date",
        "record_count",
        "size_kib",
        "storage_class",
        "target",
        "created",
        "verified",
        "source_deleted",
        "expired",
    )
    list_filter = (
        "target",
        "storage_class",
        "compression",
        is_set("expired", "expired"),
        is_set("source_deleted", "daily rows left InfluxDB"),
    )
    search_fields = ("key", "checksum")
    date_hierarchy = "start_date"

    @contextmanager
    def checked_first(self, rows: Iterable[ArchiveObject]) -> Iterator[None]:
        """The store read for the files of `rows` that are the only copy of their days."""
        token = _CHECKED.set({_file_of(obj): file_problem(obj) for obj in rows if _only_copy(obj)})
        try:
            yield
        finally:
            _CHECKED.reset(token)

    def kept_because(self, obj: ArchiveObject) -> str:
        if not _only_copy(obj):
            return ""  # no file, or InfluxDB still holds its days: the next run adopts it
        left = timezone.localtime(obj.source_deleted)  # the day the row's page shows
        only_copy = (f"restore finds {obj.key} only through this row, and the file is the only "
                     f"copy of its days (their daily rows left InfluxDB on {left:%Y-%m-%d}); "
                     "without the row restore finds nothing there and the file never expires.")  # fmt: skip
        checked = _CHECKED.get() or {}
        problem = checked[file] if (file := _file_of(obj)) in checked else file_problem(obj)
        if problem is None:
            return (f"{only_copy} A row whose file is gone from the store or damaged may be "
                    "deleted, to archive the range again.")  # fmt: skip
        return (
            problem and f"{only_copy} Whether the file is intact could not be checked: {problem}."
        )

    # KiB (1024 bytes), as the status page writes sizes: "KB" would read as 1000.
    @admin.display(description="size (KiB)", ordering="file_size")
    def size_kib(self, obj: ArchiveObject) -> str:
        return f"{obj.file_size / 1024:.1f}"


# What `checked_first` read of the store, by `_file_of`: for the row's own check, unless the
# row names another file by then.
_CHECKED: ContextVar[dict[tuple, str | None] | None] = ContextVar("archive_files", default=None)


def _only_copy(obj: ArchiveObject) -> bool:
    """Whether the row says its file is the only copy of its days (verified, its daily rows
    gone from InfluxDB, not expired)."""
    return bool(obj.verified and obj.source_deleted and not obj.expired)


def _file_of(obj: ArchiveObject) -> tuple:
    return (obj.target, obj.bucket, obj.key, obj.checksum)


def file_problem(obj: ArchiveObject) -> str | None:
    """None when the store holds the row's file intact, "" when it is gone or damaged (nothing
    left to reach through the row), else why that could not be checked."""
    try:
        storage = get_storage()
        if (storage.target, storage.location) != (obj.target, obj.bucket):
            return (f"it is in {obj.target} {obj.bucket!r}, the archive is configured as "
                    f"{storage.target} {storage.location!r}")  # fmt: skip
        if storage.head(obj.key) is None:
            return ""
        return None if sha256_hex(storage.get(obj.key)) == obj.checksum else ""
    except StorageError as exc:
        return f"the store could not be read ({exc})"


# --- Tier runs and their resumable chunks (retention.tiers.runner, .chunks) -------------------


@admin.register(RetentionRun)
class RetentionRunAdmin(RecordAdmin):
    """Every retention run: read-only history (records, storage before/after, errors)."""

    list_display = (
        "started",
        "operation_shown",
        "status",
        "records_processed",
        "records_deleted",
        "storage_freed_mb",
        "storage_settled_freed_mb",
        "duration",
    )
    list_filter = ("operation", "status")
    date_hierarchy = "started"

    @admin.display(description="operation", ordering="operation")
    def operation_shown(self, run: RetentionRun) -> str:
        # A refresh names its view, as the status page does: a first refresh_views made three
        # rows alike.
        label = run.get_operation_display()
        return f"{label} ({run.view})" if run.view else label

    @admin.display(description="duration seconds", ordering="duration_seconds")
    def duration(self, run: RetentionRun) -> str | None:
        return None if run.duration_seconds is None else f"{run.duration_seconds:.2f}"

    def kept_because(self, run: RetentionRun) -> str:
        if run.status == RetentionRun.Status.RUNNING:
            return ("it is running or queued: its worker records to it, and the alerts watch "
                    "it for an overrun.")  # fmt: skip
        if run.status == RetentionRun.Status.FAILED and not incident_over(run):
            # The alerts' rule: of the same view, covering a restore's or rebuild's days.
            return (f"its failure is not over (no {run.get_operation_display()} run ended ok "
                    "since): it would vanish from the alerts and the stats page.")  # fmt: skip
        if RAW_DELETES.filter(pk=run.pk).exists():
            return ("the stats page's 'raw points removed' counts the raw points it deleted "
                    "from InfluxDB.")  # fmt: skip
        return ""

    def changelist_view(self, request, extra_context=None):
        self._close_dead(request)  # no run shows "running" after its process died
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._close_dead(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def _close_dead(self, request: HttpRequest) -> None:
        unchecked: list[str] = []
        liveness.close_dead(unchecked)
        for said in unchecked:
            messages.warning(request, said)


@admin.register(TierChunk)
class TierChunkAdmin(RecordAdmin):
    """One UTC day of one tier: written -> verified -> deleted. Read-only: the runs move the
    state; a stuck day resumes on the next run."""

    list_display = (
        "tier",
        "day",
        "state",
        "entities",
        "source_points",
        "aggregate_points",
        "kept_raw_entities",
        "updated",
    )
    list_filter = ("tier", "state")
    date_hierarchy = "day"

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # none may go: no "Delete selected", no Delete button

    def kept_because(self, chunk: TierChunk) -> str:
        return CHUNK_KEPT

    @admin.display(description="entities kept raw")  # which: on the chunk's page
    def kept_raw_entities(self, chunk: TierChunk) -> int:
        return len(chunk.kept_raw)


CHUNK_KEPT = (
    "it is where the tier's day is (aggregates written, verified, source deleted). Without it "
    "the next run takes the day for new and writes its rows again from the raw points left "
    "there (late ones only, once its raw points were deleted): the day's history would "
    "change. The runs move its state; a stuck day resumes on the next run."
)
# The runs the stats page's "raw points removed" sums.
RAW_DELETES = RetentionRun.objects.filter(REAL_RUN, HOURLY_RAW_DELETES | DAILY_RAW_DELETES)
