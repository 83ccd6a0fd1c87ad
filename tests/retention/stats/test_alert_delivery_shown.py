"""An alert's failed delivery as a read-only user reads it (GET /retention/alerts, the open
alerts of /retention/stats): why it failed, never where it went. The webhook's URL may hold a
secret (a token in its path or query) and its host is configuration; staff read the whole
error in the admin."""

import socket
from datetime import UTC, datetime

import pytest

from retention.models import Alert, RetentionRun
from retention.stats import alerts
from tests.support.api import token_client
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)
from tests.support.webhook import HOOK, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ha_silence_unchecked")]


def failed_run() -> RetentionRun:
    return RetentionRun.objects.create(
        operation=RetentionRun.Operation.ARCHIVE,
        status=RetentionRun.Status.FAILED,
        started=datetime.now(UTC),
        errors="the archive target refused the upload",
    )


def closed_port() -> int:
    """A loopback port nothing listens on (a receiver that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shown(client) -> list[str]:
    """Every delivery error the API answers: the alerts' history and open ones, the stats'."""
    listed = client.get("/retention/alerts").json()
    stats = client.get("/retention/stats").json()
    alerts_shown = listed["history"] + listed["open"] + stats["open_alerts"]
    assert len(alerts_shown) == 3
    return [a["delivery_error"] for a in alerts_shown]


def test_a_refused_connection_is_shown_without_the_receivers_address(settings, admin_client):
    port = closed_port()
    settings.ALERT_WEBHOOK_URL = f"http://localhost:{port}/notify/hook-7f3a?token=s3cr3t"
    settings.HTTP_TIMEOUT_SECONDS = 5.0
    failed_run()

    assert alerts.check_alerts().delivery_failed

    [alert] = Alert.objects.all()
    assert f"localhost:{port}" in alert.delivery_error  # the record keeps where it went
    for error in shown(token_client("reader")):
        assert "could not connect (connection refused" in error
        assert "localhost" not in error and str(port) not in error
        assert "hook-7f3a" not in error and "token" not in error
        assert "[hidden] could not connect" in error
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/change/").content.decode()
    assert f"localhost:{port}/notify/hook-7f3a" in page  # staff read the whole error


def test_a_refusal_is_shown_with_its_status_and_without_the_host_the_receiver_names(
    webhook, settings, admin_client
):
    """A receiver's error page naming its own host (Apache: "Server at <host> Port <port>")."""
    host = "localhost"
    webhook.add("POST", HOOK, 404, body=f"Not Found. Apache Server at {host} Port 8123")
    settings.ALERT_WEBHOOK_URL = settings.ALERT_WEBHOOK_URL.replace("127.0.0.1", host)
    port = settings.ALERT_WEBHOOK_URL.split(":")[2].split("/")[0]
    failed_run()

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert f"{host}:{port}" in alert.delivery_error and f"Server at {host} Port" in (
        alert.delivery_error
    )
    for error in shown(token_client("reader")):
        assert "answered HTTP 404" in error and "Check ALERT_WEBHOOK_URL" in error
        assert host not in error and port not in error
        assert "Server at [hidden] Port 8123" in error
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/change/").content.decode()
    assert f"Server at {host} Port" in page
