"""Sense (unofficial cloud API): whole-home power and the power of each detected device.

`POST authenticate` (form e-mail/password, header `x-sense-device-id`) gives an access token,
the user id, a refresh token and the monitor id. That session is kept in this instance and
saved (encrypted, ProviderConfig.session, through registry.CREDENTIALS_RENEWED), so a restarted
worker starts from it and renews it instead of logging in again. An account with multi-factor
authentication answers 401 with an `mfa_token`: a person logs in once with
`manage.py sense_login` (`login()`: `POST authenticate/mfa` with the one-time code); from then
on the saved session is renewed unattended, and only a refused renewal needs that again. The realtime power comes from one
`realtime_update` frame of the monitor's websocket feed (5 s timeout): `w` ->
`smart_meter.total_power_w`, each `devices[]` entry -> `smart_meter_circuit` (circuit = the
device name, percentage = its share of `w`), at the frame's `epoch` rounded down to the minute.
An `{"type": "error", "payload": {"authorized": false}}` frame or a 401 from the REST API
renews the token once (`POST renew`, or a fresh login when the renewal is refused). Every 15
minutes `app/history/trends?scale=DAY` adds today's consumption as `daily_kwh`.

Sense has no history for realtime power, so an outage stays a gap. Budget: one realtime read a
minute per account ("1/minute"), the pace of the sense_energy library and of Home Assistant's
integration; a fetch makes one read (login, renewal and trends are rare extras).
Options: `base_url`, `realtime_url`, `device_id`, `realtime_timeout`.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import websocket

from collectors.base import Adapter, ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.carbon.common import Answer
from collectors.smart_meter import common
from enrich.http import (
    AuthError,
    MalformedResponse,
    PermanentError,
    TransientError,
    get_json,
    malformed,
    post_json,
    scrub_url,
)
from enrich.readings import Reading

logger = logging.getLogger(__name__)

PROVIDER = "sense"
DEFAULT_BASE_URL = "https://api.sense.com/apiservice/api/v1"
DEFAULT_REALTIME_URL = "wss://clientrt.sense.com"
REALTIME_TIMEOUT = 5.0
MAX_FRAMES = 50  # hello, features, ... then realtime_update; a bound so a chatty feed ends
TRENDS_EVERY = 900.0


@dataclass(frozen=True)
class Session:
    access_token: str = field(repr=False)
    user_id: str
    refresh_token: str = field(repr=False)
    monitor_id: str


def _saved(credentials: Credentials) -> Session | None:
    """The session saved by an earlier login (Credentials.session), if it is complete and was
    given to this account (after the e-mail was changed, the old account's session is not
    used)."""
    data = credentials.session or {}
    names = [f.name for f in fields(Session)]
    if data.get("account") != common.account(credentials):
        return None
    if not all(isinstance(data.get(name), str) and data.get(name) for name in names):
        return None
    return Session(**{name: data[name] for name in names})


def _keep(credentials: Credentials, session: Session) -> None:
    """Report a new session, so the pipeline saves it for the next run (and other workers)."""
    saved = {**asdict(session), "account": common.account(credentials)}
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
    monitor = answer.get(monitors[0], "id", "monitors[0]")
    return Session(
        access_token=answer.text(body, "access_token", "the login answer"),
        user_id=str(answer.get(body, "user_id", "the login answer")),
        refresh_token=answer.text(body, "refresh_token", "the login answer"),
        monitor_id=str(monitor),
    )


class Unauthorized(Exception):
    """The realtime feed refused the access token."""


class SenseAdapter(Adapter):
    source = "smart_meter"
    provider = PROVIDER
    budget = "1/minute"  # one realtime read per minute per account (not "60/hour": no bursts)
    budget_scope = "account"
    history = None  # the realtime feed has no history: an outage stays a gap
    calls_per_fetch = 1

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], Session] = {}
        self._trends_fetched: dict[tuple[str, str], float] = {}

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        if not credentials.username or not credentials.password:
            raise ConfigError(
                "Sense needs the e-mail and password of the Sense app: set METER_USERNAME and "
                "METER_PASSWORD, or enter them in the provider settings."
            )
        params = common.watch_params(site, credentials)
        return Target(self.source, PROVIDER, common.account(credentials), params)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base = common.base_url(credentials, DEFAULT_BASE_URL)
        session = self._session(base, credentials)
        try:
            payload = self._realtime(credentials, session)
        except Unauthorized:
            logger.info("sense: the realtime feed refused the access token; renewing it")
            session = self._session(base, credentials, stale=session)
            try:
                payload = self._realtime(credentials, session)
            except Unauthorized:
                raise AuthError(
                    "sense: the realtime feed refused a freshly renewed access token. Log in to "
                    "the Sense app to check the account, then check METER_USERNAME/METER_PASSWORD.",
                    provider=PROVIDER,
                    endpoint=self._feed(credentials, session, scrubbed=True),
                ) from None
        readings = _realtime_readings(
            payload, session.monitor_id, self._feed(credentials, session, True)
        )
        account = (base, credentials.username)
        last = self._trends_fetched.get(account)
        if readings and (last is None or self._clock() - last >= TRENDS_EVERY):
            daily = self._daily_kwh(base, credentials, session, window.now)
            self._trends_fetched[account] = self._clock()
            if daily is not None:
                home = readings[0]
                readings[0] = replace(home, fields={**home.fields, "daily_kwh": daily})
        return FetchResult(readings, common.current(readings, window.now))

    # --- REST ---

    def _session(
        self, base: str, credentials: Credentials, stale: Session | None = None
    ) -> Session:
        key = (base, credentials.username)
        with self._lock:
            known = self._sessions.get(key) or _saved(credentials)
            if known is not None and known != stale:
                self._sessions[key] = known
                return known
            fresh = None
            if known is not None:
                try:
                    fresh = self._renew(base, credentials, known)
                except AuthError:
                    logger.info("sense: the renewal was refused; logging in again")
            fresh = fresh or self._authenticate(base, credentials)
            self._sessions[key] = fresh
            _keep(credentials, fresh)
            return fresh

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        device = (
            credentials.options.get("device_id")
            or hashlib.sha256(f"enrich:{credentials.username}".encode()).hexdigest()[:32]
        )
        return {"x-sense-device-id": str(device)}

    def _authenticate(
        self, base: str, credentials: Credentials, code: Callable[[], str] | None = None
    ) -> Session:
        url = f"{base}/authenticate"
        form = {"email": credentials.username, "password": credentials.password}
        try:
            body = post_json(
                PROVIDER,
                url,
                data=form,
                headers=self._headers(credentials),
                error_fields=("mfa_token",),
            )
        except AuthError as error:
            mfa_token = _mfa_token(error)
            if mfa_token and code is not None:
                return self._mfa(base, credentials, mfa_token, code())
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

    def _mfa(self, base: str, credentials: Credentials, mfa_token: str, code: str) -> Session:
        url = f"{base}/authenticate/mfa"
        form = {
            "totp": code.strip(),
            "mfa_token": mfa_token,
            "client_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        try:
            body = post_json(PROVIDER, url, data=form, headers=self._headers(credentials))
        except AuthError as error:
            raise _refused(
                error,
                f"sense: the one-time code was refused (HTTP {error.status}). Codes change "
                "every 30 seconds: run the login again with the current code from your "
                "authenticator app.",
            ) from None
        return _login_session(url, body)

    def login(self, credentials: Credentials, code: Callable[[], str]) -> Session:
        """A fresh login, asking `code()` for the one-time code when the account has MFA;
        the session is reported (Credentials.report_renewed) and kept."""
        base = common.base_url(credentials, DEFAULT_BASE_URL)
        with self._lock:
            session = self._authenticate(base, credentials, code)
            self._sessions[(base, credentials.username)] = session
        _keep(credentials, session)
        return session

    def _renew(self, base: str, credentials: Credentials, session: Session) -> Session:
        url = f"{base}/renew"
        form = {"user_id": session.user_id, "refresh_token": session.refresh_token}
        body = post_json(PROVIDER, url, data=form, headers=self._headers(credentials))
        answer = Answer(PROVIDER, url)
        refresh = body.get("refresh_token") if isinstance(body, dict) else None
        return replace(
            session,
            access_token=answer.text(body, "access_token", "the renew answer"),
            refresh_token=refresh
            if isinstance(refresh, str) and refresh
            else session.refresh_token,
        )

    def _daily_kwh(
        self, base: str, credentials: Credentials, session: Session, now: datetime
    ) -> float | None:
        """Today's consumption in kWh; None (field left out) when the answer has none."""
        url = f"{base}/app/history/trends"
        query = {
            "monitor_id": session.monitor_id,
            "device_id": "always_on",
            "scale": "DAY",
            "start": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        headers = {"Authorization": f"bearer {session.access_token}"}
        try:
            body = get_json(PROVIDER, url, params=query, headers=headers)
        except AuthError as error:
            if error.status != 401:
                raise
            session = self._session(base, credentials, stale=session)
            headers = {"Authorization": f"bearer {session.access_token}"}
            body = get_json(PROVIDER, url, params=query, headers=headers)
        try:
            consumption = Answer(PROVIDER, url).get(body, "consumption", "the trends answer")
            if isinstance(consumption, dict):
                return Answer(PROVIDER, url).number(consumption, "total", "consumption")
            return Answer(PROVIDER, url).number({"total": consumption}, "total", "consumption")
        except MalformedResponse as error:
            logger.warning("sense: daily_kwh left out: %s", error)
            return None

    # --- realtime websocket ---

    def _feed(self, credentials: Credentials, session: Session, scrubbed: bool = False) -> str:
        root = common.base_url(credentials, DEFAULT_REALTIME_URL, "realtime_url")
        url = (
            f"{root}/monitors/{session.monitor_id}/realtimefeed?access_token={session.access_token}"
        )
        return scrub_url(url) if scrubbed else url

    def _realtime(self, credentials: Credentials, session: Session) -> dict[str, Any]:
        """The payload of the first `realtime_update` frame; Unauthorized for a refused token."""
        timeout = float(credentials.options.get("realtime_timeout", REALTIME_TIMEOUT))
        endpoint = self._feed(credentials, session, scrubbed=True)
        deadline = time.monotonic() + timeout

        def failed(what: str) -> TransientError:
            logger.warning("provider=sense endpoint=%s outcome=transient %s", endpoint, what)
            return TransientError(
                f"sense: the realtime feed {endpoint} {what}. The service may be slow or down; "
                "the next run will try again.",
                provider=PROVIDER,
                endpoint=endpoint,
            )

        try:
            ws = websocket.create_connection(self._feed(credentials, session), timeout=timeout)
        except websocket.WebSocketBadStatusException as exc:
            if exc.status_code in (401, 403):
                raise Unauthorized() from None
            if exc.status_code >= 500:
                raise failed(f"refused the connection (HTTP {exc.status_code})") from None
            raise PermanentError(
                f"sense: the realtime feed {endpoint} answered HTTP {exc.status_code}; check "
                "options.realtime_url.",
                provider=PROVIDER,
                endpoint=endpoint,
                status=exc.status_code,
            ) from None
        except websocket.WebSocketTimeoutException:
            raise failed(f"did not connect within {timeout:g} s") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise failed(f"could not be reached ({type(exc).__name__})") from None
        try:
            for _ in range(MAX_FRAMES):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                ws.settimeout(remaining)
                raw = ws.recv()
                try:
                    frame = json.loads(raw)
                except (TypeError, ValueError):
                    raise malformed(PROVIDER, endpoint, "a frame is not JSON", str(raw)) from None
                kind = frame.get("type") if isinstance(frame, dict) else None
                if kind == "realtime_update":
                    payload = frame.get("payload")
                    if not isinstance(payload, dict):
                        raise malformed(PROVIDER, endpoint, "realtime_update has no payload", raw)
                    return payload
                if kind == "error":
                    error = frame.get("payload") or {}
                    if isinstance(error, dict) and error.get("authorized") is False:
                        raise Unauthorized()
                    reason = error.get("error_reason") if isinstance(error, dict) else error
                    raise failed(f"sent an error: {reason}")
            raise failed(f"sent no realtime_update within {timeout:g} s")
        except websocket.WebSocketTimeoutException:
            raise failed(f"sent no realtime_update within {timeout:g} s") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise failed(f"broke off ({type(exc).__name__})") from None
        finally:
            ws.close()


def _realtime_readings(payload: dict[str, Any], monitor_id: str, endpoint: str) -> list[Reading]:
    answer = Answer(PROVIDER, endpoint)
    total = answer.number(payload, "w", "realtime_update")
    epoch = answer.number(payload, "epoch", "realtime_update")
    moment = common.minute(datetime.fromtimestamp(epoch, UTC))
    tag_set = common.tags(PROVIDER, monitor_id, PROVIDER)
    readings = [common.home_reading(tag_set, moment, total)]
    seen: set[str] = set()
    for device in payload.get("devices") or []:
        name = answer.text(device, "name", "a realtime device")
        power = answer.number(device, "w", "a realtime device")
        circuit = name if name not in seen else f"{name} ({device.get('id', len(seen))})"
        seen.add(circuit)
        readings.append(
            common.circuit_reading(tag_set, circuit, moment, power, common.share(power, total))
        )
    return readings
