"""Admin for the entity registry: correct what discovery inferred (kind, area, unit, device
class, tiered), keep an entity out of the materialized views (a duplicate sensor)."""

from copy import copy
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from enrich.admin_filters import BlankNamed
from enrich.admin_selection import SelectionAdmin
from enrich.readings import tag_problem
from retention.models import (
    Entity,
    RetentionRun,
    UnavailableSpan,
)
from retention.queued import NOT_TAKEN
from retention.rollups.follow import deleted_parts, gather, note_edit
from retention.rollups.materialized import ENERGY
from retention.rollups.tasks import Queued, follow_up

# A person's word on these beats discovery's guess: changing one marks the row edited.
CURATED_FIELDS = ("friendly_name", "kind", "area", "unit", "device_class", "tiered")


# What an entity is, as discovery infers it and a person corrects it; and whether the views
# count it (a person's switch alone: discovery never changes it, edited or not).
IDENTITY = ("entity_id", "friendly_name", "kind", "area", "unit", "device_class", "tiered",
            "in_views")  # fmt: skip


SPANS_SHOWN = 20  # the newest unknown/unavailable spans on an entity's page


def _until(end: datetime | None) -> str:
    return "now (still so)" if end is None else f"{timezone.localtime(end):%Y-%m-%d %H:%M:%S}"


# Discovery's, read-only on an entity's page (editable when adding one by hand).
WHERE_ITS_POINTS_ARE = ("entity_id", "layout", "measurement")


class EntityForm(forms.ModelForm):
    """An entity added by hand is named as Home Assistant names it: the tiers and views find
    no points of an id without a domain or an object id (they leave it out, saying so), nor of
    an id or measurement InfluxDB cannot hold."""

    def clean_entity_id(self) -> str:
        entity_id = self._in_influx("entity_id", "tag")
        domain, _, object_id = entity_id.partition(".")
        if not (domain and object_id):
            raise forms.ValidationError("Give Home Assistant's full entity id, "
                                        "domain.object_id (e.g. sensor.kitchen_power).")  # fmt: skip
        return entity_id

    def clean_measurement(self) -> str:
        return self._in_influx("measurement", "measurement name")

    def _in_influx(self, field: str, what: str) -> str:
        """The field's value, refused when InfluxDB can hold no such name: no point has it, and
        each query naming it fails to parse (a line break)."""
        value = self.cleaned_data[field]
        if problem := tag_problem(value):
            raise forms.ValidationError(f"An InfluxDB {what} cannot hold {problem}: give it as "
                                        "InfluxDB shows it.")  # fmt: skip
        return value


class InHomeAssistant(admin.SimpleListFilter):
    """Whether Home Assistant still has the entity (discovery asks it: retention.entities.gone)."""

    title = "in Home Assistant"
    parameter_name = "in_ha"

    def lookups(self, request, model_admin):
        return (("yes", "yes"), ("no", "no longer"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(gone_from_ha__isnull=self.value() == "yes")
        return queryset


GONE_ADVICE = (
    "Home Assistant no longer has this entity, but its last value stays in InfluxDB and is "
    "carried forward into every later day. Untick 'count in the views' so its last value stops "
    "counting (daily energy by device, room activity), and 'tiered' to stop tiering it."
)


@admin.register(Entity)
class EntityAdmin(SelectionAdmin):
    form = EntityForm
    list_display = (
        *IDENTITY,
        "in_home_assistant",
        "states_per_day",
        "layout",
        "measurement",
        "edited",
        "last_seen",
    )
    list_editable = ("kind", "area", "unit", "device_class", "tiered")
    list_filter = ("kind", ("device_class", BlankNamed), ("area", BlankNamed), "layout", "tiered",
                   "in_views", InHomeAssistant, "edited")  # fmt: skip
    search_fields = ("entity_id", "friendly_name", "area", "measurement")
    readonly_fields = (
        "gone_from_ha",
        "several_writers",
        "unavailable_times",
        "series",
        "first_seen",
        "last_seen",
        "states_per_day",
        "discovered",
        "updated",
    )
    actions = ("keep_out_of_views", "count_in_views", "return_to_discovery")
    fieldsets = (
        (
            None,
            {"fields": IDENTITY},
        ),
        (
            "In Home Assistant",
            {
                "fields": ("gone_from_ha", "several_writers", "unavailable_times"),
                "description": "Set by discovery (with HA_URL and HA_TOKEN) when it first "
                "found the entity missing from Home Assistant's states; cleared when it is back. "
                "Written by two instances: discovery's finding, cleared once it finds one. "
                "Unknown/unavailable: the times Home Assistant's recorder held the entity so "
                "(read every 15 minutes with HA_URL and HA_TOKEN), gaps for the tiers and views.",
            },
        ),
        (
            "Where Home Assistant's data is",
            {
                "fields": (
                    "layout",
                    "measurement",
                    "series",
                    "first_seen",
                    "last_seen",
                    "states_per_day",
                ),
                "description": "Discovery's, as are the entity id and the layout: it finds "
                "them in Home Assistant's data and keeps them up to date. Series: every "
                "measurement discovery found the entity's points in, with the unit written "
                "there (a sensor switched from W to kW has points in both); the tiers and views "
                "read them all, each point in its own unit.",
            },
        ),
        (
            "Registry",
            {
                "fields": ("edited", "discovered", "updated"),
                "description": "Edited rows keep their name, kind, area, unit, device class "
                "and tiered flag when discovery runs again (a unit that is still the one Home "
                "Assistant wrote follows its switch to another). Untick 'edited' to let discovery "
                "manage them. Saving a change the materialized views read (kind, unit, a "
                "motion sensor's area, ...) recomputes their rows of it on the retention "
                "worker; unticking 'count in the views' (a duplicate sensor) or deleting the "
                "entity deletes its rows and recomputes its area's without it. Discovery "
                "never changes 'count in the views' (edited or not) but registers a deleted "
                "entity again.",
            },
        ),
    )

    def get_changelist_form(self, request: HttpRequest, **kwargs):
        """The list's fields each named for a screen reader by its column and row ("Area
        (sensor.tv_power)"): Django gives them no label, so each was read as a bare "edit text"."""
        listed = super().get_changelist_form(request, **kwargs)

        class Named(listed):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                for field in self.fields.values():
                    field.widget.attrs["aria-label"] = f"{field.label} ({self.instance.entity_id})"

        return Named

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        # Where the entity's points are is discovery's to say: an id edited here would point
        # the row at no points (the next discovery would register the entity again, without
        # the person's corrections, and the views would count both); a layout or measurement
        # edited here would be read only until discovery put its own back.
        return (*self.readonly_fields, *(WHERE_ITS_POINTS_ARE if obj else ()))

    @admin.display(description="in Home Assistant", ordering="gone_from_ha")
    def in_home_assistant(self, entity: Entity) -> str:
        if entity.gone_from_ha is None:
            return "yes"
        return f"no longer (since {timezone.localtime(entity.gone_from_ha):%Y-%m-%d})"

    @admin.display(description="unknown/unavailable")
    def unavailable_times(self, entity: Entity) -> str:
        spans = UnavailableSpan.objects.filter(entity_id=entity.entity_id).order_by("-start")
        shown = [f"{span.state or '(empty)'} from {timezone.localtime(span.start):%Y-%m-%d %H:%M:%S}"
                 f" to {_until(span.end)}" for span in spans[:SPANS_SHOWN]]  # fmt: skip
        return "; ".join(shown) or "none recorded"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entity = self.get_object(request, object_id) if request.method == "GET" else None
        if entity and entity.gone_from_ha and (entity.in_views or entity.tiered):
            messages.warning(request, GONE_ADVICE)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Entity, form, change: bool) -> None:
        # Saving through the admin (form or list edit) marks a person's correction.
        if not change or set(CURATED_FIELDS) & set(form.changed_data):
            obj.edited = True
        before = Entity.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            removed = before.in_views and not obj.in_views  # kept out: its rows go
            _views_follow(request, note_edit(before, obj), removed=removed)
            if obj.in_views and not before.in_views:
                messages.info(request, f"{obj.entity_id} is counted in the views again. "
                              f"{COUNTED_AGAIN}")  # fmt: skip

    # A delete is noted by the post_delete signal (retention.rollups.follow.entity_deleted);
    # the admin queues its follow-up and says so.
    def delete_model(self, request: HttpRequest, obj: Entity) -> None:
        parts = deleted_parts(obj)
        super().delete_model(request, obj)
        _views_follow(request, parts, deleted=True, removed=True)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        parts: dict[str, set[str]] = {}
        for entity in queryset:
            gather(parts, deleted_parts(entity))
        super().delete_queryset(request, queryset)
        _views_follow(request, parts, deleted=True, removed=True)

    # Not the `edited` flag: discovery never changes the switch, and the entity's kind, unit,
    # device class and area stay discovery's to manage.
    @admin.action(description="Keep out of the materialized views")
    def keep_out_of_views(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        count = self._switch_views(request, queryset, counted=False)
        self.message_user(request, f"Kept out of the materialized views: {count} "
                          f"{model_ngettext(self.opts, count)}. {KEPT_OUT}")  # fmt: skip

    @admin.action(description="Count in the views again")
    def count_in_views(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        count = self._switch_views(request, queryset, counted=True)
        self.message_user(request, f"Counted in the views again: {count} "
                          f"{model_ngettext(self.opts, count)}. {COUNTED_AGAIN}")  # fmt: skip

    def _switch_views(self, request: HttpRequest, queryset: QuerySet[Entity], counted: bool) -> int:
        """Set 'count in the views' of the selected entities that differ; each is followed as
        an edit saved in its form. How many changed."""
        parts: dict[str, set[str]] = {}
        chosen = list(queryset.values_list("pk", flat=True))
        with transaction.atomic():
            found = Entity.objects.select_for_update().filter(pk__in=chosen)
            switched = list(found.exclude(in_views=counted))
            for entity in switched:
                before = copy(entity)
                entity.in_views = counted
                entity.save(update_fields=["in_views", "updated"])
                gather(parts, note_edit(before, entity))
            _views_follow(request, parts, removed=not counted)
        return len(switched)

    @admin.action(description="Let discovery manage them again (edited off)")
    def return_to_discovery(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        already = queryset.filter(edited=False).count()
        count = queryset.filter(edited=True).update(edited=False)
        said = (f"{count} {model_ngettext(self.opts, count)} managed by discovery again; the "
                f"next `manage.py discover_entities` run updates {'its' if count == 1 else 'their'} "
                "name, kind, unit, device class and area.")  # fmt: skip
        if already:
            said += f" {already} {model_ngettext(self.opts, already)} managed by it already."
        self.message_user(request, said, messages.SUCCESS)


def _views_follow(
    request: HttpRequest, parts: dict[str, set[str]], deleted: bool = False, removed: bool = False
) -> None:
    """Once the edit or delete (noted in `parts`) is committed, queue the views' follow-up
    and say so: one message per view and request, however many rows the list saved or the
    action changed (retention.rollups.follow). `removed`: the entities' own rows go (deleted,
    or kept out of the views)."""
    if not parts:
        return
    noted = getattr(request, "_views_to_follow", None)
    first = noted is None
    if first:
        noted = request._views_to_follow = {}
    gather(noted, parts)
    if first:  # outside a transaction (the bulk delete action) on_commit runs at once
        transaction.on_commit(lambda: _queue_and_tell(request, noted, deleted, removed))


def _queue_and_tell(
    request: HttpRequest, noted: dict[str, set[str]], deleted: bool, removed: bool
) -> None:
    change, done = ("deletion", "Deleted") if deleted else ("edit", "Saved")
    for part in follow_up(noted, str(request.user)):  # the change stays whatever happens
        what = part.what
        if part.error:
            messages.warning(request, format_html(
                "{}, but the views cannot follow the {} now ({}). Their rows of {} are "
                "{} at the next refresh of the views (beat entry \"Refresh "
                "materialized views\", every 4 hours), or at once by <code>manage.py "
                "refresh_views</code> once Redis, the Celery broker, is running again.",
                done, change, _not_followed(part), what, _followed(part.view, removed),
            ))  # fmt: skip
            continue
        messages.info(request, format_html(
            'The views follow the {}: the rows of {} are {} on the retention '
            'worker in <a href="{}">run {}</a>{}.',
            change, what, _followed(part.view, removed), _run_url(part.run), part.run.pk,
            f" (queued by an earlier {change}, not started yet)" if part.waiting else "",
        ))  # fmt: skip
    if deleted:
        messages.info(request, REDISCOVERED)


def _run_url(run: RetentionRun) -> str:
    return reverse("admin:retention_retentionrun_change", args=[run.pk])


def _not_followed(part: Queued) -> str:
    """Why the follow-up did not go, without the broker's address: the run's record (its
    errors) and the server log keep the whole error (retention.rollups.tasks)."""
    if part.run is None:  # not even recorded (the database refused)
        return "the follow-up could not be recorded; the server log says why"
    return format_html(
        '{}; <a href="{}">run {}</a> is recorded failed, and the server log names the address '
        "tried and the error",
        NOT_TAKEN, _run_url(part.run), part.run.pk,
    )  # fmt: skip


def _followed(view: str, removed: bool) -> str:
    """What becomes of the view's rows: a deleted (or kept out) entity's own rows go."""
    return "deleted" if removed and view == ENERGY else "computed again"


REDISCOVERED = (
    "While Home Assistant's InfluxDB holds points of a deleted entity, the next discovery "
    "(daily, or manage.py discover_entities) registers it again and the views count it "
    "again. To keep an entity out of them for good (a duplicate sensor), untick 'count in "
    'the views\' on its page or use the list action "Keep out of the materialized views" '
    "instead: discovery never changes that switch, and retention still downsamples it."
)
KEPT_OUT = "Discovery leaves the switch as it is; retention still downsamples as before."
COUNTED_AGAIN = (
    "Their rows are computed again from the first day whose hourly aggregates still exist; "
    "older days come back with manage.py rebuild_view where the daily aggregates hold them and "
    "the local day is a whole UTC day (TIME_ZONE at UTC+0 then: a daily row cannot be split)."
)


# Alerts, runs, tier chunks and archive files: the records of what the system did.
from retention import admin_records  # noqa: E402, F401
