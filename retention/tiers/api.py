"""Retention endpoints: manual tier runs and transparent series reads.

`POST /retention/downsample-hourly`, `POST /retention/downsample-daily` (token or session
auth; JSON or form body, or the query string: `?dry_run=true` is a dry run):
- `start`, `end`: UTC days as YYYY-MM-DD; start inclusive, end EXCLUSIVE (start=2024-03-04,
  end=2024-03-05 is the single day 2024-03-04). Left out: all data older than the horizon;
  sent empty or null, a 400 naming it (never read as left out).
- `dry_run` (true/false, default false: leave it out for a real run; empty or null is a 400):
  report what would be aggregated and deleted (entities, days, points) and the space expected
  back, from the measured bytes per point of the source tier; nothing is changed and no lock
  is taken (a scheduled run is not skipped).
Both are recorded (RetentionRun) and run by a worker (a dry run reads every entity's points
of every day due: more than a web request should wait for): 202 with `task_id`, `run_id` and
`poll` (GET /retention/runs/<run_id>: the status, and once done the report in `details`; a
retention policy that makes running unsafe shows as status failed with the reason).
400 names the bad parameter (a day not written YYYY-MM-DD, one that does not exist such as
2026-02-30, or outside what InfluxDB holds, worded by enrich.api.params.as_day; start not
before end, end after the horizon: "only data older than N days is downsampled", a day before
2000, an empty or null start, end or dry_run, a field given twice or in both the query and the
body, a field of another name such as `dryrun`: params.fields); nothing is recorded or queued
then. 503 when the broker cannot be reached.

`GET /api/series?entity_id=…&start=…&end=…` (ISO 8601 times with zone): the entity's series
from raw, hourly or daily data as each part of the range has it, each segment stating its
resolution (retention.tiers.series), and `attribute_units` (a weather entity's attribute ->
unit, keyed by the attribute name at every resolution; {} for other entities). 400 bad
parameter (a parameter it does not take too, DRF's `?format=` aside: enrich.api.declared), 404
unknown entity, 409 an entity whose registry entry cannot be read (no layout, an id without its
domain: the answer says what to fix), 503 InfluxDB down.
"""

from datetime import UTC

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from enrich.api import params, time_params
from enrich.api.influx_down import influx_down
from enrich.influx import InfluxUnavailable, TimeseriesError
from retention.day_ranges import RangeError
from retention.entities.sources import UnreadableEntity
from retention.entities.units import attribute_units_of, unit_of
from retention.models import Entity, RetentionRun
from retention.queued import queue, record_queued_run
from retention.tiers import tasks
from retention.tiers.safety import check_range
from retention.tiers.schemas import SERIES
from retention.tiers.series import entity_series
from retention.timeutil import utc_midnight


class DownsampleRequest(serializers.Serializer):
    """The body's schema (OpenAPI); params.fields, flag and sent read it."""

    start = serializers.DateField(
        required=False, help_text="First UTC day (YYYY-MM-DD). Absent: from the oldest data."
    )
    end = serializers.DateField(
        required=False, help_text="UTC day to stop before (exclusive). Absent: up to the horizon."
    )
    dry_run = serializers.BooleanField(
        required=False,
        help_text="Report what would be aggregated and deleted; change nothing. Absent: false "
        "(a real run).",
    )


class DownsampleView(APIView):
    operation = ""
    task = None

    @extend_schema(
        request=DownsampleRequest,
        responses={202: dict, 400: dict, 503: dict},
        description=params.FIELDS_READ,
    )
    def post(self, request):
        data = params.fields(request, ("start", "end", "dry_run"))
        dry_run = params.flag(data, "dry_run")
        start = params.sent(data, "start", "a day as YYYY-MM-DD", "from the oldest data")
        end = params.sent(data, "end", "a day as YYYY-MM-DD", "up to the horizon")
        try:
            start, end = check_range(self.operation, start, end)
        except RangeError as exc:
            return Response({exc.parameter: str(exc)}, status=400)
        run = record_queued_run(
            self.operation,
            request,
            range_start=utc_midnight(start) if start else None,
            range_end=utc_midnight(end) if end else None,
            details={"dry_run": dry_run},
        )
        return queue(
            self.task,
            run,
            request,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
            dry_run=dry_run,
        )


class DownsampleHourly(DownsampleView):
    """Raw -> hourly now (or a dry run of it)."""

    operation = RetentionRun.Operation.DOWNSAMPLE_HOURLY
    task = tasks.downsample_hourly


class DownsampleDaily(DownsampleView):
    """Hourly -> daily now (or a dry run of it)."""

    operation = RetentionRun.Operation.DOWNSAMPLE_DAILY
    task = tasks.downsample_daily


SERIES_PARAMETERS = ("entity_id", "start", "end")


class SeriesView(APIView):
    """An entity's series over any range, from raw, hourly or daily data."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "entity_id", str, required=True, description="e.g. sensor.fridge_power"
            ),
            time_params.moment("start", "where the series starts", required=True),
            time_params.moment("end", "where it ends, after start", required=True),
        ],
        responses={200: SERIES, 400: dict, 404: dict, 409: dict, 503: dict},
        description="200: entity_id, kind, unit (of the readings: `value`, `avg_value`, ...; "
        "empty for a weather entity), attribute_units, start, end (UTC) and segments (each "
        "with its resolution: raw, hourly, daily, or archived: days whose rows left InfluxDB "
        "for the archive, without points). attribute_units is always there: "
        "attribute name -> unit of a weather entity's attributes, keyed by the attribute "
        "name at every resolution (a raw point's attributes.temperature and an hourly or "
        "daily temperature_mean are both in attribute_units.temperature), e.g. "
        '{"temperature": "°C", "pressure": "hPa", "wind_speed": "km/h", "visibility": "km"}; '
        "attributes without a unit (humidity) are not listed; {} for other entities.",
    )
    def get(self, request):
        query = request.query_params  # another parameter is refused first (enrich.api.declared)
        errors = {}
        for name in SERIES_PARAMETERS:
            if params.given(query, name) is None:
                errors[name] = f"Required: give ?{name}=…"
        if errors:
            raise ValidationError(errors)
        start, end = params.moment(query, "start"), params.moment(query, "end")
        if end <= start:
            raise ValidationError({"end": f"{query['end']!r} must be after start."})
        entity_id = params.text(query, "entity_id")
        entity = Entity.objects.filter(entity_id=entity_id).first()
        if entity is None:
            return Response(
                {"entity_id": f"No entity {entity_id!r} in the registry; run "
                 "`manage.py discover_entities` or check the id (domain.object_id)."},
                status=404,
            )  # fmt: skip
        try:
            segments = entity_series(entity, start, end)
        except (InfluxUnavailable, TimeseriesError) as exc:
            return influx_down("The series", exc)
        except UnreadableEntity as exc:  # a registry entry made by hand, without a layout
            return Response({"entity_id": f"The series cannot be read: {exc}"}, status=409)
        return Response(
            {
                "entity_id": entity.entity_id,
                "kind": entity.kind,
                "unit": unit_of(entity),
                "attribute_units": attribute_units_of(entity),
                "start": start.astimezone(UTC).isoformat(),
                "end": end.astimezone(UTC).isoformat(),
                "segments": [segment.as_dict() for segment in segments],
            }
        )
