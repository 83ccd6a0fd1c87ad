"""Google Calendar OAuth: the consent flow and the connection status.

The setup page (collectors.occupancy.google.views) calls `start_consent` and `finish_consent`. Between the
two requests the flow's `state` and PKCE `code_verifier` wait in Redis for 10 minutes under a
key named by the state; the callback takes them with GETDEL, so each state works once.

Tokens live encrypted in `OAuthConnection`; how the collectors renew them, save them and mark
a connection "needs reconnect" (without overwriting a reconnect made meanwhile) is in
collectors.occupancy.google.tokens.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from collectors.occupancy.google import client as google_client
from collectors.occupancy.google import listing
from collectors.occupancy.google.connection import PROVIDER, SCOPES, SOURCE, Tokens
from enrich.crypto import require_readable
from enrich.http import HttpError, HttpPolicy, scrub_text
from enrich.models import DEFAULT_INTERVAL_SECONDS, OAuthConnection, ProviderConfig, Site
from enrich.redis.client import CONNECTION_ERRORS, RedisUnavailable, get_redis, make_key

logger = logging.getLogger("enrich.oauth")

STATE_TTL_SECONDS = 600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class OAuthSetupError(Exception):
    """Something a person can fix; the message says what happened and what to do."""


@dataclass(frozen=True)
class PendingConsent:
    state: str
    code_verifier: str = field(repr=False)  # the PKCE secret
    site_id: int
    user_id: int
    redirect_uri: str


# --- settings -------------------------------------------------------------------------------


def auth_uri() -> str:
    return settings.GOOGLE_AUTH_URI


def token_uri() -> str:
    return settings.GOOGLE_TOKEN_URI


def api_base(config: ProviderConfig | None = None) -> str:
    """The Calendar API root: the config's option base_url (a proxy), else GOOGLE_API_BASE
    (the setup page's calendar list went to GOOGLE_API_BASE past the option)."""
    option = (config.options or {}).get("base_url") if config is not None else None
    return option if isinstance(option, str) and option else settings.GOOGLE_API_BASE


def client_credentials(config: ProviderConfig | None) -> tuple[str, str]:
    """The OAuth client: the provider config's username/password if set, else the settings."""
    if config is not None and config.username and config.password:
        remedy = "re-enter the OAuth client secret (the provider config's password) in the admin"
        require_readable(config, "password", remedy=remedy)
        return config.username, config.password
    return settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET


def calendar_config(site: Site) -> ProviderConfig | None:
    return ProviderConfig.objects.filter(site=site, source=SOURCE, provider=PROVIDER).first()


# --- consent flow ----------------------------------------------------------------------------

_transport_lock = threading.Lock()


@contextmanager
def _plain_http_allowed_for_loopback(*uris: str):
    """oauthlib refuses http:// endpoints; allow them only when every one is on loopback
    (tests, a local proxy), never for a real host."""
    local = all(
        urlsplit(u).scheme == "http" and urlsplit(u).hostname in LOOPBACK_HOSTS for u in uris
    )
    if not local:
        yield
        return
    with _transport_lock:
        previous = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = previous


def _flow(client_id: str, client_secret: str, redirect_uri: str, **kwargs) -> Flow:
    config = {
        "web": {
            "client_id": client_id,
            "client_secret": client_secret,
            "auth_uri": auth_uri(),
            "token_uri": token_uri(),
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(config, scopes=list(SCOPES), redirect_uri=redirect_uri, **kwargs)


def _state_key(state: str) -> str:
    return make_key("oauth", "google", "state", state)


def start_consent(site: Site, user_id: int, redirect_uri: str) -> str:
    """The Google consent URL for this site; the state and PKCE verifier are kept server-side."""
    client_id, client_secret = client_credentials(calendar_config(site))
    if not (client_id and client_secret):
        raise OAuthSetupError(
            "No Google OAuth client is configured. Create one in the Google Cloud console "
            "(APIs & Services > Credentials > OAuth client ID, type 'Web application') and set "
            "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, then restart enrich."
        )
    flow = _flow(client_id, client_secret, redirect_uri)
    with _plain_http_allowed_for_loopback(auth_uri()):
        url, state = flow.authorization_url(access_type="offline", prompt="consent")
    pending = {
        "code_verifier": flow.code_verifier,
        "site_id": site.pk,
        "user_id": user_id,
        "redirect_uri": redirect_uri,
    }
    try:
        get_redis().set(_state_key(state), json.dumps(pending), ex=STATE_TTL_SECONDS)
    except CONNECTION_ERRORS as exc:
        raise RedisUnavailable(settings.REDIS_URL, exc, "The OAuth state store") from None
    return url


def take_pending(state: str) -> PendingConsent | None:
    """The flow waiting for this state, removed so it cannot be used again; None if unknown,
    expired or already used."""
    if not state or len(state) > 200:
        return None
    try:
        raw = get_redis().getdel(_state_key(state))
    except CONNECTION_ERRORS as exc:
        raise RedisUnavailable(settings.REDIS_URL, exc, "The OAuth state store") from None
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingConsent(state=state, **data)


def _exchange_code(pending: PendingConsent, config: ProviderConfig | None, code: str) -> Tokens:
    client_id, client_secret = client_credentials(config)
    flow = _flow(
        client_id,
        client_secret,
        pending.redirect_uri,
        state=pending.state,
        code_verifier=pending.code_verifier,
    )
    try:
        with _plain_http_allowed_for_loopback(token_uri()):
            flow.fetch_token(code=code, timeout=HttpPolicy.from_settings().timeout)
    except Warning as changed:
        # oauthlib: Google granted other scopes than asked. Fewer: the box was left unticked.
        # More: Google adds what the account granted this client before; the token is good.
        if not set(SCOPES) <= set(getattr(changed, "new_scope", None) or ()):
            raise OAuthSetupError(_scope_missing()) from None
        flow.oauth2session.token = changed.token
    except OAuth2Error as exc:
        raise OAuthSetupError(
            f"Google did not accept the authorization code ({exc.error}: "
            f"{scrub_text(exc.description or '')}). Codes work once and expire within "
            "minutes: start again with 'Connect Google Calendar'. If this repeats, check that "
            "the redirect URI in the Google Cloud console matches this page's address."
        ) from None
    except requests.RequestException as exc:
        raise OAuthSetupError(
            f"Could not reach Google's token endpoint ({type(exc).__name__}). Check the "
            "server's internet connection (and GOOGLE_TOKEN_URI), then connect again."
        ) from None
    except UNREADABLE_TOKEN as exc:  # oauthlib reading a body that is no token
        raise OAuthSetupError(_token_unreadable(exc)) from None
    try:
        credentials = flow.credentials
    except UNREADABLE_TOKEN as exc:  # e.g. no expires_in, or one past the calendar's end
        raise OAuthSetupError(_token_unreadable(exc)) from None
    granted = set(credentials.granted_scopes or SCOPES)
    if not set(SCOPES) <= granted:
        raise OAuthSetupError(_scope_missing())
    if not credentials.refresh_token:
        raise OAuthSetupError(
            "Google returned no refresh token, so enrich could not keep reading the calendar. "
            "Remove enrich's access at https://myaccount.google.com/permissions and connect "
            "again."
        )
    return Tokens(
        access_token=credentials.token,
        refresh_token=credentials.refresh_token,
        expiry=credentials.expiry.replace(tzinfo=UTC) if credentials.expiry else None,
        client_id=client_id,
        client_secret=client_secret,
        token_uri=token_uri(),
    )


# What oauthlib and google-auth-oauthlib raise on a token answer they cannot read (a list, a
# string, scope or expires_in of the wrong type, no expires_in, an expiry past year 9999).
UNREADABLE_TOKEN = (ValueError, TypeError, AttributeError, KeyError, OverflowError)


def _token_unreadable(exc: Exception) -> str:
    return (
        f"Google's token endpoint ({token_uri()}) answered with no token enrich can read "
        f"({type(exc).__name__}: {scrub_text(str(exc))[:200]}). Nothing was changed. Connect "
        "again; if this repeats, check GOOGLE_TOKEN_URI and any proxy in between."
    )


def _scope_missing() -> str:
    return (
        "Google did not grant read access to your calendars (the box 'See and download any "
        "calendar you can access' was not ticked). Connect again and allow it."
    )


def token_fields(tokens: Tokens) -> dict[str, Any]:
    """The OAuthConnection fields that keep tokens Google just gave (at a consent or a
    renewal), with the time they came; every place that saves tokens writes these."""
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_expiry": tokens.expiry,
        "last_refreshed": datetime.now(UTC),
        "last_error": "",
    }


def finish_consent(pending: PendingConsent, code: str) -> OAuthConnection:
    """Exchange the code (with the PKCE verifier), read the calendar list, store the tokens."""
    site = Site.objects.filter(pk=pending.site_id).first()
    if site is None:
        raise OAuthSetupError("The site this connection was started for no longer exists.")
    config = calendar_config(site)
    tokens = _exchange_code(pending, config, code)
    try:
        service = google_client.calendar_service(tokens, api_base(config))
        calendars = listing.list_calendars(service)
    except HttpError as exc:
        raise OAuthSetupError(
            f"Google accepted the connection but the calendar list could not be read: {exc}"
        ) from None
    account = next((c["id"] for c in calendars if c["primary"]), "")
    with transaction.atomic():
        if config is None:
            config = ProviderConfig.objects.create(
                site=site,
                source=SOURCE,
                provider=PROVIDER,
                interval_seconds=DEFAULT_INTERVAL_SECONDS[SOURCE],
            )
        connected = connected_calendars(calendars, config)
        connection, _ = OAuthConnection.objects.update_or_create(
            provider_config=config,
            defaults={
                "origin": "consent",
                "account_email": account,
                "calendars": connected,
                "scopes": " ".join(SCOPES),
                **token_fields(tokens),
                "status": OAuthConnection.CONNECTED,
            },
        )
    logger.info(
        "oauth: Google Calendar connected for site %s: account %s, calendars %s",
        site,
        account or "(unknown)",
        ", ".join(c["id"] for c in connected) or "(none)",
    )
    connection.available_calendars = calendars  # shown once on the callback page
    return connection


def connected_calendars(calendars: list[dict], config: ProviderConfig) -> list[dict]:
    """The account's calendars that options.calendars names ("primary" = the primary one)."""
    wanted = _wanted_calendar_ids(config)
    return [c for c in calendars if c["id"] in wanted or (c["primary"] and "primary" in wanted)]


def _wanted_calendar_ids(config: ProviderConfig) -> set[str]:
    raw = (config.options or {}).get("calendars", ["primary"])
    ids = set()
    for entry in raw if isinstance(raw, list) else ["primary"]:
        ident = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(ident, str):
            ids.add(ident)
    return ids
