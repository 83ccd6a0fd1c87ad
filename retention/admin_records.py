"""Admin of the records of what the system did: retention runs, the tiers' day chunks, the
archive's files. Read-only; which rows may be deleted, and why the others may not: below."""

from django.contrib import admin
from django.http import HttpRequest

from retention import liveness
from retention.admin_views import ReadOnlyAdmin
from retention.models import ArchiveObject, RetentionRun, TierChunk


class RecordAdmin(ReadOnlyAdmin):
    """For the records of what the system did (runs, chunks, archive files): every field of
    the model on the detail page, also those no form shows (auto_now, JSON details)."""

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


# --- Archive objects (retention.archive.run) -------------------------------------------------


@admin.register(ArchiveObject)
class ArchiveObjectAdmin(RecordAdmin):
    """Parquet files of the archive; written, verified and expired by the system only."""

    list_display = (
        "key",
        "start_date",
        "end_date",
        "record_count",
        "size_kb",
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
        ("expired", admin.EmptyFieldListFilter),
        ("source_deleted", admin.EmptyFieldListFilter),
    )
    search_fields = ("key", "checksum")
    date_hierarchy = "start_date"

    @admin.display(description="size (KB)", ordering="file_size")
    def size_kb(self, obj: ArchiveObject) -> str:
        return f"{obj.file_size / 1024:.1f}"


# --- Tier runs and their resumable chunks (retention.tiers.runner, .chunks) -------------------


@admin.register(RetentionRun)
class RetentionRunAdmin(RecordAdmin):
    """Every retention run: read-only history (records, storage before/after, errors)."""

    list_display = (
        "started",
        "operation",
        "status",
        "records_processed",
        "records_deleted",
        "storage_freed_mb",
        "storage_settled_freed_mb",
        "duration_seconds",
    )
    list_filter = ("operation", "status")
    date_hierarchy = "started"

    def changelist_view(self, request, extra_context=None):
        liveness.close_dead()  # no run shows "running" after its process died
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        liveness.close_dead()
        return super().change_view(request, object_id, form_url, extra_context)


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

    @admin.display(description="entities kept raw")  # which: on the chunk's page
    def kept_raw_entities(self, chunk: TierChunk) -> int:
        return len(chunk.kept_raw)
