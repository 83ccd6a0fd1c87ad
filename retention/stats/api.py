"""GET /retention/stats, GET /retention/history and GET /retention/runs/<run_id> (token auth, as
every API endpoint). Each first closes the runs whose process died (retention.liveness), so
none shows "running" after its process is gone."""

from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from enrich.addresses import hidden_in
from enrich.api import params
from retention import liveness
from retention.models import RetentionRun
from retention.stats.history import run_summary
from retention.stats.measure import storage_stats
from retention.stats.schemas import HISTORY, RUN_DETAIL, STATS

DEFAULT_DAYS = 30
MAX_RUNS = 5000  # a 365-day history of frequent view refreshes stays a sane response


class RetentionStats(APIView):
    """Storage figures: sizes per tier, archive, savings against keeping all data raw, cost,
    last runs and open alerts. Each figure has a unit; an unmeasurable one is null + reason."""

    @extend_schema(responses={200: STATS})
    def get(self, request):
        liveness.close_dead()
        return Response(storage_stats())


class RetentionRunDetail(APIView):
    """One retention run: how a queued run, dry run or restore is followed (the `poll` URL of
    a 202). `details` holds the report once it has finished. Its texts, as `errors`, without
    the addresses of enrich's services: the admin shows them whole (enrich.addresses)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "run_id",
                {"type": "integer", "minimum": 1, "maximum": params.BIGGEST},
                location="path",
            )
        ],
        responses={200: RUN_DETAIL, 400: dict, 404: dict},
    )
    def get(self, request, run_id: str):
        pk = params.integer({"run_id": run_id}, "run_id", minimum=1)
        liveness.close_dead()
        run = RetentionRun.objects.filter(pk=pk).first()
        if run is None:
            return Response({"detail": f"There is no retention run {pk}."}, status=404)
        return Response({**run_summary(run), "details": hidden_in(run.details)})


class RetentionHistory(APIView):
    """Retention runs of the last `days` days, newest first, filterable by type and status."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": 365},
                description=f"1..365, default {DEFAULT_DAYS}",
            ),
            OpenApiParameter(
                "type", str, enum=RetentionRun.Operation.values, description="operation type"
            ),
            OpenApiParameter("status", str, enum=RetentionRun.Status.values),
        ],
        responses={200: HISTORY, 400: dict},
    )
    def get(self, request):
        query = request.query_params
        days = params.integer(query, "days", DEFAULT_DAYS, minimum=1, maximum=365)
        operation = params.choice(query, "type", allowed=RetentionRun.Operation.values)
        status = params.choice(query, "status", allowed=RetentionRun.Status.values)
        since = datetime.now(UTC) - timedelta(days=days)
        liveness.close_dead()
        runs = RetentionRun.objects.filter(started__gte=since)
        if operation:
            runs = runs.filter(operation=operation)
        if status:
            runs = runs.filter(status=status)
        total = runs.count()
        rows = [run_summary(r) for r in runs.order_by("-started", "-pk")[:MAX_RUNS]]
        return Response(
            {
                "days": days,
                "since": since.isoformat().replace("+00:00", "Z"),
                "type": operation,
                "status": status,
                "count": total,
                "truncated": total > len(rows),
                "runs": rows,
            }
        )
