"""The collectors' REST endpoints (mounted under /api/ by config/urls.py): the values now and
the carbon series of the status page's chart; the price endpoints are in
collectors/pricing/urls.py."""

from django.urls import path

from collectors.api import CurrentEnrichment
from collectors.carbon.series_api import CarbonSeries

urlpatterns = [
    path("enrichment/current", CurrentEnrichment.as_view(), name="enrichment-current"),
    path("carbon/series", CarbonSeries.as_view(), name="carbon-series"),
]
