"""django-axes' records as the admin names them in page titles and messages: at the time the
lists show, to the second."""

import re
from datetime import UTC, datetime

import pytest
from axes.models import AccessAttempt, AccessLog
from django.urls import reverse

from tests.support.worker import manage_in_child

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 1, 7, 0, 5, 123456, tzinfo=UTC)


def test_a_login_record_is_titled_with_the_time_the_list_shows(admin_client, settings):
    # Titled "Attempted Access: 2026-03-01 07:00:05.123456+00:00" (microseconds and UTC)
    # where the list shows the attempt at 8:00 (Europe/Berlin).
    settings.TIME_ZONE = "Europe/Berlin"
    attempt = AccessAttempt.objects.create(username="eve", ip_address="192.0.2.7",
                                           user_agent="test", get_data="", post_data="",
                                           failures_since_start=1, path_info="/admin/login/")  # fmt: skip
    log = AccessLog.objects.create(username="eve", ip_address="192.0.2.7", user_agent="test",
                                   path_info="/admin/login/")  # fmt: skip
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=MOMENT)
    AccessLog.objects.filter(pk=log.pk).update(attempt_time=MOMENT)
    for model, title in ((AccessAttempt, "Attempted access: 2026-03-01 08:00:05"),
                         (AccessLog, "Access log for eve @ 2026-03-01 08:00:05")):  # fmt: skip
        row = model.objects.get(username="eve")  # the admin logging in has a log too
        assert str(row) == title
        page = admin_client.get(reverse(f"admin:axes_{model._meta.model_name}_change",
                                        args=[row.pk])).content.decode()  # fmt: skip
        assert f"<h2>{title}</h2>" in page
        assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", page)


def test_a_command_prints_no_axes_start_banner():
    # Every manage.py command (six at make run's first start), worker and web process logged
    # "INFO axes.apps AXES: BEGIN version 8.3.1, blocking by ..." at its start.
    ran = manage_in_child("showmigrations", "axes", timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "[X] 0001_initial" in ran.stdout
    assert "AXES" not in ran.stderr + ran.stdout
