"""The tiers' endpoints: manual runs under /retention/, the transparent series under /api/."""

from django.urls import path

from retention.tiers.api import DownsampleDaily, DownsampleHourly, SeriesView

urlpatterns = [
    path("retention/downsample-hourly", DownsampleHourly.as_view(), name="downsample-hourly"),
    path("retention/downsample-daily", DownsampleDaily.as_view(), name="downsample-daily"),
    path("api/series", SeriesView.as_view(), name="series"),
]
