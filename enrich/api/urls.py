from django.urls import path

from collectors.api import CurrentEnrichment
from collectors.pricing.api import PricingWindows
from collectors.pricing.plan_api import LoadPlan, LoadPlans
from enrich.api.views import HealthView, SiteList, TokenView
from retention.api.views import SeriesView
from retention.views_api import ViewRebuild, ViewRows

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("token/", TokenView.as_view(), name="api-token"),
    path("sites/", SiteList.as_view(), name="sites"),
    path("pricing/windows", PricingWindows.as_view(), name="pricing-windows"),
    path("plan", LoadPlan.as_view(), name="load-plan"),
    path("plan/loads", LoadPlans.as_view(), name="load-plans"),
    path("enrichment/current", CurrentEnrichment.as_view(), name="enrichment-current"),
    path("series", SeriesView.as_view(), name="series"),
    path("views/<str:name>", ViewRows.as_view(), name="view-rows"),
    path("views/<str:name>/rebuild", ViewRebuild.as_view(), name="view-rebuild"),
]
