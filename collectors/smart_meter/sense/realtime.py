"""Sense's realtime feed: one `realtime_update` frame of the monitor's websocket.

`wss://clientrt.sense.com/monitors/<monitor id>/realtimefeed?access_token=...` sends hello,
features, ... then `realtime_update` frames; the first one is read (5 s timeout, at most
MAX_FRAMES frames). `{"type": "error", "payload": {"authorized": false}}` or a 401/403
handshake is Unauthorized (the adapter renews the token once). The options `realtime_url` (a
ws:// or wss:// root) and `realtime_timeout` (seconds, more than 0, at most MOST_TIMEOUT) are
checked before any connection: websocket-client raises its own errors for what it cannot use.
"""

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import websocket

from collectors.answers import Answer, checked_url
from collectors.base import Credentials, Target
from collectors.smart_meter import common
from collectors.smart_meter.sense import PROVIDER
from enrich.http import PermanentError, TransientError, malformed, scrub_url
from enrich.readings import Reading

logger = logging.getLogger(__name__)

DEFAULT_REALTIME_URL = "wss://clientrt.sense.com"
REALTIME_TIMEOUT = 5.0
MOST_TIMEOUT = 60.0  # a run every minute (the budget): no longer than that on one frame
MAX_FRAMES = 50  # hello, features, ... then realtime_update; a bound so a chatty feed ends


class Unauthorized(Exception):
    """The realtime feed refused the access token."""


def realtime_root(credentials: Credentials) -> str:
    """options.realtime_url, checked (a ConfigError names it), or Sense's feed."""
    return checked_url(credentials, DEFAULT_REALTIME_URL, "realtime_url", ("ws", "wss"), "Sense")


# options.realtime_timeout, checked (a ConfigError names it), or REALTIME_TIMEOUT.
TIMEOUT = common.Seconds("realtime_timeout", REALTIME_TIMEOUT, MOST_TIMEOUT, who="Sense")


def feed(
    credentials: Credentials, monitor_id: str, access_token: str, scrubbed: bool = False
) -> str:
    root = realtime_root(credentials)
    url = f"{root}/monitors/{monitor_id}/realtimefeed?access_token={access_token}"
    return scrub_url(url) if scrubbed else url


def read_frame(credentials: Credentials, monitor_id: str, access_token: str) -> dict[str, Any]:
    """The payload of the first `realtime_update` frame; Unauthorized for a refused token."""
    timeout = TIMEOUT.read(credentials)
    endpoint = feed(credentials, monitor_id, access_token, scrubbed=True)
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


def realtime_readings(
    target: Target, payload: dict[str, Any], monitor_id: str, endpoint: str
) -> list[Reading]:
    answer = Answer(PROVIDER, endpoint)
    total = answer.number(payload, "w", "realtime_update")
    epoch = answer.number(payload, "epoch", "realtime_update")
    moment = common.minute(datetime.fromtimestamp(epoch, UTC))
    tag_set = common.tags(target, monitor_id)
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
