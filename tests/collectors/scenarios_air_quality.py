"""Happy-path scenarios of the air-quality adapters for the shared contract test."""

from datetime import UTC, datetime

from collectors.base import Credentials, SiteInfo
from tests.support.replay import ReplayServer

AIRNOW_CURRENT_PATH = "/aq/observation/current/ziplatlong/"


def airnow(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """The current (2026) observation service answering for Seattle at 03:00 PDT."""
    server.add(
        "GET", AIRNOW_CURRENT_PATH, json=server.load_fixture("airnow/observation_current.json")
    )
    site = SiteInfo(
        name="Seattle home", latitude=47.6021, longitude=-122.3290, timezone="America/Los_Angeles"
    )
    credentials = Credentials(api_key="test-airnow-key-123", options={"base_url": server.url})
    return site, credentials, datetime(2026, 10, 8, 10, 40, tzinfo=UTC)


SCENARIOS = {"airnow": airnow}
