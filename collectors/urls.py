"""Read-only series for charts (the status page): stored price slots and carbon intensity."""

from django.urls import path

from collectors.carbon.series_api import CarbonSeries
from collectors.pricing.slots_api import PricingSlots

urlpatterns = [
    path("pricing/slots", PricingSlots.as_view(), name="pricing-slots"),
    path("carbon/series", CarbonSeries.as_view(), name="carbon-series"),
]
