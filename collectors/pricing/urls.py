"""The price endpoints (mounted under /api/ by config/urls.py): the cheapest windows, the joint
price + CO2 plan of a load or of every flexible load, and the stored slots the status page
charts."""

from django.urls import path

from collectors.pricing.api import PricingWindows
from collectors.pricing.plan_api import LoadPlan, LoadPlans
from collectors.pricing.slots_api import PricingSlots

urlpatterns = [
    path("pricing/windows", PricingWindows.as_view(), name="pricing-windows"),
    path("pricing/slots", PricingSlots.as_view(), name="pricing-slots"),
    path("plan", LoadPlan.as_view(), name="load-plan"),
    path("plan/loads", LoadPlans.as_view(), name="load-plans"),
]
