"""A site's time zone that is not TIME_ZONE, set in the admin or on the setup page: the
materialized views count the days of TIME_ZONE, not the site's (retention.timeutil), so the
page says so after the save, with what to do. Measured before: TIME_ZONE=UTC, the site moved
to Europe/Berlin, a heater at 1 kW for the Berlin day of 4 March stayed at 23 kWh on the 4th
and 1 kWh on the 3rd in daily_energy_by_device, and the admin said only that the site was
changed."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from enrich.models import Site
from tests.support.setup_form import FORM
from tests.support.site_admin import site_form

pytestmark = pytest.mark.django_db

BERLIN_IN_UTC_DAYS = (
    "{}: its time zone is Europe/Berlin, but the materialized views (daily_energy_by_device, "
    "hourly_room_activity, daily_carbon_summary) count the days of TIME_ZONE, UTC. For them to "
    "count this site's days, set TIME_ZONE=Europe/Berlin in enrich's environment (.env), "
    "restart enrich, and rebuild the days they hold (manage.py rebuild_view)."
)


def save(client, site: Site, zone: str) -> list[str]:
    page = client.post(reverse("admin:enrich_site_change", args=[site.pk]),
                       site_form(site, timezone=zone), follow=True)  # fmt: skip
    assert page.status_code == 200
    return [str(message) for message in page.context["messages"] if "TIME_ZONE" in str(message)]


def test_a_site_zone_other_than_time_zone_is_told_the_views_count_time_zone_days(
    admin_client, settings
):
    settings.TIME_ZONE = "UTC"
    home = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, timezone="UTC")

    said = save(admin_client, home, "Europe/Berlin")

    assert Site.objects.get(pk=home.pk).timezone == "Europe/Berlin"  # saved all the same
    assert said == [BERLIN_IN_UTC_DAYS.format("Home")]


def test_a_site_in_time_zone_is_told_nothing_of_it(admin_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    home = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, timezone="UTC")

    assert save(admin_client, home, "Europe/Berlin") == []


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_the_setup_page_says_it_too(client, settings, zone):
    settings.TIME_ZONE = "UTC"
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    form = {**FORM, "timezone": zone, "providers": [], "action": "create"}

    page = client.post("/setup/", form, follow=True)

    said = [str(message) for message in page.context["messages"] if "TIME_ZONE" in str(message)]
    assert said == ([BERLIN_IN_UTC_DAYS.format("Flat")] if zone != "UTC" else [])
