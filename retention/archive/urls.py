"""The archive's endpoints: run (or dry-run) the archive, restore a range."""

from django.urls import path

from retention.archive.api import ArchiveView, RestoreView

urlpatterns = [
    path("retention/archive", ArchiveView.as_view(), name="retention-archive"),
    path("retention/restore", RestoreView.as_view(), name="retention-restore"),
]
