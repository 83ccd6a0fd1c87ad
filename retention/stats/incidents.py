"""When a run's incident (a failure, an overrun) is over: one rule for the alerts
(`retention.stats.alerts.with_state`, what the stats page and the alert lists show open) and
for the admin, which keeps a failed run whose incident is not over (deleted, its alert would
go with it).

A run's incident is over when a run of the same operation that started after it started
finished ok (the first such run's finish; an overrun that then finished ok closes its own
incident). A view refresh is over when the same view (`details["view"]`) refreshed: the
refresh task runs the views one after the other, and the next one's success says nothing of
the failed one (a run that recorded no view, e.g. of a task that died before it began, is
closed by any); a view's rebuild, when a run of that view whose range covers the rebuild's
succeeded (the next refresh recomputes only the last hours). A restore is over when a restore
whose date range (range_start..range_end) covers the failed one's succeeded: restoring another
month restores none of its days.
"""

from __future__ import annotations

from django.db.models import Case, DateTimeField, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from retention.models import RetentionRun

VIEW, MODE = "incident_view", "incident_mode"  # the run's view and mode, as annotations


def annotations(prefix: str = "") -> dict:
    """The annotations `over_at` reads, of the run at `prefix` (`run__` from an Alert)."""
    details = f"{prefix}details"
    return {
        VIEW: Coalesce(KeyTextTransform("view", details), Value(""), output_field=TextField()),
        MODE: KeyTextTransform("mode", details),
    }


def over_at(prefix: str = "", *whens: When) -> Case:
    """When the incident of the run at `prefix` was over (None while it is not), for a
    queryset annotated with `annotations(prefix)`; `whens` come first (an alert without a
    run)."""

    def ref(name: str) -> OuterRef:
        return OuterRef(f"{prefix}{name}")

    since = RetentionRun.objects.filter(
        operation=ref("operation"), status=RetentionRun.Status.OK, started__gte=ref("started")
    ).annotate(
        view=Coalesce(KeyTextTransform("view", "details"), Value(""), output_field=TextField()),
        at=Coalesce("finished", "started"),
    )
    # A range without a start is all history (a view's first refresh reads from first_seen).
    from_start = Q(range_start__isnull=True) | Q(range_start__lte=ref("range_start"))
    covering = since.filter(from_start, range_end__gte=ref("range_end"))
    has_range = Q(**{f"{prefix}range_start__isnull": False, f"{prefix}range_end__isnull": False})
    restore = has_range & Q(**{f"{prefix}operation": RetentionRun.Operation.RESTORE})
    rebuild = has_range & Q(
        **{f"{prefix}operation": RetentionRun.Operation.VIEW_REFRESH, MODE: "rebuild"}
    )

    def first(runs) -> Subquery:
        return Subquery(runs.order_by("at", "pk").values("at")[:1])

    return Case(
        *whens,
        When(rebuild, then=first(covering.filter(view=OuterRef(VIEW)))),
        When(~Q(**{VIEW: ""}), then=first(since.filter(view=OuterRef(VIEW)))),
        When(restore, then=first(covering)),
        default=first(since),
        output_field=DateTimeField(),
    )


def incident_over(run: RetentionRun) -> bool:
    """Whether a later run made the run's incident good (see the module docstring)."""
    runs = RetentionRun.objects.filter(pk=run.pk).annotate(**annotations())
    return runs.annotate(over=over_at()).values_list("over", flat=True).first() is not None


__all__ = ["annotations", "incident_over", "over_at"]
