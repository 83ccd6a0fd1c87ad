"""Sense's login: `POST authenticate` (form e-mail/password, header `x-sense-device-id`)
gives an access token, the user id, a refresh token, the monitor id and the zone of the
account's days, as Sense's trends count them (`time_zone`, "" when the answer has none): a
Session. An account with multi-factor authentication answers 401 with an `mfa_token`; `POST
authenticate/mfa` with the one-time code then gives the session. `POST renew` renews the
access token (the zone is kept).
"""

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from collectors.answers import Answer
from collectors.base import ConfigError, Credentials
from collectors.smart_meter import common
from collectors.smart_meter.sense import PROVIDER
from enrich.http import AuthError, post_json

IDENT = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]*")  # Sense's ids are numbers


@dataclass(frozen=True)
class Session:
    access_token: str = field(repr=False)
    user_id: str
    refresh_token: str = field(repr=False)
    monitor_id: str
    time_zone: str = ""


def saved(credentials: Credentials) -> Session | None:
    """The session saved by an earlier login (Credentials.session), if it is complete and was
    given to this account (after the e-mail was changed, the old account's session is not
    used)."""
    data = credentials.session or {}
    names = [f.name for f in fields(Session) if f.name != "time_zone"]
    if data.get("account") != common.account(credentials):
        return None
    if not all(isinstance(data.get(name), str) and data.get(name) for name in names):
        return None
    zone = data.get("time_zone")  # a session saved before it was kept has none
    return Session(**{name: data[name] for name in names}, time_zone=_text(zone))


def keep(credentials: Credentials, session: Session) -> None:
    """Report a new session, so the pipeline saves it for the next run (and other workers)."""
    kept = {name: value for name, value in asdict(session).items() if value}  # a zone unknown
    saved = {**kept, "account": common.account(credentials)}
    credentials.report_renewed(replace(credentials, session=saved))


def _refused(error: AuthError, message: str) -> AuthError:
    """The provider's refusal, with a message that says what to do."""
    return AuthError(
        message,
        provider=PROVIDER,
        endpoint=error.endpoint,
        status=error.status,
        body_excerpt=error.body_excerpt,
    )


def _mfa_token(error: AuthError) -> str:
    """The `mfa_token` of a 401 that asks for a one-time code ("" when it is no such answer)."""
    return error.fields.get("mfa_token", "")


def _login_session(url: str, body: Any) -> Session:
    """The session of an `authenticate` or `authenticate/mfa` answer."""
    answer = Answer(PROVIDER, url)
    monitors = answer.items(body, "monitors", "the login answer")
    if not monitors:
        raise ConfigError("The Sense account has no monitor: set it up in the Sense app first.")
    return Session(
        access_token=answer.text(body, "access_token", "the login answer"),
        user_id=_ident(answer, body, "user_id", "the login answer"),
        refresh_token=answer.text(body, "refresh_token", "the login answer"),
        monitor_id=_ident(answer, monitors[0], "id", "monitors[0]"),
        time_zone=_text(monitors[0].get("time_zone") or body.get("time_zone")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ident(answer: Answer, obj: Any, key: str, what: str) -> str:
    """An id Sense gives as a number (or text): it goes into URLs, forms and the `device` tag."""
    value = answer.get(obj, key, what)
    usable = isinstance(value, int | str) and not isinstance(value, bool)
    if not usable or not IDENT.fullmatch(str(value)):
        # not shown with `obj`: the login answer holds the tokens
        raise answer.bad(f"{what}: {key} should be a number or letters and digits, got {value!r}")
    return str(value)


def device_id(options: Mapping[str, Any]) -> str | None:
    """options.device_id (None when it is left out), checked: the login sends it as the
    `x-sense-device-id` header, which cannot carry a control character (a line break, NUL; a
    tab it can), a space at its start or a character past Latin-1 (requests refused each
    login with "InvalidHeader" or a UnicodeEncodeError); a ConfigError names it."""
    device = options.get("device_id")
    if device is None or device == "":
        return None
    if not isinstance(device, str) or device[:1].isspace() or not all(map(_header_char, device)):
        raise ConfigError(
            f"Sense: options.device_id {device!r} cannot be sent as a header: give text without "
            "control characters, a space at its start or characters past Latin-1 (e.g. 32 hex "
            "digits), or remove the option to use one made from the e-mail."
        )
    return device


def _header_char(char: str) -> bool:
    """Whether an HTTP header value can carry `char` (RFC 9110: a tab, or a visible or Latin-1
    character; requests sends the value in Latin-1)."""
    return char == "\t" or (32 <= ord(char) < 256 and char != "\x7f")


def _headers(credentials: Credentials) -> dict[str, str]:
    device = device_id(credentials.options)
    device = device or hashlib.sha256(f"enrich:{credentials.username}".encode()).hexdigest()[:32]
    return {"x-sense-device-id": device}


def authenticate(
    base: str, credentials: Credentials, code: Callable[[], str] | None = None
) -> Session:
    url = f"{base}/authenticate"
    form = {"email": credentials.username, "password": credentials.password}
    try:
        body = post_json(
            PROVIDER,
            url,
            data=form,
            headers=_headers(credentials),
            error_fields=("mfa_token",),
        )
    except AuthError as error:
        mfa_token = _mfa_token(error)
        if mfa_token and code is not None:
            return _mfa(base, credentials, mfa_token, code())
        if mfa_token:
            raise AuthError(
                "sense: the Sense account needs MFA (multi-factor authentication), and no "
                "saved session could be renewed: a login needs the one-time code from your "
                "authenticator app. Run `manage.py sense_login --site <site>` once and type "
                "the code; enrich then keeps the session and renews it unattended. Or turn "
                "off two-step verification for this account in the Sense app, or read Sense "
                "through Home Assistant's Sense integration with METER_TYPE=home_assistant.",
                provider=PROVIDER,
                endpoint=error.endpoint,
                status=error.status,
            ) from None
        raise _refused(
            error,
            f"sense: the login refused the e-mail or password (HTTP {error.status}). Check "
            "METER_USERNAME and METER_PASSWORD (the Sense app's login).",
        ) from None
    return _login_session(url, body)


def _mfa(base: str, credentials: Credentials, mfa_token: str, code: str) -> Session:
    url = f"{base}/authenticate/mfa"
    form = {
        "totp": code.strip(),
        "mfa_token": mfa_token,
        "client_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    try:
        body = post_json(PROVIDER, url, data=form, headers=_headers(credentials))
    except AuthError as error:
        raise _refused(
            error,
            f"sense: the one-time code was refused (HTTP {error.status}). Codes change "
            "every 30 seconds: run the login again with the current code from your "
            "authenticator app.",
        ) from None
    return _login_session(url, body)


def renew(base: str, credentials: Credentials, session: Session) -> Session:
    url = f"{base}/renew"
    form = {"user_id": session.user_id, "refresh_token": session.refresh_token}
    body = post_json(PROVIDER, url, data=form, headers=_headers(credentials))
    answer = Answer(PROVIDER, url)
    refresh = body.get("refresh_token") if isinstance(body, dict) else None
    return replace(
        session,
        access_token=answer.text(body, "access_token", "the renew answer"),
        refresh_token=refresh if isinstance(refresh, str) and refresh else session.refresh_token,
    )
