"""The Google Calendar connection page (mounted at /oauth/google/ by config/urls.py)."""

from django.urls import path

from collectors.occupancy.google import views

urlpatterns = [
    path("", views.setup, name="oauth-google"),
    path("connect", views.connect, name="oauth-google-connect"),
    path("callback", views.callback, name="oauth-google-callback"),
]
