"""A collector run as the admin names it in its list, messages and page titles: the source by
its label, the status and time as its list shows them."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from collectors.models import CollectorRun
from tests.support.admin_deletes import delete_in_the_admin

pytestmark = pytest.mark.django_db

RUNS = "admin:collectors_collectorrun"


def test_a_run_is_named_with_the_status_and_time_its_list_shows(admin_client, settings):
    # The message read "carbon_intensity/electricitymaps/DE ok 2026-03-01 07:00 cannot be
    # deleted": the source's and the status's ids and the time in UTC, where the list's row
    # reads "fetched and written" and 08:00, and provider configs name "carbon intensity".
    settings.TIME_ZONE = "Europe/Berlin"
    run = CollectorRun.objects.create(source="carbon_intensity", provider="electricitymaps",
                                      target="DE", status="ok",
                                      started=datetime(2026, 3, 1, 7, 0, tzinfo=UTC))  # fmt: skip
    named = "carbon intensity/electricitymaps/DE · fetched and written · 2026-03-01 08:00"
    assert str(run) == named
    assert delete_in_the_admin(admin_client, run)[0].startswith(f"{named} cannot be deleted: ")


def test_the_runs_list_filter_and_page_show_the_sources_label(admin_client):
    # The list, its filter and the run's page showed "electricity_pricing", where the provider
    # configs' list and filter say "Electricity pricing".
    run = CollectorRun.objects.create(source="electricity_pricing", provider="awattar",
                                      target="DE", status="ok", started=datetime.now(UTC))  # fmt: skip
    page = admin_client.get(reverse(f"{RUNS}_changelist"))
    assert '<td class="field-source">Electricity pricing</td>' in page.content.decode()
    filters = {spec.title: [c["display"] for c in spec.choices(page.context["cl"])]
               for spec in page.context["cl"].filter_specs}  # fmt: skip
    assert filters["source"] == ["All", "Carbon intensity", "Electricity pricing", "Air quality",
                                 "Occupancy", "Smart meter"]  # fmt: skip
    page = admin_client.get(reverse(f"{RUNS}_change", args=[run.pk])).content.decode()
    assert '<div class="readonly">Electricity pricing</div>' in page
    assert "electricity_pricing" not in page.replace('name="source"', "")
