"""POST /retention/archive (run or dry-run the archive) and POST /retention/restore
(re-import an archived date range into the restore database). Both need a staff user or the
permission enrich.trigger_work (enrich.access).

Both run on a worker (the archive's planning reads every daily row due; a restore downloads
every file of its range and writes its rows to InfluxDB: either can outlast the web server's
timeout): 202 with the run to follow (retention.queued), whose details hold the report when it
is done. `dry_run` is read as on the tier endpoints (params.flag): absent is false, empty or
null a 400. A restore is limited to RETENTION_MAX_RANGE_DAYS days. Fields come in the body or
the query string (params.fields): one given twice, or one of another name (a mistyped
`dryrun`), is a 400 naming it; nothing is queued then, nor when no archive target is set
(409)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrich.api import params
from retention.archive.restore_target import RestoreTargetRefused, restore_database
from retention.archive.target import (
    NOTHING_ARCHIVED,
    NOTHING_RESTORED,
    archive_configured,
    not_configured,
)
from retention.day_ranges import RangeError, check_begun, check_span
from retention.models import RetentionRun
from retention.queued import queue, record_queued_run
from retention.timeutil import utc_midnight


class ArchiveRequest(serializers.Serializer):
    """The body's schema (OpenAPI); params.flag reads it, as on the tier endpoints."""

    dry_run = serializers.BooleanField(
        required=False,
        help_text="Report what would be archived and freed; change nothing. Absent: false (a "
        "real run); empty or null: a 400.",
    )


class Day(serializers.DateField):
    """A day read as every endpoint reads one (params.as_day): DRF's own DateField told
    2026-02-30 and 20240301 alike "Date has wrong format"; left out, it is required in the
    words of every endpoint's needed field (params.needed), not DRF's "This field is required."."""

    default_error_messages = {"required": "Required: send a date as YYYY-MM-DD."}

    def to_internal_value(self, value):
        try:
            return params.as_day(self.field_name, value)
        except params.Refused as exc:
            raise serializers.ValidationError(exc.text) from None


class RestoreRequest(serializers.Serializer):
    start_date = Day(help_text="First UTC day to restore (YYYY-MM-DD), as the daily rows.")
    end_date = Day(help_text="Last UTC day to restore, inclusive.")
    database = serializers.CharField(
        required=False,
        trim_whitespace=False,  # a name as written, as the command takes it: " x" is no database
        help_text="InfluxDB database to write to: RESTORE_INFLUXDB_DATABASE (the default) or "
        "one of RESTORE_ALLOWED_DATABASES.",
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError(
                {"end_date": "end_date is before start_date; give the range in order."}
            )
        try:
            # One request restores a bounded range; the command restores any range.
            check_span(
                attrs["start_date"],
                attrs["end_date"],
                end_inclusive=True,
                names=("start_date", "end_date"),
            )
            check_begun(attrs["start_date"], "start_date")
        except RangeError as exc:
            raise serializers.ValidationError({exc.parameter: str(exc)}) from None
        try:
            attrs["database"] = restore_database(attrs.get("database"))
        except RestoreTargetRefused as exc:
            raise serializers.ValidationError({"database": str(exc)}) from None
        return attrs


def _no_target(outcome: str = NOTHING_ARCHIVED) -> Response | None:
    """409 naming what to set when no archive target is configured (nothing is queued);
    `outcome`: what was not done (the archive's by default)."""
    if archive_configured():
        return None
    return Response({"detail": not_configured(outcome)}, status=status.HTTP_409_CONFLICT)


class ArchiveView(APIView):
    """The archive task (or its dry run) is queued: 202 with the run to follow."""

    @extend_schema(
        request=ArchiveRequest,
        responses={202: dict, 400: dict, 409: dict, 503: dict},
        description="The archive (or its dry run) is queued: 202 with the run to follow. "
        + params.FIELDS_READ,
    )
    def post(self, request):
        dry_run = params.flag(params.fields(request, ("dry_run",)), "dry_run")
        if refused := _no_target():
            return refused
        from retention.archive.tasks import archive

        run = record_queued_run(
            RetentionRun.Operation.ARCHIVE, request, details={"dry_run": dry_run}
        )
        return queue(archive, run, request, dry_run=dry_run)


class RestoreView(APIView):
    """The restore of the archived daily aggregates of a date range into InfluxDB is queued:
    202 with the run to follow."""

    @extend_schema(
        request=RestoreRequest,
        responses={202: dict, 400: dict, 409: dict, 503: dict},
        description="The restore of the archived daily aggregates of a date range into InfluxDB "
        f"is queued: 202 with the run to follow. {params.FIELDS_READ}",
    )
    def post(self, request):
        sent = params.fields(request, ("start_date", "end_date", "database"))
        # Empty or null, each is told so (DRF would say "'' is not valid", "may not be null/blank").
        for name in ("start_date", "end_date"):
            params.sent(sent, name, "a date as YYYY-MM-DD")
        params.sent(sent, "database", "the name of an InfluxDB database",
                    "RESTORE_INFLUXDB_DATABASE")  # fmt: skip
        given = RestoreRequest(data=sent)
        if not given.is_valid():  # each parameter's message as a string, as every endpoint's
            said = {name: " ".join(map(str, errors)) for name, errors in given.errors.items()}
            raise serializers.ValidationError(said)
        data = given.validated_data
        if refused := _no_target(NOTHING_RESTORED):
            return refused
        from retention.archive.tasks import restore

        fields = {
            "start_date": data["start_date"].isoformat(),
            "end_date": data["end_date"].isoformat(),
            "database": data["database"],
        }
        run = record_queued_run(
            RetentionRun.Operation.RESTORE,
            request,
            range_start=utc_midnight(data["start_date"]),
            range_end=utc_midnight(data["end_date"]),
            details=dict(fields),
        )
        return queue(restore, run, request, **fields)
