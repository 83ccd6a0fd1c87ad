from django.contrib import admin
from django.urls import include, path

from enrich.api.views import DocsView, SchemaView

# Django's own errors in the API's words on the API, readable on the pages (enrich.error_pages).
handler400 = "enrich.error_pages.bad_request"
handler404 = "enrich.error_pages.page_not_found"
handler500 = "enrich.error_pages.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # A page, not an API: OPTIONS (DRF's metadata, with no template to render it) is a 405.
    path(
        "api/docs/",
        DocsView.as_view(url_name="schema", http_method_names=["get", "head"]),
        name="api-docs",
    ),
    path("api/", include("enrich.api.urls")),
    path("api/", include("collectors.urls")),
    path("api/", include("collectors.pricing.urls")),
    # Each retention package's urls.py names its full paths (/api/... and /retention/...).
    path("", include("retention.tiers.urls")),
    path("", include("retention.rollups.urls")),
    path("", include("retention.stats.urls")),
    path("", include("retention.archive.urls")),
    path("oauth/google/", include("collectors.occupancy.google.urls")),
    path("", include("dashboard.urls")),
]
