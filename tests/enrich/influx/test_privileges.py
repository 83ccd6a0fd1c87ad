"""InfluxDB 1.x with authentication on, set up as Home Assistant's InfluxDB add-on users set it
up: an admin, a `homeassistant` user with ALL on Home Assistant's database only, and a user
with READ only. A private influxd with auth enabled (bench's, on a free port with its own
directories) is started once for the module. What each user is told: a missing privilege is
named with the GRANT that gives it, never "check the password" (it was right)."""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from bench._tiers import private_influxd
from enrich.influx import (
    InfluxAuthError,
    InfluxPrivilegeError,
    TimeSeries,
    connect,
    reset_timeseries,
)
from enrich.readings import Reading

pytestmark = pytest.mark.influxdb

HA = "homeassistant"
ENRICH = "enrich_own"  # enrich's own database: no grant on it for the two users
PASSWORDS = {"admin": "admin-pw", HA: "ha-pw", "reader": "reader-pw"}
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
WRONG_PASSWORD = "Check INFLUXDB_USERNAME and INFLUXDB_PASSWORD"


@dataclass
class AuthInflux:
    url: str

    def as_user(self, user: str, password: str | None = None) -> TimeSeries:
        return connect(self.url, username=user, password=password or PASSWORDS.get(user, ""))

    def count(self, database: str, measurement: str) -> int:
        rows = list(self.as_user("admin").query(database, f'SELECT count(*) FROM "{measurement}"'))
        return max(rows[0].values.values()) if rows else 0


@pytest.fixture(scope="module")
def influx() -> Iterator[AuthInflux]:
    with private_influxd("privileges", auth=True) as server:

        def admin(statement: str) -> None:
            auth = ("admin", PASSWORDS["admin"]) if "CREATE USER admin" not in statement else None
            answer = requests.post(
                f"{server.url}/query", data={"q": statement}, auth=auth, timeout=10
            )
            answer.raise_for_status()

        admin(f"CREATE USER admin WITH PASSWORD '{PASSWORDS['admin']}' WITH ALL PRIVILEGES")
        for statement in (
            f"CREATE DATABASE {HA}",
            f"CREATE DATABASE {ENRICH}",
            f"CREATE USER {HA} WITH PASSWORD '{PASSWORDS[HA]}'",
            f"GRANT ALL ON {HA} TO {HA}",
            f"CREATE USER reader WITH PASSWORD '{PASSWORDS['reader']}'",
            f"GRANT READ ON {HA} TO reader",
        ):
            admin(statement)
        yield AuthInflux(server.url)


@pytest.fixture
def configured(settings, influx):
    """enrich's settings pointing at the private influxd; set INFLUXDB_USERNAME/PASSWORD."""
    settings.INFLUXDB_URL = influx.url
    settings.INFLUXDB_DATABASE, settings.HA_INFLUXDB_DATABASE = ENRICH, HA
    settings.TIER_DATABASE = HA
    reset_timeseries()
    yield settings
    reset_timeseries()


def test_a_user_with_all_on_the_database_writes_reads_and_deletes_there(influx):
    ts = influx.as_user(HA)
    assert ts.write(HA, [Reading("W", {"value": 5.0}, T0, {"entity_id": "plug"})]) == 1
    assert [r.values["value"] for r in ts.query(HA, 'SELECT "value" FROM "W"')] == [5.0]
    ts.delete(HA, T0, T0.replace(hour=13), measurement="W")
    assert influx.count(HA, "W") == 0


@pytest.mark.parametrize("user", [HA, "reader"])
def test_a_user_who_is_no_admin_is_told_the_admin_privilege_and_how_to_give_it(influx, user):
    ts = influx.as_user(user)
    for statement in (lambda: ts.create_database(ENRICH), ts.sizes):
        with pytest.raises(InfluxPrivilegeError) as refused:
            statement()
        said = str(refused.value)
        # It said "refused the credentials ... Check INFLUXDB_USERNAME and INFLUXDB_PASSWORD".
        assert f"refused INFLUXDB_USERNAME='{user}'" in said, said
        assert "requires admin privilege" in said, said
        assert f'GRANT ALL PRIVILEGES TO "{user}"' in said and "an admin user" in said, said
        assert WRONG_PASSWORD not in said, said


def test_a_read_only_user_writing_is_told_the_grant_and_nothing_is_written(influx):
    ts = influx.as_user("reader")
    with pytest.raises(InfluxPrivilegeError) as refused:
        ts.write(HA, [Reading("reader_W", {"value": 1.0}, T0, {"entity_id": "plug"})])
    said = str(refused.value)
    assert "not authorized to write" in said, said
    assert f'GRANT ALL ON "{HA}" TO "reader"' in said and WRONG_PASSWORD not in said, said
    assert influx.count(HA, "reader_W") == 0


def test_a_wrong_password_or_no_username_is_said_of_the_credentials(influx):
    with pytest.raises(InfluxAuthError) as wrong:
        influx.as_user("admin", "not-the-password").databases()
    assert not isinstance(wrong.value, InfluxPrivilegeError)
    assert "authorization failed" in str(wrong.value) and WRONG_PASSWORD in str(wrong.value)
    with pytest.raises(InfluxAuthError) as none:
        influx.as_user("").databases()
    assert "INFLUXDB_USERNAME is not set" in str(none.value), str(none.value)


def test_setup_influxdb_as_the_home_assistant_user_says_it_needs_an_admin(configured):
    configured.INFLUXDB_USERNAME, configured.INFLUXDB_PASSWORD = HA, PASSWORDS[HA]
    with pytest.raises(CommandError) as refused:
        call_command("setup_influxdb", stdout=io.StringIO(), stderr=io.StringIO())
    said = str(refused.value)
    assert f"CREATE DATABASE {ENRICH}" in said and "requires admin privilege" in said, said
    assert f'GRANT ALL PRIVILEGES TO "{HA}"' in said and WRONG_PASSWORD not in said, said


@pytest.mark.django_db
def test_an_api_read_refused_a_privilege_says_so_not_that_the_credentials_are_wrong(
    configured, client
):
    configured.INFLUXDB_USERNAME, configured.INFLUXDB_PASSWORD = HA, PASSWORDS[HA]
    User.objects.create_superuser("admin", password="admin-password")
    client.force_login(User.objects.get(username="admin"))
    answer = client.get("/retention/metrics")
    assert answer.status_code == 503
    said = answer.json()["detail"]
    assert said == (
        "Storage metrics cannot be read: InfluxDB refused enrich's user a privilege this read "
        "needs; the server log names it."
    ), said


@pytest.mark.django_db
def test_health_says_influxdb_is_not_ok_when_it_refuses_the_credentials(configured, client):
    configured.INFLUXDB_USERNAME, configured.INFLUXDB_PASSWORD = "admin", "not-the-password"
    User.objects.create_superuser("admin", password="admin-password")
    client.force_login(User.objects.get(username="admin"))
    answer = client.get("/api/health/")
    # It answered 200 with InfluxDB ok: /ping takes no credentials.
    assert answer.status_code == 503
    influxdb = answer.json()["services"]["influxdb"]
    assert influxdb["ok"] is False and WRONG_PASSWORD in influxdb["detail"], influxdb
    configured.INFLUXDB_PASSWORD = PASSWORDS["admin"]
    reset_timeseries()
    answer = client.get("/api/health/")
    assert answer.status_code == 200 and answer.json()["services"]["influxdb"]["ok"] is True
