"""Emporia Vue (cloud API): whole-home and per-circuit power of every device on the account.

Login: AWS Cognito SRP (cognito.py), the tokens renewed, saved and reused (login.py).

Each fetch makes two kinds of usage call (kWh per minute, converted to W with x60x1000):
- Whole home, every minute: `getChartUsage` (`scale=1MIN`) of each top-level Vue's mains
  `1,2,3` from the window's start (floored to the minute) to the last complete minute ->
  `smart_meter.total_power_w`. The start is moved back LATE_MINUTES, so each run asks the
  previous run's minutes again: a minute still `null` (not ready yet) is left out, never
  written as 0, and the next run writes it (same timestamp, so an overwrite is harmless).
  After an outage the pipeline's window reaches back to the last success; the same call then
  fills the gap (bounded to the last 24 hours, `history`).
- Circuits, one minute per run: `getDeviceListUsages` (one call for all channels of all
  devices) for the last complete minute. Every channel but the mains and the whole-panel
  `MainsFromGrid`/`MainsToGrid`/`TotalUsage` (branch circuits, `Balance`, solar channels,
  negative values kept) -> `smart_meter_circuit` at that minute only; the four other minutes
  of a 5-minute interval have no circuit values (the chart call takes one channel, so every
  minute of every circuit would cost a call per channel). Nested devices (smart plugs, extra
  Vues) are devices of their own, also at that one minute. At that minute the whole home is
  taken from this answer (the circuits' percentages are relative to it), from the chart when
  it is null there. A `null` usage is retried twice with a short backoff; channels still
  null are skipped, never written as 0.
Every 15 minutes `getDeviceListUsages` with `scale=1D` adds `daily_kwh`; an ended day of any
device's zone whose complete total InfluxDB lacks is asked first, stored at its last minute
(days.py, day_ends.py).

Budget: Emporia asks for under ~2,000 requests a day per account; the budget is kept per
account (the login e-mail), each fetch reserves what it may call and counts what it called
(one chart per top-level Vue, retries included), and an account whose Vues would pass 2,000 a
day is fetched less often (budget.py, collectors/cadence.py).
Options: `base_url`, `cognito_url`, `user_pool_id`, `client_id`, `null_retry_seconds`.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from collectors.answers import api_root
from collectors.base import Adapter, ConfigError, Credentials, FetchResult, Target, Window
from collectors.smart_meter import common, day_ends
from collectors.smart_meter.emporia import PROVIDER, days, usage
from collectors.smart_meter.emporia.budget import (
    NULL_RETRY,
    NULL_TRIES,
    Calls,
    calls_per_period,
    most_calls,
    vues_of,
)
from collectors.smart_meter.emporia.devices import DeviceLists
from collectors.smart_meter.emporia.login import Logins, client_id, cognito_url, pool_id
from collectors.smart_meter.emporia.usage import Device, Usage
from collectors.smart_meter.today import DayTotalsAtRead, zoned
from enrich.http import AuthError, get_json
from enrich.wording import counted

logger = logging.getLogger(__name__)

ROOT = api_root("https://api.emporiaenergy.com", PROVIDER)
# The mains chart starts this much before the window: the pipeline's windows follow each
# other without overlap, so a minute still null at the end of one run would never be asked
# again. Five minutes = the previous run's whole window (at the 5-minute interval).
LATE_MINUTES = timedelta(minutes=5)
BACKFILL_AFTER = timedelta(minutes=15)  # a window longer than this is an outage (logged)


@dataclass(frozen=True)
class _Account:
    """Where a fetch's calls go and whose login they carry; `key` tells accounts apart."""

    base: str
    credentials: Credentials

    @classmethod
    def of(cls, credentials: Credentials) -> "_Account":
        return cls(ROOT(credentials.options), credentials)

    @property
    def key(self) -> tuple[str, str]:
        return self.base, self.credentials.username


class EmporiaVueAdapter(
    common.AppAccount, common.WatchedMeter, common.SavedSession, DayTotalsAtRead, Adapter
):
    source = "smart_meter"
    provider = PROVIDER
    label, app = "Emporia Vue", "Emporia"
    budget = "2000/day"  # Emporia's guidance per account (PyEmVue #19/#59)
    options = common.METER_OPTIONS | {
        "base_url", "cognito_url", "user_pool_id", "client_id", "null_retry_seconds"
    }  # fmt: skip
    option_parsers = (ROOT, NULL_RETRY.read, pool_id, cognito_url, client_id, common.watch_options)
    budget_scope = "login"  # each Emporia account has its own
    history = timedelta(days=1)  # our bound for the mains chart after an outage
    calls_per_fetch = most_calls(1)  # before the account's Vues are known (calls_for)

    def __init__(
        self,
        clock: Callable[[], float] = time.time,  # shared by the worker's processes (shared.py)
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._logins = Logins(clock, wall)
        self._devices = DeviceLists(clock)  # every process's (Redis)
        self._days = day_ends.TodayTotals(PROVIDER)
        self._ended = day_ends.EndedDays(clock)
        self._fetch = threading.local()  # this fetch's Calls (workers may run fetches in threads)

    def _known(self, credentials: Credentials) -> dict[int, Device]:
        """The account's devices as far as its last device list tells (else {})."""
        return self._devices.known(_Account.of(credentials).key)[0]

    def calls_for(self, target: Target, credentials: Credentials) -> int:
        return most_calls(vues_of(self._known(credentials)) or 1)

    def calls_per_period(
        self, target: Target, credentials: Credentials, interval_seconds: float, period: float
    ) -> int | None:
        if not (devices := self._known(credentials)):
            return None
        zones = days.zone_count(devices, str(target.params.get("timezone") or ""))
        return calls_per_period(vues_of(devices), zones, interval_seconds, period)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        account, started = _Account.of(credentials), self._clock()  # today's total: at the start
        self._fetch.calls = calls = Calls(window.calls)
        devices = self._device_list(account)
        vues = vues_of(devices)
        end = common.minute(window.now)
        instant = end - timedelta(minutes=1)  # the last complete minute
        usages, answered = self._minute_usage(account, devices, instant, vues)
        daily, ended = {}, None  # today's totals so far; a day that ended, at its last minute
        zone = days.day_zone(devices, str(target.params.get("timezone") or ""))
        if calls.spare(keep=vues):  # the charts come first
            ask = partial(self._usage, account, devices, scale="1D")
            ended = days.ended_totals(self._ended, target, devices, zone, instant, ask)
            if ended is None and self._days.due(account.key, started):
                daily = usage.day_totals(ask(instant)[0])
                self._days.asked(account.key, started)
        start = common.minute(max(window.start - LATE_MINUTES, window.now - self.history))
        mains = self._mains(account, devices, start, end)
        if window.start < window.now - BACKFILL_AFTER:
            came = counted(sum(len(minutes) for minutes in mains.values()), "minute")
            logger.info("emporia_vue: after an outage, asked the mains from %s: %s came back",
                        start.isoformat(), came)  # fmt: skip
        readings, kept = usage.readings(
            target, usages, devices, answered, daily, mains, credentials.kept
        )
        top = {str(d.gid) for d in devices.values() if d.top_level}
        current = common.current(readings, answered, top_level=top)  # today's: not `ended`
        current = zoned(current, zone, {str(gid): d.zone for gid, d in devices.items()})
        return FetchResult(readings + (ended or []), current, calls=calls.made, kept=kept)

    # --- calls ---

    def _minute_usage(
        self, account: _Account, devices: dict[int, Device], instant: datetime, charts: int
    ) -> tuple[list[Usage], datetime]:
        """1MIN usage; channels answered `null` are asked again (bounded, and only with calls
        the `charts` do not need), then skipped."""
        pause = NULL_RETRY.read(account.credentials.options)
        merged: dict[tuple[int, str], Usage] = {}
        answered = instant
        for attempt in range(NULL_TRIES):
            usages, answered = self._usage(account, devices, instant, "1MIN")
            for u in usages:
                if u.kwh is not None or (u.gid, u.channel) not in merged:
                    merged[(u.gid, u.channel)] = u
            missing = [k for k, u in merged.items() if u.kwh is None]
            if not missing:
                break
            if attempt + 1 < NULL_TRIES:
                if not self._fetch.calls.spare(keep=charts):
                    logger.info("emporia_vue: no call to spare for a retry of null usage")
                    break
                time.sleep(pause * 2**attempt)
        else:
            logger.info(
                "emporia_vue: usage of %s still not ready after %d tries at %s, skipped: %s",
                counted(len(missing), "channel"),
                NULL_TRIES,
                answered.isoformat(),
                ", ".join(f"{gid}/{channel}" for gid, channel in missing),
            )
        return list(merged.values()), answered

    def _usage(
        self, account: _Account, devices: dict[int, Device], instant: datetime, scale: str
    ) -> tuple[list[Usage], datetime]:
        query = usage.usage_query(devices, instant, scale)
        return usage.parse_usages(*self._get(account, "/AppAPI", query))

    def _mains(
        self, account: _Account, devices: dict[int, Device], start: datetime, end: datetime
    ) -> dict[int, dict[datetime, float]]:
        """kWh of each minute in [start, end) of each top-level device's mains, by gid; a
        minute Emporia answers `null` (not ready, or no data) is left out."""
        found: dict[int, dict[datetime, float]] = {}
        for device in (d for d in devices.values() if d.top_level):
            if not self._fetch.calls.spare():
                logger.warning(
                    "emporia_vue: %s: the calls reserved for this fetch are used up; its mains "
                    "are charted by the next fetch",
                    device.name,
                )
                continue
            query = usage.chart_query(device, start, end)
            url, body = self._get(account, "/AppAPI", query)
            found[device.gid], missing = usage.chart_minutes(url, body, start, end)
            if missing:
                logger.debug(
                    "emporia_vue: %s: %s of mains not ready since %s; asked again next run",
                    device.name,
                    counted(missing, "minute"),
                    start.isoformat(),
                )
        return found

    def _device_list(self, account: _Account) -> dict[int, Device]:
        if (fresh := self._devices.fresh(account.key)) is not None:
            return fresh
        url, body = self._get(account, "/customers/devices", None)
        if not (devices := usage.parse_devices(url, body)):
            raise ConfigError(
                "The Emporia account has no devices: add the Vue in the Emporia app first."
            )
        self._devices.keep(account.key, url, body, devices)
        return devices

    def _get(self, account: _Account, path: str, query: dict[str, Any] | None) -> tuple[str, Any]:
        url, credentials = account.base + path, account.credentials
        token = self._logins.id_token(credentials)
        calls = getattr(self._fetch, "calls", None) or Calls(None)
        calls.count()
        try:
            return url, get_json(PROVIDER, url, params=query, headers={"authtoken": token})
        except AuthError as error:
            if error.status != 401:
                raise
        logger.info("emporia_vue: %s refused the id token (HTTP 401); renewing it", path)
        token = self._logins.id_token(credentials, stale=token)
        calls.count()
        return url, get_json(PROVIDER, url, params=query, headers={"authtoken": token})
