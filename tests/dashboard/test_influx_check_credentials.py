"""The setup's "Test the connection" against an InfluxDB that asks for credentials (a private
influxd with auth enabled): it answers, so the page must not say that none does."""

import pytest
import requests
from django.contrib.auth.models import User

from bench._tiers import private_influxd
from tests.support.setup_form import FORM

pytestmark = pytest.mark.django_db


def test_an_influxdb_asking_for_credentials_is_said_to_answer(client):
    User.objects.create_superuser("admin", password="admin-password")
    client.force_login(User.objects.get(username="admin"))
    with private_influxd("setup-credentials", auth=True) as server:
        query = {"q": "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES"}
        requests.post(f"{server.url}/query", data=query, timeout=10).raise_for_status()
        version = requests.get(f"{server.url}/ping", timeout=10).headers["X-Influxdb-Version"]
        page = client.post("/setup/", {**FORM, "action": "test", "influxdb_url": server.url})
    said = page.context["influx_check"].message
    # It said "No InfluxDB answers at <url>: InfluxDB at <url> refused the credentials ...".
    assert said.startswith(
        f"InfluxDB {version} answers at {server.url}, but refused to list its databases"
    ), said
    # enrich sends the INFLUXDB_* credentials only to INFLUXDB_URL, so it sent none here.
    assert "without credentials" in said and "INFLUXDB_USERNAME" in said, said
