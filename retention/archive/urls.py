from django.urls import path

from retention.archive.api import ArchiveView, RestoreView

urlpatterns = [
    path("archive", ArchiveView.as_view(), name="retention-archive"),
    path("restore", RestoreView.as_view(), name="retention-restore"),
]
