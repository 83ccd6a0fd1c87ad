"""INFLUXDB_CA_CERT and MQTT_CA_CERT, the home's own certificate authorities (config.tls): a path
that holds no PEM certificate, or one given for a server reached without TLS, stops the start
naming the setting; a PEM CA is taken as its absolute path. And a rediss:// REDIS_URL as Celery
takes it."""

import pytest

from tests.support.startup import load_settings, refused_start
from tests.support.tls import own_ca

HTTPS = {"INFLUXDB_URL": "https://influxdb.home:8086"}
MQTTS = {"MQTT_URL": "mqtts://mqtt.home:8883"}
UNREADABLE = "cannot be read as a CA certificate"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {**HTTPS, "INFLUXDB_CA_CERT": "/nonexistent/home-ca.pem"},
            f"INFLUXDB_CA_CERT='/nonexistent/home-ca.pem' {UNREADABLE} (No such file or directory)",
        ),
        (
            {**HTTPS, "INFLUXDB_CA_CERT": "README.md"},
            f"INFLUXDB_CA_CERT='README.md' {UNREADABLE} (it holds no PEM",
        ),
        (
            {**HTTPS, "INFLUXDB_CA_CERT": "docs"},
            f"INFLUXDB_CA_CERT='docs' {UNREADABLE} (Is a directory)",
        ),
        (
            {**MQTTS, "MQTT_CA_CERT": "var/no-such-ca.pem"},
            f"MQTT_CA_CERT='var/no-such-ca.pem' {UNREADABLE}",
        ),
        (
            {"INFLUXDB_URL": "http://127.0.0.1:8186", "INFLUXDB_CA_CERT": "/etc/ssl/ca.pem"},
            "INFLUXDB_CA_CERT='/etc/ssl/ca.pem' is the CA of a server reached over TLS, but "
            "INFLUXDB_URL starts with http://: use https:// (or leave INFLUXDB_CA_CERT empty).",
        ),
        (
            {"MQTT_URL": "mqtt://mqtt.home:1883", "MQTT_CA_CERT": "/etc/ssl/ca.pem"},
            "MQTT_CA_CERT='/etc/ssl/ca.pem' is the CA of a server reached over TLS, but MQTT_URL "
            "starts with mqtt://: use mqtts:// (or leave MQTT_CA_CERT empty).",
        ),
    ],
)
def test_a_ca_file_that_cannot_serve_stops_the_start_naming_it(overrides, named):
    stderr = refused_start(**overrides)
    assert "ImproperlyConfigured" in stderr
    assert named in stderr


def test_a_pem_ca_is_taken_for_each(tmp_path):
    ca = own_ca(tmp_path).ca
    result = load_settings(
        show="settings.INFLUXDB_CA_CERT, settings.MQTT_CA_CERT",
        **HTTPS, **MQTTS, INFLUXDB_CA_CERT=str(ca), MQTT_CA_CERT=str(ca),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(ca), str(ca)]


@pytest.mark.parametrize(
    ("redis_url", "celery"),
    [
        (
            "rediss://redis.home:6380/0?ssl_ca_certs=/etc/enrich/ca.pem",
            "rediss://redis.home:6380/0?ssl_ca_certs=/etc/enrich/ca.pem&ssl_cert_reqs=required",
        ),
        ("rediss://redis.home:6380/0", "rediss://redis.home:6380/0?ssl_cert_reqs=required"),
        (
            "rediss://redis.home:6380/0?ssl_cert_reqs=optional",
            "rediss://redis.home:6380/0?ssl_cert_reqs=optional",
        ),
        ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
    ],
)
def test_celery_takes_rediss_with_the_certificate_check_redis_py_makes(redis_url, celery):
    """Celery's result store refuses a rediss:// URL without ssl_cert_reqs: every worker
    stopped at its start. It gets redis-py's default (required), said."""
    result = load_settings(
        show="settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND",
        REDIS_URL=redis_url, CELERY_BROKER_URL=None, CELERY_RESULT_BACKEND=None,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [celery, celery]
