"""Home Assistant's InfluxDB integration stops writing (the add-on's password or port changed,
its queue filled and it gave up, HA down): nothing told the user, while the views and tiers
carried every sensor's last value forward for weeks. The periodic alert check keeps one alert
open while Home Assistant's database receives no point for HA_SILENT_HOURS, cleared once points
arrive (real InfluxDB, PostgreSQL; the check's `now` moves time)."""

import logging
from datetime import timedelta

import pytest

from retention.models import Alert
from retention.stats import alerts
from tests.retention.conftest import T0
from tests.support.api import token_client
from tests.support.proxy import influxdb_proxy_fixture  # noqa: F401  (fixture)
from tests.support.webhook import posts, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

H = timedelta(hours=1)
POINTS = [(0, 100.0), (3600, 120.0)]  # the newest at 2024-03-04 01:00 UTC
NEWEST = T0 + H


def silent(database: str, since: str, ago: str) -> str:
    return (
        f"Home Assistant's InfluxDB database {database!r} (HA_INFLUXDB_DATABASE) has received "
        f"no point since {since} UTC, {ago} ago, longer than HA_SILENT_HOURS=6: Home Assistant "
        "is not writing its states there. Meanwhile the views and tiers hold every sensor's "
        "last value (a power sensor's last reading adds energy to daily_energy_by_device as if "
        "it were still drawing it). Check Home Assistant's InfluxDB integration (its host, "
        "port, database, username and password, e.g. after an update of the InfluxDB add-on) "
        'and Home Assistant\'s log for its errors ("Dropped N old events": its queue filled '
        "and it gave up); raise HA_SILENT_HOURS if the entities it writes change less often."
    )


def opened() -> list[Alert]:
    return list(Alert.objects.filter(kind="ha_silent", cleared__isnull=True))


def test_silence_past_the_threshold_is_alerted_delivered_shown_and_cleared_by_new_points(
    ha_db, layout, webhook, caplog
):
    webhook.add("POST", "/api/webhook/enrich_alerts", 200, body="")
    client = token_client("stats")
    ha_db.saved_entity(layout, "sensor.heater_power", POINTS, unit="W")

    assert alerts.check_alerts(now=NEWEST + 5 * H).raised == []  # 5 h: a quiet spell
    with caplog.at_level(logging.ERROR, logger="retention.stats.alerts"):
        first = alerts.check_alerts(now=NEWEST + 7 * H + timedelta(minutes=5))

    [alert] = Alert.objects.all()
    assert first.raised == [alert.pk] and first.delivered == [alert.pk]
    assert (alert.kind, alert.run, alert.cleared) == ("ha_silent", None, None)
    assert alert.message == silent(ha_db.name, "2024-03-04 01:00", "7 h 5 min")
    assert f"retention alert {alert.pk} (ha_silent): {alert.message}" in caplog.messages
    [body] = posts(webhook)
    assert (body["kind"], body["operation"], body["run_id"], body["message"]) == (
        "ha_silent",
        "check_alerts",
        None,
        alert.message,
    )
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["alert_id"], shown["kind_label"], shown["operation_label"]) == (
        alert.pk,
        "Home Assistant writes nothing to InfluxDB",
        "alert check",
    )
    assert [a["alert_id"] for a in client.get("/retention/stats").json()["open_alerts"]] == [
        alert.pk
    ]

    # Ten days on (the newest point found in windows reaching further back): the same alert,
    # its message current, not delivered again.
    assert alerts.check_alerts(now=NEWEST + 10 * 24 * H).raised == []
    alert.refresh_from_db()
    assert alert.message == silent(ha_db.name, "2024-03-04 01:00", "10 days 0 h")
    assert len(posts(webhook)) == 1

    # Home Assistant writes again: cleared.
    ha_db.write_entity(layout, "sensor.heater_power", [(11 * 86400, 90.0)], unit="W")
    assert alerts.check_alerts(now=T0 + 11 * 24 * H + timedelta(minutes=5)).raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None
    assert client.get("/retention/alerts").json()["open"] == []


def test_a_threshold_of_0_says_nothing_and_clears_an_open_alert(ha_db, settings):
    ha_db.saved_entity("official", "sensor.heater_power", POINTS, unit="W")
    later = NEWEST + 30 * 24 * H
    settings.HA_SILENT_HOURS = 0
    assert alerts.check_alerts(now=later).raised == [] and not Alert.objects.exists()

    settings.HA_SILENT_HOURS = 6
    [raised] = alerts.check_alerts(now=later).raised
    assert Alert.objects.get(pk=raised).kind == "ha_silent"
    settings.HA_SILENT_HOURS = 0
    alerts.check_alerts(now=later)
    assert opened() == []


def test_nothing_discovered_says_nothing(ha_db):
    """A fresh install: Home Assistant's points are there, discovery has not run yet."""
    entity = ha_db.write_entity("official", "sensor.heater_power", POINTS, unit="W")
    later = NEWEST + 30 * 24 * H
    assert alerts.check_alerts(now=later).raised == [] and not Alert.objects.exists()

    entity.first_seen = T0
    entity.save()  # discovery registers it
    [raised] = alerts.check_alerts(now=later).raised
    assert Alert.objects.get(pk=raised).kind == "ha_silent"


def test_influxdb_out_of_reach_is_not_home_assistant_silent(ha_db, influxdb_proxy, caplog):
    """The outage is InfluxDB's (its runs retry and alert): no such alert is opened, and an
    open one is left as it is."""
    ha_db.saved_entity("official", "sensor.heater_power", POINTS, unit="W")
    influxdb_proxy.close()
    with caplog.at_level(logging.WARNING, logger="retention.entities.silent"):
        assert alerts.check_alerts(now=NEWEST + 8 * H).raised == []
    assert not Alert.objects.exists()
    assert any("Home Assistant's writes not checked" in m for m in caplog.messages)

    influxdb_proxy.open()
    [raised] = alerts.check_alerts(now=NEWEST + 8 * H).raised
    message = Alert.objects.get(pk=raised).message
    influxdb_proxy.close()
    assert alerts.check_alerts(now=NEWEST + 9 * H).raised == []
    [alert] = opened()
    assert (alert.pk, alert.message) == (raised, message)
