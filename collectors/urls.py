"""The collectors' REST endpoints (mounted under /api/ by config/urls.py): the values now, the
price windows and the joint plan, and the read-only series of the status page's charts."""

from django.urls import path

from collectors.api import CurrentEnrichment
from collectors.carbon.series_api import CarbonSeries
from collectors.pricing.api import PricingWindows
from collectors.pricing.plan_api import LoadPlan, LoadPlans
from collectors.pricing.slots_api import PricingSlots

urlpatterns = [
    path("enrichment/current", CurrentEnrichment.as_view(), name="enrichment-current"),
    path("pricing/windows", PricingWindows.as_view(), name="pricing-windows"),
    path("plan", LoadPlan.as_view(), name="load-plan"),
    path("plan/loads", LoadPlans.as_view(), name="load-plans"),
    path("pricing/slots", PricingSlots.as_view(), name="pricing-slots"),
    path("carbon/series", CarbonSeries.as_view(), name="carbon-series"),
]
