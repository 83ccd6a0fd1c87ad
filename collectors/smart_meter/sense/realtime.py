"""Sense's realtime feed: one `realtime_update` frame of the monitor's websocket.

`wss://clientrt.sense.com/monitors/<monitor id>/realtimefeed?access_token=...` sends hello,
features, ... then `realtime_update` frames; the first one is read (5 s timeout, at most
MAX_FRAMES frames). A feed that sends none after a hello saying `online: false` fails saying
the monitor is offline, not the service. `{"type": "error", "payload": {"authorized": false}}` or a 401/403
handshake is Unauthorized (the adapter renews the token once). The options `realtime_url` (a
ws:// or wss:// root) and `realtime_timeout` (seconds, more than 0, at most MOST_TIMEOUT) are
checked before any connection: websocket-client raises its own errors for what it cannot use.
"""

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import websocket

from collectors.answers import STORABLE, Answer, checked_url
from collectors.base import Credentials, Target
from collectors.circuit_keys import Keys, owner, parts
from collectors.smart_meter import common
from collectors.smart_meter.sense import PROVIDER
from enrich.http import PermanentError, TransientError, malformed, scrub_url, sending
from enrich.readings import Reading

logger = logging.getLogger(__name__)

DEFAULT_REALTIME_URL = "wss://clientrt.sense.com"
REALTIME_TIMEOUT = 5.0
MOST_TIMEOUT = 60.0  # a run every minute (the budget): no longer than that on one frame
MAX_FRAMES = 50  # hello, features, ... then realtime_update; a bound so a chatty feed ends
# With solar, `devices` also lists the production (`solar_w`) as a device of this id: no load of
# the home (`w` is the loads' sum), so as a circuit it counted the production as consumption.
SOLAR_DEVICE = "solar"


class Unauthorized(Exception):
    """The realtime feed refused the access token."""


def realtime_root(options: Mapping[str, Any]) -> str:
    """options.realtime_url, checked (a ConfigError names it), or Sense's feed."""
    return checked_url(options, DEFAULT_REALTIME_URL, "realtime_url", ("ws", "wss"), "Sense")


# options.realtime_timeout, checked (a ConfigError names it), or REALTIME_TIMEOUT.
TIMEOUT = common.Seconds("realtime_timeout", REALTIME_TIMEOUT, MOST_TIMEOUT, who="Sense")


def feed(
    credentials: Credentials, monitor_id: str, access_token: str, scrubbed: bool = False
) -> str:
    root = realtime_root(credentials.options)
    url = f"{root}/monitors/{monitor_id}/realtimefeed?access_token={access_token}"
    return scrub_url(url) if scrubbed else url


def read_frame(credentials: Credentials, monitor_id: str, access_token: str) -> dict[str, Any]:
    """The payload of the first `realtime_update` frame; Unauthorized for a refused token."""
    timeout = TIMEOUT.read(credentials.options)
    endpoint = feed(credentials, monitor_id, access_token, scrubbed=True)
    deadline = time.monotonic() + timeout
    offline = False  # the feed's hello said the monitor is offline (`online: false`)

    def failed(what: str) -> TransientError:
        logger.warning("provider=sense endpoint=%s outcome=transient %s", endpoint, what)
        why = (
            "Its hello said the Sense monitor is offline: check the monitor's power and Wi-Fi "
            "(the Sense app shows its status)"
            if offline
            else "The service may be slow or down"
        )
        return TransientError(
            f"sense: the realtime feed {endpoint} {what}. {why}; the next run will try again.",
            provider=PROVIDER,
            endpoint=endpoint,
        )

    # Outside enrich.http, yet the read Sense's budget counts: announced like its requests, so a
    # fetch is charged it (collectors.spending gives back only the reserved calls not sent).
    sending(retry=False)
    try:
        ws = websocket.create_connection(
            feed(credentials, monitor_id, access_token), timeout=timeout
        )
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
            if raw == "" and not ws.connected:  # websocket-client's answer to a close frame
                raise failed("closed the connection before a realtime_update")
            try:
                frame = json.loads(raw)
            except (TypeError, ValueError):
                raise malformed(PROVIDER, endpoint, "a frame is not JSON", str(raw)) from None
            kind = frame.get("type") if isinstance(frame, dict) else None
            if not isinstance(kind, str):  # every frame of the feed is {"type": ..., ...}
                raise malformed(PROVIDER, endpoint, "a frame has no 'type'", str(raw))
            if kind == "hello" and isinstance(frame.get("payload"), dict):
                offline = frame["payload"].get("online") is False
            if kind in ("realtime_update", "error"):
                payload = frame.get("payload")
                if not isinstance(payload, dict):
                    raise malformed(PROVIDER, endpoint, f"{kind} has no payload object", str(raw))
                if kind == "realtime_update":
                    return payload
                if payload.get("authorized") is False:
                    raise Unauthorized()
                raise failed(f"sent an error: {payload.get('error_reason')}")
        raise failed(f"sent no realtime_update within {timeout:g} s")
    except websocket.WebSocketTimeoutException:
        raise failed(f"sent no realtime_update within {timeout:g} s") from None
    except (OSError, websocket.WebSocketException) as exc:
        raise failed(f"broke off ({type(exc).__name__})") from None
    finally:
        ws.close()


def realtime_readings(
    target: Target,
    payload: dict[str, Any],
    monitor_id: str,
    endpoint: str,
    kept: Mapping[str, Mapping[str, str]],
) -> tuple[list[Reading], dict[str, dict[str, str]]]:
    """The whole home and each device at the frame's minute, and the circuit tags given for
    good (by scope, collectors.circuit_keys); a device's negative watts are kept (Sense gives
    them; not impossible: a device that produces, or disaggregation). A frame lists only the
    devices that are on, so which of two same-named ones comes first says nothing: the device
    (its `id`) that first had the name keeps it, a later one gets `<name> (<id>)`; a device
    that holds a key and is not listed is off: 0 W (_off). The solar production listed among
    the devices (SOLAR_DEVICE) is no circuit."""
    answer = Answer(PROVIDER, endpoint)
    total = answer.number(payload, "w", "realtime_update")
    moment = common.minute(_epoch(answer, payload))
    tag_set = common.tags(target, monitor_id)
    readings = [common.home_reading(tag_set, moment, total)]
    scope = f"{PROVIDER}/{monitor_id}"
    keys = Keys(kept.get(scope))
    devices = [] if payload.get("devices") is None else payload["devices"]
    if not isinstance(devices, list):
        raise answer.bad("realtime_update: devices should be a list", payload)
    written: set[str] = set()
    on: set[str] = {SOLAR_DEVICE}  # ids of the devices listed (and the solar, no circuit)
    for i, device in enumerate(devices):
        name = answer.text(device, "name", "a realtime device")
        power = answer.number(device, "w", "a realtime device")
        ident = device.get("id")
        if ident == SOLAR_DEVICE:
            continue
        # Without an id nothing tells this device apart in the next frame: a key for now only.
        who = None if ident is None or ident == "" else owner(str(ident), name)
        circuit = keys.key(who, name, f"{name} ({i if who is None else ident})")
        written.add(circuit)
        if who is not None:
            on.add(str(ident))
        readings.append(
            common.circuit_reading(tag_set, circuit, moment, power, common.share(power, total))
        )
    if isinstance(payload.get("devices"), list):  # the frame says which devices are on
        readings += _off(tag_set, moment, total, kept.get(scope) or {}, written, on)
    return readings, ({scope: keys.given} if keys.given else {})


def _off(
    tag_set: Mapping[str, str],
    moment: datetime,
    total: float,
    known: Mapping[str, str],
    written: set[str],
    on: set[str],
) -> list[Reading]:
    """0 W at the frame's minute for each device kept for good (its circuit key, by scope) that
    the frame does not list (neither its circuit among those `written` nor its id `on`): a
    frame lists the devices that are on, and without a point of its own an unlisted device's
    last power (a kettle's 2000 W) would stay its newest value, read as on until it comes back.
    A device listed under a new name (renamed in the app) is on: its old name gets nothing. A
    frame without `devices` says nothing of them: nothing is written."""
    return [
        common.circuit_reading(tag_set, circuit, moment, 0.0, common.share(0.0, total))
        for circuit, who in sorted(known.items())
        if who and circuit not in written and not set(parts(who)[:1]) & on
    ]


def _epoch(answer: Answer, payload: dict[str, Any]) -> datetime:
    """The frame's `epoch` (seconds since 1970) as a time InfluxDB can store."""
    epoch = answer.number(payload, "epoch", "realtime_update")
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: e.g. milliseconds
        moment = None
    if moment is None or not STORABLE[0] <= moment < STORABLE[1]:
        raise answer.bad(
            f"realtime_update: epoch {epoch!r} is not seconds since 1970 within the times "
            "InfluxDB can store (1678-2261)",
            payload,
        )
    return moment
