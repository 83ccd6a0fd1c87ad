from django.contrib import admin

from collectors.models import CollectorRun


@admin.register(CollectorRun)
class CollectorRunAdmin(admin.ModelAdmin):
    list_display = (
        "started",
        "source",
        "provider",
        "target",
        "status",
        "points_written",
        "duration_ms",
        "served",
        "short_error",
    )
    list_filter = ("status", "source", "provider")
    search_fields = ("target", "error")
    date_hierarchy = "started"
    readonly_fields = [f.name for f in CollectorRun._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def short_error(self, obj: CollectorRun) -> str:
        return obj.error[:120]
