"""The retention records as the admin names them (a run in the alerts' list, an alert or a run
in a message): by the labels the lists and filters use, at the time the lists show."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from retention.models import Alert, RetentionRun

pytestmark = pytest.mark.django_db


def test_an_alert_and_its_run_are_named_as_the_lists_label_them(admin_client, settings):
    # The alerts' list read "archive failed 2026-03-01 07:00" in its run column (the
    # operation's id, the time in UTC) beside "archive to S3" in its operation column and
    # 08:00 in the runs' list; a message named the alert "failed alert 4".
    settings.TIME_ZONE = "Europe/Berlin"
    started = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    run = RetentionRun.objects.create(operation="archive", status="failed", started=started)
    alert = Alert.objects.create(run=run, kind="failed", message="S3 refused")
    assert str(run) == "archive to S3 · failed · 2026-03-01 08:00"
    assert str(alert) == f"operation failed (alert {alert.pk})"
    page = admin_client.get(reverse("admin:retention_alert_changelist")).content.decode()
    assert '<td class="field-run nowrap">archive to S3 · failed · 2026-03-01 08:00</td>' in page
