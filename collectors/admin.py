import json
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.utils.text import Truncator

from collectors import run_records
from collectors.models import CircuitKey, CollectorRun, FlexibleLoad
from enrich.admin_kept import KeptRowsAdmin
from enrich.admin_selection import SelectionAdmin
from enrich.form_fields import ADMIN_NUMBERS
from enrich.models import Site, is_zone_name


@admin.register(CollectorRun)
class CollectorRunAdmin(KeptRowsAdmin):
    """The runs' history. A target's latest runs stay (`collectors.run_records`): the next
    fetch, the budget's cadence and the status page work from them; older runs may go."""

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

    def kept_because(self, obj: CollectorRun) -> str:
        return run_records.kept_because(obj, run_records.latest([obj]))

    def refusals(self, rows: Iterable[CollectorRun]) -> list[str]:
        rows = list(rows)
        latest = run_records.latest(rows)  # one query for every selected target
        return [f"{run}: {why}" for run in rows if (why := run_records.kept_because(run, latest))]

    @admin.display(description="error")
    def short_error(self, obj: CollectorRun) -> str:
        # Cut with a mark: a cut error read as the whole of it (the run's page has it all).
        return Truncator(obj.error).chars(120)


@admin.register(CircuitKey)
class CircuitKeyAdmin(SelectionAdmin):
    """Keys are given by the collections and the MQTT publication; deleting one frees it for
    the next circuit asking (e.g. once a circuit is gone for good)."""

    list_display = ("site", "scope", "key", "owner", "given")
    list_filter = ("scope", "site")
    search_fields = ("key", "owner")
    readonly_fields = [f.name for f in CircuitKey._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FlexibleLoad)
class FlexibleLoadAdmin(SelectionAdmin):
    formfield_overrides = ADMIN_NUMBERS  # digits 0-9 only, as the API reads numbers
    list_display = ("name", "site", "hours", "deadline", "carbon_price", "contiguous", "enabled")
    list_filter = ("enabled", "site")
    readonly_fields = ("recommended_start",)

    class Media:
        js = ("collectors/load-deadline.js",)

    def get_changeform_initial_data(self, request):
        # One site, the usual home: chosen already, so "Now" fills its clock from the start.
        initial = super().get_changeform_initial_data(request)
        only = list(Site.objects.values_list("pk", flat=True)[:2])
        return {"site": only[0], **initial} if len(only) == 1 else initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "site":
            # The deadline is on the site's clock: its "Now" fills the chosen site's time
            # (load-deadline.js), from each site's UTC offset at this moment, in seconds. A
            # zone written past the form (no place's: the page says so) keeps the server's.
            now = datetime.now(UTC)
            offsets = {s.pk: int(now.astimezone(ZoneInfo(s.timezone)).utcoffset().total_seconds())
                       for s in field.queryset if is_zone_name(s.timezone)}  # fmt: skip
            field.widget.attrs["data-utc-offsets"] = json.dumps(offsets)
        return field

    @admin.display(description="recommended start (now)")
    def recommended_start(self, obj: FlexibleLoad) -> str:
        # Imported here: the planner pulls in the pipeline and every provider, which every
        # process that starts Django (a manage.py command, a Celery worker) would pay for.
        from collectors.pricing.loads import plan_for

        # The saved load's plan: a form shown again with errors holds the refused values
        # (hours of 1e20 would fail the planner: a 500 instead of the form's error).
        stored = FlexibleLoad.objects.select_related("site").filter(pk=obj.pk).first()
        if stored is None:
            return "-"
        found = plan_for(stored)
        if not found["start"]:
            return found["message"]
        # In the site's zone, as the deadline above is; then as the sensor's state reads.
        zone = stored.site.timezone
        local = datetime.fromisoformat(found["start"]).astimezone(ZoneInfo(zone))
        return f"{local:%Y-%m-%d %H:%M} {zone} ({found['start']})"
