"""A parameter the start page reads, given twice (`?site=1&site=2`, a setup field sent twice),
is a 400 naming it, as the REST API answers: Django handed the page the last value, so the
status page showed one of two sites asked for and the setup created a site from one of two
names, without a word."""

import pytest
from django.contrib.auth.models import User

from enrich.models import ProviderConfig, Site
from tests.support.setup_form import FORM

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "x"))
    return client


def test_the_status_page_refuses_two_sites(admin):
    north = Site.objects.create(name="North", latitude=52.5, longitude=13.4)
    south = Site.objects.create(name="South", latitude=48.1, longitude=11.6)
    response = admin.get(f"/?site={north.pk}&site={south.pk}")
    assert response.status_code == 400
    assert response.content.decode() == "site: given 2 times: give it once."
    # one site, or other parameters given twice, are still the status page
    assert admin.get("/", {"site": south.pk, "x": ["1", "2"]}).context["site"] == south


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("name", "Home"),
        ("timezone", "Europe/Paris"),
        ("country", "DE"),
        ("influxdb_url", FORM["influxdb_url"]),  # the same value twice too
        ("action", "test"),
    ],
)
def test_the_setup_form_refuses_a_field_sent_twice_and_creates_nothing(admin, name, second):
    form = {**FORM, "providers": [], "action": "create"}  # no provider: no call
    form[name] = [form[name], second]
    response = admin.post("/setup/", form)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [f"{name}: given 2 times: give it once."]
    assert f"{name}: given 2 times: give it once." in response.content.decode()
    assert not Site.objects.exists() and not ProviderConfig.objects.exists()


def test_the_connection_test_refuses_a_database_sent_twice(admin):
    form = {**FORM, "action": "test", "ha_database": ["home_assistant", "other"]}
    response = admin.post("/", form)  # the start page takes the form too
    assert response.status_code == 400
    assert "influx_check" not in response.context
    assert "ha_database: given 2 times: give it once." in response.content.decode()


def test_several_providers_are_still_one_field(admin):
    form = {**FORM, "providers": ["uk_carbon_intensity", "octopus"], "octopus_region": "C"}
    assert admin.post("/setup/", {**form, "action": "test"}).status_code == 200
    assert not Site.objects.exists()
