from django.urls import path

from retention.stats.status_api import AlertList, ArchiveYears, StorageMetrics

urlpatterns = [
    path("metrics", StorageMetrics.as_view(), name="retention-metrics"),
    path("alerts", AlertList.as_view(), name="retention-alerts"),
    path("archive/years", ArchiveYears.as_view(), name="retention-archive-years"),
]
