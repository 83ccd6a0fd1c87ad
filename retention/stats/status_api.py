"""Read-only storage series for charts (the status page):

GET /retention/metrics         the daily `retention_metrics` points: bytes per tier over time
GET /retention/alerts          open alerts and the alert history
GET /retention/archive/years   archive objects, rows and bytes per year
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from enrich.api import params
from enrich.api.influx_down import influx_down
from enrich.influx import InfluxQueryError, TimeseriesError, get_timeseries, quote_ident
from retention.models import ArchiveObject
from retention.schema import METRICS_MEASUREMENT
from retention.stats.alerts import alert_summary, open_alerts, with_state
from retention.stats.history import iso
from retention.stats.schemas import ALERTS, ARCHIVE_YEARS, metrics

# Each series with its unit: the sizes in bytes, the reduction in percent.
SERIES_UNITS = {
    "raw_size_bytes": "bytes",
    "hourly_size_bytes": "bytes",
    "daily_size_bytes": "bytes",
    "archive_size_bytes": "bytes",
    "storage_saved_bytes": "bytes",
    "reduction_percentage": "%",
}
SERIES_FIELDS = tuple(SERIES_UNITS)
MAX_ALERTS = 500  # a month of failing refreshes (3 views every 4 hours) is about 540
DAYS = OpenApiParameter(
    "days", {"type": "integer", "minimum": 1, "maximum": 3650}, description="1..3650 days back"
)


class StorageMetrics(APIView):
    """Bytes per tier (raw, hourly, daily, archive) day by day, as `retention.record_metrics`
    measured them (InfluxDB's own size accounting); a figure not measured that day is null,
    and the point's `unmeasured` says why (null when every figure was measured)."""

    @extend_schema(parameters=[DAYS], responses={200: metrics(SERIES_UNITS), 400: dict, 503: dict})
    def get(self, request):
        days = params.integer(request.query_params, "days", 90, minimum=1, maximum=3650)
        since = datetime.now(UTC) - timedelta(days=days)
        query = (
            f"SELECT {', '.join(quote_ident(f) for f in (*SERIES_FIELDS, 'unmeasured'))} "
            f"FROM {quote_ident(METRICS_MEASUREMENT)} WHERE time >= $since"
        )
        points = []
        try:
            with get_timeseries().query(
                settings.INFLUXDB_DATABASE, query, params={"since": since}
            ) as rows:
                points = [{"time": iso(r.time), **{f: r.values.get(f) for f in SERIES_FIELDS},
                           "unmeasured": r.values.get("unmeasured")} for r in rows]  # fmt: skip
        except InfluxQueryError as exc:
            if "database not found" not in exc.server_message:
                return influx_down("Storage metrics", exc)
        except TimeseriesError as exc:
            return influx_down("Storage metrics", exc)
        return Response(
            {
                "days": days,
                "units": SERIES_UNITS,
                "source": f"{settings.INFLUXDB_DATABASE}.{METRICS_MEASUREMENT}, written daily "
                "by retention.record_metrics",
                "points": points,
            }
        )


class AlertList(APIView):
    """Open alerts (incident not over) and the alerts of the last `days` days (the newest
    MAX_ALERTS; `count` says how many there are, `truncated` whether some were left out), each
    with `cleared`: when its incident was over (null while open)."""

    @extend_schema(parameters=[DAYS], responses={200: ALERTS, 400: dict})
    def get(self, request):
        days = params.integer(request.query_params, "days", 30, minimum=1, maximum=3650)
        since = datetime.now(UTC) - timedelta(days=days)
        opened = list(open_alerts())
        history = with_state().filter(created__gte=since)
        total = history.count()
        listed = [alert_summary(a) for a in history.order_by("-created", "-pk")[:MAX_ALERTS]]
        return Response(
            {
                "days": days,
                "open": [alert_summary(a) for a in opened],
                "count": total,
                "truncated": total > len(listed),
                "history": listed,
            }
        )


class ArchiveYears(APIView):
    """Archive objects (not expired) per year of the data they hold."""

    @extend_schema(responses={200: ARCHIVE_YEARS})
    def get(self, request):
        years = (
            ArchiveObject.objects.filter(expired__isnull=True)
            .annotate(year=ExtractYear("start_date"))
            .values("year")
            .annotate(objects=Count("id"), bytes=Sum("file_size"), records=Sum("record_count"))
            .order_by("year")
        )
        return Response({"years": [dict(y) for y in years]})
