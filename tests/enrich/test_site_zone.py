"""A site's time zone corrected in the admin: the materialized views count the days of
TIME_ZONE, not the site's (retention.timeutil), so the admin says so after the save, with what
to do. Measured before: TIME_ZONE=UTC, the site moved to Europe/Berlin, a heater at 1 kW for the
Berlin day of 4 March stayed at 23 kWh on the 4th and 1 kWh on the 3rd in
daily_energy_by_device, and the admin said only that the site was changed."""

import pytest
from django.urls import reverse

from enrich.models import Site
from tests.support.site_admin import site_form

pytestmark = pytest.mark.django_db


def save(client, site: Site, zone: str) -> list[str]:
    page = client.post(reverse("admin:enrich_site_change", args=[site.pk]),
                       site_form(site, timezone=zone), follow=True)  # fmt: skip
    assert page.status_code == 200
    return [str(message) for message in page.context["messages"]]


def test_a_site_zone_other_than_time_zone_is_told_the_views_count_time_zone_days(
    admin_client, settings
):
    settings.TIME_ZONE = "UTC"
    home = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, timezone="UTC")

    said = save(admin_client, home, "Europe/Berlin")

    assert Site.objects.get(pk=home.pk).timezone == "Europe/Berlin"  # saved all the same
    assert [m for m in said if "TIME_ZONE" in m] == [
        "Home: its time zone is Europe/Berlin, but the materialized views "
        "(daily_energy_by_device, hourly_room_activity, daily_carbon_summary) count the days of "
        "TIME_ZONE, UTC. For them to count this site's days, set TIME_ZONE=Europe/Berlin in "
        "enrich's environment (.env), restart enrich, and rebuild the days they hold "
        "(manage.py rebuild_view)."
    ]


def test_a_site_in_time_zone_is_told_nothing_of_it(admin_client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    home = Site.objects.create(name="Home", latitude=52.5, longitude=13.4, timezone="UTC")

    said = save(admin_client, home, "Europe/Berlin")

    assert not [m for m in said if "TIME_ZONE" in m]
