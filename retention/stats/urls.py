"""Storage statistics, run history and records, metrics series, alerts (all under /retention/)."""

from django.urls import path

from retention.stats.api import RetentionHistory, RetentionRunDetail, RetentionStats
from retention.stats.status_api import AlertList, ArchiveYears, StorageMetrics

urlpatterns = [
    path("retention/stats", RetentionStats.as_view(), name="retention-stats"),
    path("retention/history", RetentionHistory.as_view(), name="retention-history"),
    # Any text, so that an id that is no number is a 400 naming it (not the URL conf's HTML 404).
    path("retention/runs/<str:run_id>", RetentionRunDetail.as_view(), name="retention-run"),
    path("retention/metrics", StorageMetrics.as_view(), name="retention-metrics"),
    path("retention/alerts", AlertList.as_view(), name="retention-alerts"),
    path("retention/archive/years", ArchiveYears.as_view(), name="retention-archive-years"),
]
