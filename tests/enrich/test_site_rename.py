"""Renaming a site in the admin: its meter and occupancy points carry its name as the `site`
tag, so a rename splits their series; the form says so and renames only once confirmed. Real
PostgreSQL and InfluxDB."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from enrich.influx import get_timeseries, reset_timeseries
from enrich.models import Site
from enrich.readings import Reading
from tests.support.isolation import fresh_database
from tests.support.replay import unused_url
from tests.support.site_admin import site_form

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def influx(settings):
    with fresh_database("rename") as settings.INFLUXDB_DATABASE:
        yield get_timeseries()


@pytest.fixture
def home(db):
    return Site.objects.create(name="Home", latitude=52.5, longitude=13.4)


def rename(client, site: Site, **changes):
    return client.post(
        reverse("admin:enrich_site_change", args=[site.pk]), site_form(site, **changes)
    )


def meter_point(site: str) -> Reading:
    tags = {"meter_type": "sense", "device": "98765", "provider": "sense", "site": site}
    return Reading("smart_meter", {"total_power_w": 812.0}, WHEN, tags)


def test_renaming_a_site_with_meter_points_warns_and_renames_once_confirmed(
    admin_client, influx, settings, home
):
    person = {"source": "google_calendar", "person": "household", "site": "Home"}
    occupancy = Reading("occupancy_prediction", {"currently_home": True}, WHEN, person)
    influx.write(settings.INFLUXDB_DATABASE, [meter_point("Home"), occupancy])

    page = rename(admin_client, home, name="Home North")

    assert page.status_code == 200  # the form again, not saved
    [warning] = page.context["adminform"].form.errors["confirm_rename"]
    assert warning == (
        "This site's points in InfluxDB (occupancy_prediction, smart_meter) carry its name as the `site` tag. New "
        "points will be tagged site='Home North'; those stored keep site='Home', so each series "
        "splits in two at the rename. To query across it, select both names: WHERE "
        '("site" = \'Home\' OR "site" = \'Home North\'). Tick "I understand" to rename all '
        "the same."
    )
    assert Site.objects.get(pk=home.pk).name == "Home"

    saved = rename(admin_client, home, name="Home North", confirm_rename="on")

    assert saved.status_code == 302
    assert Site.objects.get(pk=home.pk).name == "Home North"


def test_a_rename_without_points_of_the_site_and_other_edits_need_no_confirmation(
    admin_client, influx, settings, home
):
    influx.write(settings.INFLUXDB_DATABASE, [meter_point("Elsewhere")])
    assert rename(admin_client, home, grid_region="DE").status_code == 302  # no rename
    assert rename(admin_client, home, name="Home North").status_code == 302
    assert Site.objects.get(pk=home.pk).name == "Home North"


def test_the_add_form_has_no_confirmation(admin_client):
    page = admin_client.get(reverse("admin:enrich_site_add")).content.decode()
    assert "confirm_rename" not in page and "I understand" not in page


def test_with_influxdb_down_a_rename_is_confirmed_all_the_same(admin_client, settings, home):
    settings.INFLUXDB_URL = unused_url()
    settings.INFLUXDB_TIMEOUT = 1.0
    reset_timeseries()
    try:
        page = rename(admin_client, home, name="Home North")
        saved = rename(admin_client, home, name="Home North", confirm_rename="on")
    finally:
        reset_timeseries()
    [warning] = page.context["adminform"].form.errors["confirm_rename"]
    assert warning.startswith("InfluxDB could not be asked whether this site has points (")
    assert "; if it has, its points carry its name as the `site` tag." in warning
    assert saved.status_code == 302 and Site.objects.get(pk=home.pk).name == "Home North"
