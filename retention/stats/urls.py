from django.urls import path

from retention.stats.api import RetentionHistory, RetentionRunDetail, RetentionStats

urlpatterns = [
    path("stats", RetentionStats.as_view(), name="retention-stats"),
    path("history", RetentionHistory.as_view(), name="retention-history"),
    path("runs/<int:pk>", RetentionRunDetail.as_view(), name="retention-run"),
]
