"""The Emporia account's Cognito tokens, kept in memory and saved with the provider config.

Login: AWS Cognito SRP (cognito.py); the id token goes in the `authtoken` header, is renewed
with the refresh token 5 minutes before it expires, and once when the API answers 401 (then
the call is retried once). The tokens and their expiry are saved encrypted with the provider
config (ProviderConfig.session, through Adapter.on_renewed), so a restarted worker starts from
them instead of logging in.
"""

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from collectors.answers import HTTP, checked_url
from collectors.base import ConfigError, Credentials
from collectors.smart_meter import common
from collectors.smart_meter.emporia import PROVIDER
from collectors.smart_meter.emporia.cognito import Cognito, Tokens
from enrich.http import AuthError

logger = logging.getLogger(__name__)

USER_POOL = "us-east-2_ghlOXVLi1"
CLIENT_ID = "4qte47jbstod8apnfic0bunmrq"
RENEW_BEFORE = 300.0
# A Cognito user pool id: the pool's AWS region (e.g. us-east-2), "_", then the pool's own id;
# the region names the host (cognito-idp.<region>.amazonaws.com).
POOL_ID = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+_[0-9A-Za-z]+")
CLIENT_ID_FORM = re.compile(r"[0-9A-Za-z_+]{1,128}")


def _of_form(
    options: Mapping[str, Any], option: str, default: str, form: re.Pattern, what: str
) -> str:
    """options.<option> (absent or empty: `default`, Emporia's) when it is text of `form`; a
    ConfigError naming it and saying `what` it must be if not."""
    value = options.get(option)
    value = default if value is None or value == "" else value  # 0, [], false: refused
    if not isinstance(value, str) or not form.fullmatch(value):
        raise ConfigError(
            f"Emporia Vue: options.{option} {value!r} is not {what}, e.g. {default}, Emporia's "
            "own, used when the option is left out)."
        )
    return value


def pool_id(options: Mapping[str, Any]) -> str:
    """options.user_pool_id (default Emporia's pool), checked; a ConfigError names it."""
    what = "a Cognito user pool id (the region, '_' and the pool's id"
    return _of_form(options, "user_pool_id", USER_POOL, POOL_ID, what)


def cognito_url(options: Mapping[str, Any]) -> str:
    """options.cognito_url (default: the Cognito endpoint of the pool's region), checked as
    base_url is (an http(s) URL with a host); a ConfigError names it."""
    region = pool_id(options).split("_", 1)[0]
    default = f"https://cognito-idp.{region}.amazonaws.com/"
    checked_url(options, default, "cognito_url", HTTP, "Emporia Vue")
    return str(options.get("cognito_url") or default)  # as given: its path may end in "/"


def client_id(options: Mapping[str, Any]) -> str:
    """options.client_id (default Emporia's app client), checked: Cognito's API takes no other
    form of app client id (its pattern [\\w+]+, 1 to 128 long); a ConfigError names it."""
    what = "a Cognito app client id (1 to 128 letters a-z, A-Z, digits, '_' or '+'"
    return _of_form(options, "client_id", CLIENT_ID, CLIENT_ID_FORM, what)


class Logins:
    """The tokens of each account (by Cognito URL and e-mail) of one adapter instance."""

    def __init__(self, clock: Callable[[], float], wall: Callable[[], float]) -> None:
        self._clock = clock
        self._wall = wall  # the saved expiry is wall-clock time (it outlives the process)
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[Tokens, float]] = {}  # -> (tokens, expiry)

    def id_token(self, credentials: Credentials, stale: str | None = None) -> str:
        """A valid id token for the account: kept, saved, refreshed or from a new login (a
        token the API refused is passed as `stale` and never given again)."""
        options = credentials.options
        pool, url = pool_id(options), cognito_url(options)
        key = (url, credentials.username)
        with self._lock:
            tokens, expires = self._tokens.get(key) or self._saved(credentials)
            if tokens and tokens.id_token != stale and self._clock() < expires - RENEW_BEFORE:
                self._tokens[key] = (tokens, expires)
                return tokens.id_token
            cognito = Cognito(PROVIDER, url, pool, client_id(options))
            issued = self._clock()
            fresh = None
            if tokens is not None:
                try:
                    fresh = cognito.refresh(tokens.refresh_token)
                except AuthError:
                    logger.info("emporia_vue: the refresh token was refused; logging in again")
            if fresh is None:
                fresh = cognito.login(credentials.username, credentials.password)
            self._tokens[key] = (fresh, issued + fresh.expires_in)
            saved = {
                "account": common.account(credentials),
                "id_token": fresh.id_token,
                "access_token": fresh.access_token,
                "refresh_token": fresh.refresh_token,
                "expires_at": self._wall() + fresh.expires_in,
            }
            credentials.report_renewed(replace(credentials, session=saved))
            return fresh.id_token

    def _saved(self, credentials: Credentials) -> tuple[Tokens | None, float]:
        """Tokens saved by an earlier login (Credentials.session) for this account, with their
        expiry on this process's clock; (None, 0) when there are none that fit."""
        data = credentials.session or {}
        names = ("id_token", "access_token", "refresh_token")
        expires_at = data.get("expires_at")
        if data.get("account") != common.account(credentials) or not all(
            isinstance(data.get(n), str) and data.get(n) for n in names
        ):
            return None, 0.0
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            return None, 0.0
        left = float(expires_at) - self._wall()
        tokens = Tokens(data["id_token"], data["access_token"], data["refresh_token"], left)
        return tokens, self._clock() + left
