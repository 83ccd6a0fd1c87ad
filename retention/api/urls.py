from django.urls import path

from retention.api.views import DownsampleDaily, DownsampleHourly

urlpatterns = [
    path("downsample-hourly", DownsampleHourly.as_view(), name="downsample-hourly"),
    path("downsample-daily", DownsampleDaily.as_view(), name="downsample-daily"),
]
