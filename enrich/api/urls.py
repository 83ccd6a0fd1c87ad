from django.urls import path

from enrich.api.views import HealthView, ProcessesView, SiteList, TokenView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("processes/", ProcessesView.as_view(), name="processes"),
    path("token/", TokenView.as_view(), name="api-token"),
    path("sites/", SiteList.as_view(), name="sites"),
]
