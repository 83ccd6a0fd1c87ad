"""Retention's reading endpoints under /api/ (config/urls.py): a series across the tiers, and
the materialized views (with their rebuild)."""

from django.urls import path

from retention.api.views import SeriesView
from retention.rollups.api import ViewRebuild, ViewRows

urlpatterns = [
    path("series", SeriesView.as_view(), name="series"),
    path("views/<str:name>", ViewRows.as_view(), name="view-rows"),
    path("views/<str:name>/rebuild", ViewRebuild.as_view(), name="view-rebuild"),
]
