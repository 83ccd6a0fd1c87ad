"""InfluxDB over https:// with a certificate the home signed itself (a homelab CA, a Home
Assistant add-on's own): a private influxd with `https-enabled`, its certificate signed by a CA
made for the module. With INFLUXDB_CA_CERT naming that CA, enrich's start sets the database up
and points are written and read back; without it, every door's error names INFLUXDB_CA_CERT
and is permanent (retrying cannot help)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bench._tiers import PrivateInflux
from dashboard.first_run import check_influxdb
from enrich import influx
from enrich.errors import Permanent
from enrich.influx import InfluxCertificateError, TimeseriesError, connect, get_timeseries
from enrich.readings import Reading
from tests.support.tls import OwnCa, https_influxd, own_ca

pytestmark = pytest.mark.influxdb

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[PrivateInflux, OwnCa]]:
    with https_influxd(tmp_path_factory.mktemp("own-ca")) as both:
        yield both


@pytest.fixture
def https_influx(served) -> PrivateInflux:
    return served[0]


@pytest.fixture
def home_ca(served) -> OwnCa:
    return served[1]


@pytest.fixture
def configured(settings, https_influx, home_ca) -> Iterator[Path]:
    """The settings' InfluxDB: the https one, INFLUXDB_CA_CERT its CA."""
    settings.INFLUXDB_URL, settings.INFLUXDB_VERSION = https_influx.url, "1"
    settings.INFLUXDB_CA_CERT = str(home_ca.ca)
    settings.INFLUXDB_DATABASE = "enrich_own_ca"
    influx.reset_timeseries()
    yield home_ca.ca
    influx.reset_timeseries()


def test_with_influxdb_ca_cert_the_start_sets_up_and_points_are_written_and_read(configured):
    said = StringIO()
    call_command("setup_influxdb", stdout=said, stderr=StringIO())
    assert "database 'enrich_own_ca' ready" in said.getvalue()
    gateway = get_timeseries()
    assert gateway.url.startswith("https://")
    reading = Reading("carbon_intensity", {"value": 123.0}, T0, {"site": "1"})
    assert gateway.write("enrich_own_ca", [reading]) == 1
    rows = list(gateway.query("enrich_own_ca", 'SELECT "value" FROM "carbon_intensity"'))
    assert [row.values["value"] for row in rows] == [123.0]


def test_without_influxdb_ca_cert_the_error_names_it_and_is_permanent(configured, settings):
    settings.INFLUXDB_CA_CERT = ""
    influx.reset_timeseries()
    with pytest.raises(InfluxCertificateError) as refused:
        get_timeseries().ping()
    said = str(refused.value)
    assert isinstance(refused.value, Permanent)
    assert "set INFLUXDB_CA_CERT to the PEM file of the certificate authority" in said
    assert "certificate verify failed: unable to get local issuer certificate" in said
    # What `make run` runs first: it stops, naming the setting.
    with pytest.raises(CommandError, match="INFLUXDB_CA_CERT"):
        call_command("setup_influxdb", stdout=StringIO(), stderr=StringIO())


def test_a_certificate_another_ca_signed_is_refused_naming_the_setting(https_influx, tmp_path):
    stranger = own_ca(tmp_path, "neighbour")
    gateway = connect(https_influx.url, ca_cert=str(stranger.ca))
    with pytest.raises(InfluxCertificateError, match="INFLUXDB_CA_CERT"):
        gateway.databases()
    gateway.close()


def test_the_first_run_test_of_an_https_url_verifies_it_with_influxdb_ca_cert(
    settings, https_influx, home_ca
):
    settings.INFLUXDB_URL = "http://127.0.0.1:8186"  # the form tests another URL
    settings.INFLUXDB_CA_CERT = str(home_ca.ca)
    connect(https_influx.url, ca_cert=str(home_ca.ca)).create_database("ha_own_ca")
    check = check_influxdb(https_influx.url, "ha_own_ca")
    assert check.ok, check.message
    settings.INFLUXDB_CA_CERT = ""
    check = check_influxdb(https_influx.url, "ha_own_ca")
    assert not check.ok
    assert check.message.startswith(f"InfluxDB at {https_influx.url}: its TLS certificate could")
    assert check.message.endswith(
        "enrich reads INFLUXDB_CA_CERT from the environment: set it in .env and restart "
        "(make run), then test again."
    )


def test_the_2x_client_verifies_with_it_too(https_influx, home_ca):
    """Buckets, mappings and deletes go through influxdb-client (this 1.x server has no 2.x
    API: past the certificate it answers 404)."""
    options = {"token": "a-token", "org": "home"}
    with pytest.raises(InfluxCertificateError, match="set INFLUXDB_CA_CERT") as refused:
        connect(https_influx.url, "2", **options).retention_policies("home_assistant")
    assert "(certificate verify failed: unable to get local issuer certificate)" in str(
        refused.value
    )
    with pytest.raises(TimeseriesError, match="HTTP 404") as past_tls:
        connect(https_influx.url, "2", ca_cert=str(home_ca.ca), **options).retention_policies("x")
    assert not isinstance(past_tls.value, InfluxCertificateError)
