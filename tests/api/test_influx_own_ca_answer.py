"""The API's 503 when InfluxDB answers over https:// with a certificate the home signed itself
and INFLUXDB_CA_CERT is not set: the client learns the certificate could not be verified and
which setting names the CA, never InfluxDB's address, which the server log keeps."""

import logging
from collections.abc import Iterator

import pytest

from enrich import influx
from tests.support.tls import https_influxd

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]


@pytest.fixture
def unverified(settings, tmp_path) -> Iterator[str]:
    """The settings' InfluxDB: an https:// one whose CA enrich is not given; its address."""
    with https_influxd(tmp_path) as (server, _):
        settings.INFLUXDB_URL, settings.INFLUXDB_CA_CERT = server.url, ""
        influx.reset_timeseries()
        yield server.url.removeprefix("https://")
        influx.reset_timeseries()


def test_the_503_names_influxdb_ca_cert(unverified, staff, caplog):
    with caplog.at_level(logging.ERROR):
        answer = staff.get("/retention/metrics")
    assert answer.status_code == 503, answer.content
    detail = answer.json()["detail"]
    assert detail == (
        "Storage metrics cannot be read: InfluxDB's TLS certificate could not be verified "
        "(INFLUXDB_CA_CERT names the home's own certificate authority); the server log says why."
    )
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert unverified in logged and "set INFLUXDB_CA_CERT to the PEM file" in logged
