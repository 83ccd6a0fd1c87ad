"""REST access to the materialized views: `GET /api/views/<name>` and
`POST /api/views/<name>/rebuild`.

GET filters (a bad value is a 400 naming the parameter; an unknown parameter too, but DRF's
`?format=`):
- daily_energy_by_device: entity_id, start, end (local dates YYYY-MM-DD, both included);
- hourly_room_activity: area, start, end (ISO times with zone: hour >= start, hour < end; or
  local dates, whole days included), day_of_week (0 = Monday .. 6);
- daily_carbon_summary: region, start, end (local dates).
The answer: {"view", "rows", "count", "last_refreshed", "watermark"}.

POST rebuild: start, end (local dates, both included, none before 2000), allow_fewer_points
(true/false, absent false: rows read from fewer source points than the stored ones, or read
on across days read from fewer, are kept and named in the run, `retention.rollups.fewer`);
in the body or the query string, each once: given twice, in both, empty or null, or a field
of another name is a 400 naming it. The rebuild reads the range's source data, more than a
web request should wait for, so it is recorded (RetentionRun "view_refresh") and queued: 202
with `run_id` and `poll` (GET /retention/runs/<run_id>: status ok with the rows written,
failed with the error, or skipped when another refresh or rebuild of the view was running;
ask again then).
Unknown view: 404 listing the views; 503 when the broker cannot be reached.
"""

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from enrich.api import params, time_params
from retention.day_ranges import RangeError, check_span, rebuild_bounds
from retention.models import RetentionRun
from retention.queued import queue, record_queued_run
from retention.rollups.materialized import (
    ACTIVITY,
    CARBON,
    ENERGY,
    VIEWS,
    MaterializedViewManager,
    check_view,
)
from retention.rollups.queries import activity_since, activity_until
from retention.rollups.schemas import VIEW_ROWS
from retention.rollups.tables import UnknownView
from retention.rollups.tasks import rebuild

# Another name is a 404 listing the views.
VIEW_NAME = OpenApiParameter("name", str, location="path", enum=list(VIEWS))
FILTERS = {
    ENERGY: ("entity_id", "start", "end"),
    ACTIVITY: ("area", "start", "end", "day_of_week"),
    CARBON: ("region", "start", "end"),
}


def _not_found(name: str) -> Response:
    return Response({"detail": str(UnknownView(name)), "views": list(VIEWS)}, status=404)


def _ordered(start: Any, end: Any) -> None:
    if start is not None and end is not None and start > end:
        raise ValidationError({"start": f"{start.isoformat()} is after end {end.isoformat()}."})


class ViewRows(APIView):
    """Rows of one materialized view, filtered."""

    # Each view takes its own filters (FILTERS), not all the schema lists (enrich.api.declared).
    checks_own_query = True

    @extend_schema(
        parameters=[
            OpenApiParameter("entity_id", str, description="daily_energy_by_device"),
            OpenApiParameter("area", str, description="hourly_room_activity"),
            OpenApiParameter("region", str, description="daily_carbon_summary"),
            time_params.day_or_moment("start", "the first local date", ACTIVITY),
            time_params.day_or_moment("end", "the last local date", ACTIVITY),
            OpenApiParameter(
                "day_of_week",
                {"type": "integer", "minimum": 0, "maximum": 6},
                description="0 = Monday (room activity)",
            ),
            VIEW_NAME,
        ],
        responses={200: VIEW_ROWS, 400: dict, 404: dict},
    )
    def get(self, request, name: str):
        if name not in VIEWS:
            return _not_found(name)
        query = request.query_params
        params.known_query(query, FILTERS[name], f"a filter of {name}")
        views = MaterializedViewManager()
        if name == ACTIVITY:
            start, end = params.day_or_moment(query, "start"), params.day_or_moment(query, "end")
            if type(start) is type(end):
                _ordered(start, end)
            elif (
                start is not None
                and end is not None
                and activity_since(start) > activity_until(end)
            ):
                raise ValidationError(
                    {"start": f"{start.isoformat()} is after end {end.isoformat()}."}
                )
            rows = views.room_activity(
                area=params.text(query, "area"),
                start=start,
                end=end,
                day_of_week=params.integer(query, "day_of_week", minimum=0, maximum=6),
            )
        else:
            start, end = params.day(query, "start"), params.day(query, "end")
            _ordered(start, end)
            if name == ENERGY:
                rows = views.daily_energy(params.text(query, "entity_id"), start, end)
            else:
                rows = views.carbon(params.text(query, "region"), start, end)
        return Response({"view": name, "count": len(rows), "rows": rows, **views.freshness(name)})


class RebuildRequest(serializers.Serializer):
    """The body's schema (OpenAPI); params.fields and params.day read it."""

    start = serializers.DateField(help_text="First local day to recompute (YYYY-MM-DD).")
    end = serializers.DateField(help_text="Last local day to recompute, included (YYYY-MM-DD).")
    allow_fewer_points = serializers.BooleanField(
        required=False,
        help_text="Replace rows with ones read from fewer source points, or read on across "
        "days read from fewer (points deleted on purpose). Absent: false, such rows are kept "
        "and named in the run.",
    )


class ViewRebuild(APIView):
    """Recompute a view for the local days start..end (both included)."""

    @extend_schema(
        parameters=[VIEW_NAME],
        request=RebuildRequest,
        responses={202: dict, 400: dict, 404: dict, 503: dict},
        description="The view's rows of the local days start..end (both included) are "
        f"recomputed on a worker: 202 with the run to follow. {params.FIELDS_READ}",
    )
    def post(self, request, name: str):
        try:
            check_view(name)
        except UnknownView:
            return _not_found(name)
        given = params.fields(request, ("start", "end", "allow_fewer_points"))
        allow_fewer_points = params.flag(given, "allow_fewer_points")
        start, end = (
            params.as_day(name, params.needed(given, name, "a local date as YYYY-MM-DD"))
            for name in ("start", "end")
        )
        _ordered(start, end)
        try:
            check_span(start, end, end_inclusive=True, limited=False)
            range_start, range_end = rebuild_bounds(start, end, datetime.now(UTC))
        except RangeError as exc:
            raise ValidationError({exc.parameter: str(exc)}) from None
        except ValueError as exc:
            raise ValidationError({"start": str(exc)}) from None
        run = record_queued_run(
            RetentionRun.Operation.VIEW_REFRESH,
            request,
            range_start=range_start,
            range_end=range_end,
            details={"view": name, "mode": "rebuild", "allow_fewer_points": allow_fewer_points},
        )
        return queue(rebuild, run, request, name=name, start=str(start), end=str(end),
                     allow_fewer_points=allow_fewer_points)  # fmt: skip
