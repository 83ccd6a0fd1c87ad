"""A Google Calendar connection without Google's client libraries: the provider's name, the
scopes asked for, the endpoints, the tokens, the error that asks a person to reconnect and the
connection's status in the API.

Every process that starts Django imports the adapters (collectors.registry), and a worker the
API's provider values (Home Assistant's entities); the libraries (google-auth, httplib2 with
pyparsing, google-api-python-client: client.py; google-auth-oauthlib: oauth.py) are imported
by a call to Google or the setup page, not at each start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.answers import checked_url
from enrich.http import AuthError
from enrich.models import OAuthConnection, ProviderConfig

SOURCE, PROVIDER = "occupancy", "google_calendar"
SETUP_PATH = "/oauth/google/"
SCOPES = ("https://www.googleapis.com/auth/calendar.readonly",)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_API_BASE = "https://www.googleapis.com"


class ReconnectNeeded(AuthError):
    """Google no longer accepts the refresh token (revoked, expired, or the app is still in
    "Testing" and 7 days have passed): only a person reconnecting on the setup page helps."""

    # Set once the failure was reported at ERROR (the connection marked "needs reconnect"),
    # so later runs repeat it at WARNING only.
    already_reported: bool = False


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expiry: datetime | None  # aware; None = unknown
    client_id: str
    client_secret: str = field(repr=False)
    token_uri: str = DEFAULT_TOKEN_URI


def api_root(options: Mapping[str, Any]) -> str:
    """options.base_url (default DEFAULT_API_BASE) when it is an http(s) URL with a host; a
    ConfigError naming it otherwise."""
    return checked_url(options, DEFAULT_API_BASE, "base_url", ("http", "https"), PROVIDER)


def connection_status(config: ProviderConfig) -> dict | None:
    """What the API shows about a provider's OAuth connection (its status, and in
    `status_label` in words as the admin and the setup page say it); None when it has none."""
    if (config.source, config.provider) != (SOURCE, PROVIDER):
        return None
    connection = OAuthConnection.objects.filter(provider_config=config).first()
    if connection is None:
        return {
            "status": OAuthConnection.NOT_CONNECTED,
            "status_label": OAuthConnection.NOT_CONNECTED_LABEL,
            "message": f"Open {SETUP_PATH} and click 'Connect Google Calendar'.",
        }
    status = {
        "status": connection.status,
        "status_label": connection.get_status_display(),
        "account": connection.account_email,
        "calendars": [c.get("id") for c in connection.calendars if isinstance(c, dict)],
        "token_expiry": connection.token_expiry.isoformat() if connection.token_expiry else None,
    }
    if connection.status == OAuthConnection.NEEDS_RECONNECT:
        status["message"] = (
            f"Google no longer accepts the refresh token: open {SETUP_PATH} and click "
            f"'Connect Google Calendar'. {connection.last_error}"
        )
    return status
