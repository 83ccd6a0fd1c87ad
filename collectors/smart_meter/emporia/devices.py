"""The Emporia account's device list (`customers/devices`), asked every DEVICES_TTL and kept
in Redis with the time it was fetched (the adapter's clock), per account (shared.py): every
worker process and a restarted worker take it from there, so the account's device list is
asked 24 times a day, as budget.py plans, not once an hour by each process. The list of any
age also tells the budget planning the account's Vues and zones (calls_for,
calls_per_period), kept for KEPT.
"""

from collections.abc import Callable
from typing import Any

from collectors.smart_meter import shared
from collectors.smart_meter.emporia import PROVIDER, usage
from collectors.smart_meter.emporia.budget import DEVICES_TTL
from collectors.smart_meter.emporia.usage import Device

KIND = "emporia_devices"
KEPT = 7 * 86400.0  # a list older than DEVICES_TTL is asked again; this long it sizes budgets


class DeviceLists:
    """The device lists of the accounts (by `key`: API root and e-mail), read from Redis; each
    list is parsed once per process (kept with the answer it was parsed from)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._parsed: dict[tuple[str, str], tuple[Any, dict[int, Device]]] = {}

    def known(self, key: tuple[str, str]) -> tuple[dict[int, Device], Any]:
        """The devices of the account's last device list, whichever process asked it, and the
        clock reading it was fetched at; ({}, None) when there is none."""
        kept = shared.read(KIND, PROVIDER, *key)
        if not isinstance(kept, dict) or not {"at", "url", "body"} <= kept.keys():
            return {}, None
        parsed = self._parsed.get(key)
        if parsed is None or parsed[0] != kept:
            parsed = self._parsed[key] = (kept, usage.parse_devices(kept["url"], kept["body"]))
        return parsed[1], kept["at"]

    def fresh(self, key: tuple[str, str]) -> dict[int, Device] | None:
        """The account's devices when its list was fetched less than DEVICES_TTL ago."""
        devices, at = self.known(key)
        return None if not devices or shared.due(self._clock(), at, DEVICES_TTL) else devices

    def keep(self, key: tuple[str, str], url: str, body: Any, devices: dict[int, Device]) -> None:
        """The list `body` (its `devices`, parsed) was fetched now."""
        kept = {"at": self._clock(), "url": url, "body": body}
        shared.write(KIND, PROVIDER, *key, value=kept, kept=KEPT)
        self._parsed[key] = (kept, devices)
