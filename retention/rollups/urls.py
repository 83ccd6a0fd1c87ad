"""The materialized views' endpoints: their rows, and a rebuild."""

from django.urls import path

from retention.rollups.api import ViewRebuild, ViewRows

urlpatterns = [
    path("api/views/<str:name>", ViewRows.as_view(), name="view-rows"),
    path("api/views/<str:name>/rebuild", ViewRebuild.as_view(), name="view-rebuild"),
]
