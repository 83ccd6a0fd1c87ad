"""A collector run as the admin names it in its messages and page titles: the status and time
as its list shows them."""

from datetime import UTC, datetime

import pytest

from collectors.models import CollectorRun
from tests.support.admin_deletes import delete_in_the_admin

pytestmark = pytest.mark.django_db


def test_a_run_is_named_with_the_status_and_time_its_list_shows(admin_client, settings):
    # The message read "carbon_intensity/electricitymaps/DE ok 2026-03-01 07:00 cannot be
    # deleted": the status's id and the time in UTC, where the list's row reads "fetched and
    # written" and 08:00.
    settings.TIME_ZONE = "Europe/Berlin"
    run = CollectorRun.objects.create(source="carbon_intensity", provider="electricitymaps",
                                      target="DE", status="ok",
                                      started=datetime(2026, 3, 1, 7, 0, tzinfo=UTC))  # fmt: skip
    named = "carbon_intensity/electricitymaps/DE · fetched and written · 2026-03-01 08:00"
    assert str(run) == named
    assert delete_in_the_admin(admin_client, run)[0].startswith(f"{named} cannot be deleted: ")
