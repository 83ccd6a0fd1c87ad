"""The alerts' webhook receiver (ALERT_WEBHOOK_URL): a Home-Assistant-like receiver on loopback
(the local replay server), and the alerts POSTed to it."""

import pytest

HOOK = "/api/webhook/enrich_alerts"


@pytest.fixture(name="webhook")
def webhook_fixture(settings, replay_server):
    """A Home-Assistant-like webhook receiver on loopback (HA answers 200 with no body)."""
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(HOOK)
    settings.HTTP_TIMEOUT_SECONDS = 5.0
    return replay_server


def posts(server) -> list[dict]:
    """The JSON bodies POSTed to the receiver, in order."""
    return [r.json() for r in server.calls("POST", HOOK)]
