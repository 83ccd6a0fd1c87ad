from django.urls import path

from enrich.api.views import HealthView, SiteList, TokenView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("token/", TokenView.as_view(), name="api-token"),
    path("sites/", SiteList.as_view(), name="sites"),
]
