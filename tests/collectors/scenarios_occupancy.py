"""Happy-path scenario of the Google Calendar occupancy adapter for the shared contract test."""

from datetime import UTC, datetime

from collectors.base import Credentials, SiteInfo
from tests.support.replay import ReplayServer

EVENTS_PATH = "/calendar/v3/calendars/primary/events"
TOKEN_PATH = "/token"


def google_calendar(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """A valid access token (so the first request is events.list), Berlin, DST day 09:38."""
    server.add("GET", EVENTS_PATH, json=server.load_fixture("google/events_dst_berlin.json"))
    server.add("POST", TOKEN_PATH, json=server.load_fixture("google/token_refresh.json"))
    site = SiteInfo(name="Berlin flat", latitude=52.52, longitude=13.405, timezone="Europe/Berlin")
    credentials = Credentials(
        options={
            "base_url": server.url,
            "token": "ya29.a0scenario-access-token",
            "refresh_token": "1//0gscenario-refresh-token",
            "token_uri": server.url_for(TOKEN_PATH),
            "client_id": "123-test.apps.googleusercontent.com",
            "client_secret": "GOCSPX-test-secret",
            "account": "alex.morgan@example.com",
        }
    )
    return site, credentials, datetime(2026, 3, 29, 7, 38, tzinfo=UTC)


SCENARIOS = {"google_calendar": google_calendar}
