"""HA_INFLUXDB_DATABASE misspelt (`home_assitant`), or naming a database Home Assistant never
wrote to: a fresh install said nothing (nothing discovered), an installed one logged a warning
of an InfluxDB query error. The alert check opens the `ha_silent` alert naming the setting,
what is wrong and the databases that hold Home Assistant's points; it clears once the setting
is right. Discovery of a missing database is a failed task naming them (real InfluxDB,
PostgreSQL)."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from enrich.influx import get_timeseries
from retention.entities.discovery import DiscoveryError, discover
from retention.entities.tasks import discover_entities
from retention.models import Alert
from retention.stats import alerts
from tests.retention.conftest import T0, HaDatabase
from tests.support.api import token_client
from tests.support.isolation import fresh_database
from tests.support.webhook import posts, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

POINTS = [(0, 100.0), (3600, 120.0)]
NOW = T0 + timedelta(hours=2)  # within HA_SILENT_HOURS of the newest point
POINTED = "Databases with Home Assistant's points in the official InfluxDB integration's layout: "
FIX = (
    "Set HA_INFLUXDB_DATABASE (.env) to the database Home Assistant's InfluxDB integration "
    "writes to (its `database:`, default home_assistant) and restart enrich"
)


def missing(name: str) -> str:
    return (
        f"InfluxDB has no database {name!r} (HA_INFLUXDB_DATABASE): enrich reads Home "
        "Assistant's states from there, so discovery and the tier runs fail and the views have "
        "nothing to read. "
    )


def empty(name: str) -> str:
    return (
        f"Home Assistant's InfluxDB database {name!r} (HA_INFLUXDB_DATABASE) holds no Home "
        "Assistant point (no measurement with an entity_id tag): Home Assistant's InfluxDB "
        "integration writes to another database, or has not written yet. "
    )


def opened() -> list[Alert]:
    return list(Alert.objects.filter(kind="ha_silent", cleared__isnull=True))


def named_databases(message: str) -> list[str]:
    """The databases the message says hold Home Assistant's points."""
    return message.split(POINTED, 1)[1].split(" (InfluxDB holds: ", 1)[0].split(", ")


def test_a_misspelt_database_on_a_fresh_install_is_alerted_shown_and_cleared(
    ha_db, settings, webhook
):
    webhook.add("POST", "/api/webhook/enrich_alerts", 200, body="")
    client = token_client("stats")
    ha_db.write_entity("official", "sensor.heater_power", POINTS, unit="W")  # not discovered
    typo = f"{ha_db.name}_typo"
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = typo

    first = alerts.check_alerts(now=NOW)
    [alert] = Alert.objects.all()
    assert first.raised == [alert.pk] and first.delivered == [alert.pk]
    assert (alert.kind, alert.run, alert.cleared) == ("ha_silent", None, None)
    assert alert.message.startswith(missing(typo) + POINTED), alert.message
    assert ha_db.name in named_databases(alert.message)
    assert alert.message.endswith(
        f"{FIX}; or, if Home Assistant is to write to {typo!r}, create it in InfluxDB and point "
        "the integration at it."
    )
    [body] = posts(webhook)
    assert (body["kind"], body["message"]) == ("ha_silent", alert.message)
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["alert_id"], shown["kind_label"]) == (
        alert.pk,
        "Home Assistant writes nothing to InfluxDB",
    )
    assert [a["alert_id"] for a in client.get("/retention/stats").json()["open_alerts"]] == [
        alert.pk
    ]
    assert alerts.check_alerts(now=NOW).raised == [] and len(posts(webhook)) == 1  # once

    # Discovery of the misspelt database: a failed task naming where Home Assistant's points are.
    result = discover_entities.apply()
    assert result.state == "FAILURE" and isinstance(result.result, DiscoveryError)
    said = str(result.result)
    assert said.startswith(f"InfluxDB has no database {typo!r}. Set HA_INFLUXDB_DATABASE")
    assert ha_db.name in said.split(POINTED)[1]

    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = ha_db.name  # set right
    assert alerts.check_alerts(now=NOW).raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None and opened() == []
    assert client.get("/retention/alerts").json()["open"] == []


def test_a_database_home_assistant_never_wrote_to_is_alerted_until_its_first_point(ha_db, settings):
    ha_db.write_entity("official", "sensor.heater_power", POINTS, unit="W")
    with fresh_database("unwritten") as unwritten:
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = unwritten
        report = discover()  # succeeds, finding nothing: it says why
        assert report.total == 0
        assert f"\nWarning: {empty(unwritten)}{POINTED}" in str(report)

        [raised] = alerts.check_alerts(now=NOW).raised
        message = Alert.objects.get(pk=raised).message
        assert message.startswith(empty(unwritten) + POINTED), message
        assert ha_db.name in named_databases(message) and unwritten not in named_databases(message)
        assert message.endswith(
            f"{FIX}. Where Home Assistant was only just pointed at {unwritten!r}, this holds "
            "until its first point there."
        )

        # Home Assistant's first point there: cleared.
        HaDatabase(unwritten).write_entity("official", "sensor.heater_power", [(7200, 90.0)])
        assert alerts.check_alerts(now=NOW).raised == [] and opened() == []


def test_a_database_gone_after_discovery_is_alerted_not_only_logged(ha_db, settings, caplog):
    """The registry holds entities; HA_INFLUXDB_DATABASE then names a database InfluxDB does
    not have: it was a query error, logged as a warning with no alert."""
    ha_db.saved_entity("official", "sensor.heater_power", POINTS, unit="W")
    assert alerts.check_alerts(now=NOW).raised == []

    gone = f"{ha_db.name}_gone"
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = gone
    [raised] = alerts.check_alerts(now=NOW).raised
    assert Alert.objects.get(pk=raised).message.startswith(missing(gone))
    assert not any("writes not checked" in m for m in caplog.messages)

    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = ha_db.name
    alerts.check_alerts(now=NOW)
    assert opened() == []


def test_a_threshold_of_0_says_nothing_of_the_database_either(settings):
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = "no_such_ha_database_here"
    settings.HA_SILENT_HOURS = 0
    assert alerts.check_alerts(now=NOW).raised == [] and opened() == []
    settings.HA_SILENT_HOURS = 6
    [raised] = alerts.check_alerts(now=NOW).raised
    settings.HA_SILENT_HOURS = 0
    alerts.check_alerts(now=NOW)
    assert Alert.objects.get(pk=raised).cleared is not None


def test_the_other_layout_names_ha_layout(ha_db, settings):
    ha_db.write_entity("official", "sensor.heater_power", POINTS, unit="W")
    settings.HA_LAYOUT = "ingestor"
    [raised] = alerts.check_alerts(now=NOW).raised
    assert Alert.objects.get(pk=raised).message == (
        f"Home Assistant's InfluxDB database {ha_db.name!r} (HA_INFLUXDB_DATABASE) holds its "
        "points in the official InfluxDB integration's layout, while HA_LAYOUT=ingestor reads "
        "the HA Ingestor layout (measurement home_assistant_events): discovery finds no entity "
        "there. Set HA_LAYOUT=official (.env) and restart enrich."
    )
    settings.HA_LAYOUT = "official"
    alerts.check_alerts(now=NOW)
    assert opened() == []


def test_the_demo_home_configured_as_documented_raises_nothing(settings):
    """docs/deployment.md: demo_home writes its database, HA_INFLUXDB_DATABASE names it; before
    and after discovery the check opens no alert."""
    with fresh_database("demo") as demo:
        get_timeseries().drop_database(demo)  # demo_home makes it, as on a fresh install
        call_command("demo_home", "--days", "1", "--entities", "4", "--database", demo)
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = demo
        assert alerts.check_alerts().raised == []
        assert discover().total == 4
        assert alerts.check_alerts().raised == [] and not Alert.objects.exists()
