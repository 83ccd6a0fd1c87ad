"""Google Calendar tokens on the collector's side: renewal, saving, and "needs reconnect".

Tokens live encrypted in `OAuthConnection`. The collector pipeline asks `calendar_credentials`
(through GoogleCalendarAdapter.credentials) for the adapter's credentials: right before a fetch it renews an
access token that expires within 5 minutes (google-auth against GOOGLE_TOKEN_URI) and saves
it. When Google refuses an access token before its expiry (a 401 on the calendar), google-auth
renews it during the fetch; the adapter reports that and `save_renewed_credentials`
(GoogleCalendarAdapter.on_renewed) saves it as well, also when the fetch fails afterwards.
When Google refuses the refresh token (`invalid_grant`), the connection is marked "needs
reconnect" (`note_auth_failure`, GoogleCalendarAdapter.on_auth_failure, or right here when the renewal before
the fetch failed) and logged at ERROR once; later runs fail fast without calling Google until
someone reconnects. Other collectors are not affected: the failure is this provider's run
record, nothing else.

A person may reconnect on the setup page while a fetch is running. Every write here is a
compare-and-swap: the row is locked (select_for_update) and written only if its refresh token
is still the one the fetch started with; otherwise the reconnect's tokens and status win.

GOOGLE_REFRESH_TOKEN (with GOOGLE_CLIENT_ID/SECRET) also works: a connection is built from it
for a calendar provider config that has none from the setup page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from collectors.base import ConfigError, Credentials
from collectors.occupancy.google import client as google_client
from collectors.occupancy.google import listing
from collectors.occupancy.google.connection import (
    PROVIDER,
    SCOPES,
    SETUP_PATH,
    ReconnectNeeded,
    Tokens,
)
from collectors.occupancy.google.oauth import (
    api_base,
    client_credentials,
    connected_calendars,
    token_fields,
    token_uri,
)
from enrich.crypto import require_readable
from enrich.http import AuthError
from enrich.models import OAuthConnection, ProviderConfig

logger = logging.getLogger("enrich.oauth")

REFRESH_MARGIN = timedelta(minutes=5)
RECONNECT = f"reconnect Google Calendar on {SETUP_PATH}"


def connection_for(config: ProviderConfig) -> OAuthConnection | None:
    """The config's connection; built from GOOGLE_REFRESH_TOKEN when it has none (or when the
    environment's token changed since it was built from it)."""
    connection = OAuthConnection.objects.filter(provider_config=config).first()
    env_token = settings.GOOGLE_REFRESH_TOKEN
    if env_token and (
        connection is None
        or (connection.origin == "environment" and connection.refresh_token != env_token)
    ):
        connection, _ = OAuthConnection.objects.update_or_create(
            provider_config=config,
            defaults={
                "origin": "environment",
                "refresh_token": env_token,
                "access_token": "",
                "token_expiry": None,
                "status": OAuthConnection.CONNECTED,
                "last_error": "",
                "scopes": " ".join(SCOPES),
            },
        )
        logger.info("oauth: Google Calendar for site %s uses GOOGLE_REFRESH_TOKEN", config.site)
    return connection


def _not_connected(config: ProviderConfig) -> ConfigError:
    return ConfigError(
        f"Google Calendar is not connected for site {config.site}: open {SETUP_PATH} "
        "and click 'Connect Google Calendar' (or set GOOGLE_REFRESH_TOKEN)."
    )


@contextmanager
def _unchanged(config: ProviderConfig, refresh_token: str) -> Iterator[OAuthConnection | None]:
    """The connection, locked until the block ends, if its refresh token is still
    `refresh_token`; None when it is gone or someone reconnected meanwhile."""
    with transaction.atomic():
        connection = (
            OAuthConnection.objects.select_for_update().filter(provider_config=config).first()
        )
        if connection is None or connection.refresh_token != refresh_token:
            yield None
        else:
            yield connection


def _tokens(connection: OAuthConnection, config: ProviderConfig) -> Tokens:
    client_id, client_secret = client_credentials(config)
    return Tokens(
        access_token=connection.access_token,
        refresh_token=connection.refresh_token,
        expiry=connection.token_expiry,
        client_id=client_id,
        client_secret=client_secret,
        token_uri=token_uri(),
    )


def _save_unless_reconnected(
    config: ProviderConfig, started_with: str, fresh: Tokens, during: str
) -> OAuthConnection | None:
    """Save tokens renewed from the refresh token `started_with`, unless someone reconnected
    `during` the renewal: then None, and that connection's tokens win."""
    with _unchanged(config, started_with) as connection:
        if connection is not None:
            fields = token_fields(fresh)
            for name, value in fields.items():
                setattr(connection, name, value)
            connection.save(update_fields=[*fields, "updated"])
    if connection is None and not ProviderConfig.objects.filter(pk=config.pk).exists():
        logger.info("oauth: Google Calendar for site %s was deleted during %s; the access "
                    "token renewed then is not saved", config.site, during)  # fmt: skip
    elif connection is None:
        logger.info(
            "oauth: Google Calendar for site %s was reconnected during %s; the access token "
            "renewed then is not saved, the new connection's tokens are used",
            config.site,
            during,
        )
    return connection


def renew(connection: OAuthConnection, config: ProviderConfig) -> OAuthConnection:
    """A new access token, saved encrypted; raises ReconnectNeeded on invalid_grant. When
    someone reconnected during the renewal, their connection is returned (and kept)."""
    used = _tokens(connection, config)
    fresh = google_client.refresh(used)
    current = _save_unless_reconnected(config, used.refresh_token, fresh, "a token renewal")
    if current is None:
        return OAuthConnection.objects.filter(provider_config=config).first() or connection
    logger.info(
        "oauth: renewed the Google access token for site %s (valid until %s)",
        config.site,
        fresh.expiry.isoformat() if fresh.expiry else "unknown",
    )
    if not current.account_email:
        # Built from GOOGLE_REFRESH_TOKEN: learn the account once, from its primary calendar.
        calendars = listing.list_calendars(
            google_client.calendar_service(_tokens(current, config), api_base(config))
        )
        with _unchanged(config, fresh.refresh_token) as still:
            if still is not None:
                still.account_email = next((c["id"] for c in calendars if c["primary"]), "")
                still.calendars = connected_calendars(calendars, config)
                still.save(update_fields=["account_email", "calendars", "updated"])
                current = still
    return current


def _needs_renewal(connection: OAuthConnection, now: datetime) -> bool:
    expiry = connection.token_expiry
    return not connection.access_token or expiry is None or expiry - now < REFRESH_MARGIN


def calendar_credentials(config: ProviderConfig, *, fetching: bool = False) -> Credentials:
    """The adapter's credentials (GoogleCalendarAdapter.credentials): tokens, client, endpoints, options."""
    connection = connection_for(config)
    if connection is None:
        raise _not_connected(config)
    require_readable(connection, "access_token", "refresh_token", remedy=RECONNECT)
    if fetching:
        if connection.status == OAuthConnection.NEEDS_RECONNECT:
            error = ReconnectNeeded(
                f"{PROVIDER}: the Google connection of site {config.site} needs reconnecting "
                f"(since {connection.updated.isoformat()}): open {SETUP_PATH} and click "
                f"'Connect Google Calendar'. Last error: {connection.last_error}",
                provider=PROVIDER,
                endpoint=token_uri(),
            )
            error.already_reported = True
            raise error
        if _needs_renewal(connection, datetime.now(UTC)):
            started_with = connection.refresh_token
            try:
                connection = renew(connection, config)
            except AuthError as exc:
                _note_failure(config, exc, started_with)
                raise
    client_id, client_secret = client_credentials(config)
    options = {
        **(config.options or {}),
        "token": connection.access_token,
        "refresh_token": connection.refresh_token,
        "token_expiry": connection.token_expiry.isoformat() if connection.token_expiry else "",
        "client_id": client_id,
        "client_secret": client_secret,
        "token_uri": token_uri(),
        "account": connection.account_email,
    }
    options.setdefault("base_url", api_base())
    return Credentials(options=options)


def save_renewed_credentials(
    config: ProviderConfig, previous: Credentials, renewed: Credentials
) -> None:
    """GoogleCalendarAdapter.on_renewed: save (encrypted, like `renew`) the access token google-auth
    renewed during a fetch, so the next run on any worker starts from it instead of renewing
    again. Skipped when someone reconnected meanwhile: that connection's tokens win."""
    options = renewed.options
    expiry = datetime.fromisoformat(options["token_expiry"]) if options["token_expiry"] else None
    fresh = Tokens(
        access_token=options["token"],
        refresh_token=options["refresh_token"],
        expiry=expiry,
        client_id=options.get("client_id", ""),
        client_secret="",
    )
    saved = _save_unless_reconnected(config, previous.options["refresh_token"], fresh, "a fetch")
    if saved is None:
        return
    logger.info(
        "oauth: saved the Google access token renewed during a fetch for site %s (valid until %s)",
        config.site,
        expiry.isoformat() if expiry else "unknown",
    )


def note_auth_failure(
    config: ProviderConfig, error: Exception, started_with: Credentials | None
) -> None:
    """GoogleCalendarAdapter.on_auth_failure: on invalid_grant mark the connection and log it at ERROR once.
    Without `started_with` the failure came while getting the credentials, and
    `calendar_credentials` already noted it against the row it had read."""
    if started_with is not None:
        _note_failure(config, error, started_with.options.get("refresh_token", ""))


def _note_failure(config: ProviderConfig, error: Exception, refresh_token: str) -> None:
    newly_marked = False
    with _unchanged(config, refresh_token) as connection:
        if connection is not None:
            connection.last_error = str(error)[:2000]
            changed = ["last_error", "updated"]
            if isinstance(error, ReconnectNeeded) and connection.status == connection.CONNECTED:
                connection.status = OAuthConnection.NEEDS_RECONNECT
                changed.append("status")
                newly_marked = True
            elif isinstance(error, ReconnectNeeded):
                changed = []  # marked by an earlier run, whose error stays shown
            if changed:
                connection.save(update_fields=changed)
    if connection is None:
        logger.info(
            "oauth: Google Calendar for site %s was reconnected while a fetch failed (%s); "
            "the new connection is kept",
            config.site,
            type(error).__name__,
        )
    if newly_marked:
        logger.error(
            "oauth: Google Calendar for site %s needs reconnecting: %s Other collectors keep "
            "running; occupancy serves its last good answer until then.",
            config.site,
            error,
        )
    if isinstance(error, ReconnectNeeded) or connection is None:
        error.already_reported = True


def disconnect(config: ProviderConfig) -> list[str]:
    """GoogleCalendarAdapter.forget_login: delete the config's connection and its tokens (a
    fetch running meanwhile saves nothing: its compare-and-swap finds no row)."""
    connection = OAuthConnection.objects.filter(provider_config=config).first()
    if connection is None:
        return []
    connection.delete()
    account = connection.account_email or "its account"
    removed = f"the Google Calendar connection of {account} and its tokens"
    if settings.GOOGLE_REFRESH_TOKEN:
        removed += (
            " (GOOGLE_REFRESH_TOKEN is set: the next run connects with it again; remove it "
            "from the environment to disconnect for good)"
        )
    return [removed]
