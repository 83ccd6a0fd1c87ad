"""Sense (unofficial cloud API): whole-home power and the power of each detected device.

`POST authenticate` (form e-mail/password, header `x-sense-device-id`) gives an access token,
the user id, a refresh token and the monitor id. That session is kept in this instance and
saved (encrypted, ProviderConfig.session, through Adapter.on_renewed), so a restarted
worker starts from it and renews it instead of logging in again. An account with multi-factor
authentication answers 401 with an `mfa_token`: a person logs in once with
`manage.py sense_login` (`login()`: `POST authenticate/mfa` with the one-time code); from then
on the saved session is renewed unattended, and only a refused renewal needs that again.
The realtime power comes from one `realtime_update` frame of the monitor's websocket feed
(realtime.py): `w` -> `smart_meter.total_power_w`, each `devices[]` entry ->
`smart_meter_circuit` (circuit = the device name, kept by the device that had it first: a
later one of that name gets its id added; percentage = its share of `w`), at the frame's
`epoch` rounded down to the minute. A frame lists only the devices that are on: each device
that holds a circuit key and is not listed gets 0 W at that minute (not one listed under a
new name, renamed in the app; nothing when the read fails: an outage of the feed is no
"off"). An unauthorized frame or a 401 from the REST API renews the token once (`POST
renew`, or a fresh login when the renewal is refused). Every 15 minutes
`app/history/trends?scale=DAY` (for the frame's minute) adds that day's consumption so far as
`daily_kwh` (when it was last asked and the day it answered are the account's, kept in Redis
for every worker process: ../shared.py); an ended day (the account-local day the trends answer names) whose complete
total InfluxDB lacks (or the newest, not asked since it settled) is asked instead, at its last
minute, and stored there: by the first run 15 minutes after midnight, or a later one when that
failed or was skipped (../day_ends.py). The answer marks the monitor with the account's
`time_zone` (auth.Session), the zone of the day its `daily_kwh` is served for (../today.py).

The realtime feed has no past: after an outage the trends give each complete hour of the gap
(`hour_kwh`) and each complete day (`daily_kwh`), up to 7 days back (history.py).
Budget: one realtime read a minute per Sense account ("1/minute"), the pace of the
sense_energy library and of Home Assistant's integration; a fetch makes one read (login,
renewal and trends are rare extras, charged after the fetch while the budget has calls left).
Options: `base_url`, `realtime_url`, `device_id`, `realtime_timeout`.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.answers import api_root
from collectors.base import Adapter, Credentials, FetchResult, Target, Window
from collectors.smart_meter import common, day_ends, shared
from collectors.smart_meter.sense import PROVIDER, auth, history
from collectors.smart_meter.sense.auth import Session
from collectors.smart_meter.sense.realtime import (
    TIMEOUT,
    Unauthorized,
    feed,
    read_frame,
    realtime_readings,
    realtime_root,
)
from collectors.smart_meter.today import DayTotalsAtRead, zoned
from enrich.http import AuthError, get_json
from enrich.readings import Reading
from enrich.wording import counted

logger = logging.getLogger(__name__)

ROOT = api_root("https://api.sense.com/apiservice/api/v1", PROVIDER)
BACKFILL_AFTER = timedelta(minutes=15)  # a longer window is an outage: ask the trends
MINUTE = timedelta(minutes=1)
DAY_KIND = "sense_day"  # the day the last DAY answer was of, per account (shared.py)


class SenseAdapter(
    common.AppAccount, common.WatchedMeter, common.SavedSession, DayTotalsAtRead, Adapter
):
    source = "smart_meter"
    provider = PROVIDER
    label, app = "Sense", "Sense"
    options = common.METER_OPTIONS | {"base_url", "realtime_url", "device_id", "realtime_timeout"}
    option_parsers = (ROOT, realtime_root, auth.device_id, TIMEOUT.read, common.watch_options)
    budget = "1/minute"  # one realtime read per minute per account (not "60/hour": no bursts)
    budget_scope = "login"  # each Sense account has its own
    history = timedelta(days=7)  # our bound for the trends backfill: one call per day
    calls_per_fetch = 1

    def __init__(self, clock: Callable[[], float] = time.time) -> None:  # shared: shared.py
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], Session] = {}
        self._today = day_ends.TodayTotals(PROVIDER)  # today's trends (every 15 minutes)
        self._ended = day_ends.EndedDays(clock)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base, started = ROOT(credentials.options), self._clock()  # today's trends: at the start
        session = self._session(base, credentials)
        try:
            payload = read_frame(credentials, session.monitor_id, session.access_token)
        except Unauthorized:
            logger.info("sense: the realtime feed refused the access token; renewing it")
            session = self._session(base, credentials, stale=session)
            try:
                payload = read_frame(credentials, session.monitor_id, session.access_token)
            except Unauthorized:
                raise AuthError(
                    "sense: the realtime feed refused a freshly renewed access token. Log in to "
                    "the Sense app to check the account, then check METER_USERNAME/METER_PASSWORD.",
                    provider=PROVIDER,
                    endpoint=feed(credentials, session.monitor_id, session.access_token, True),
                ) from None
        endpoint = feed(credentials, session.monitor_id, session.access_token, True)
        readings, kept = realtime_readings(
            target, payload, session.monitor_id, endpoint, credentials.kept
        )
        account = (base, credentials.username)
        outage = window.start < window.now - BACKFILL_AFTER  # the backfill asks the ended days
        ends = (
            None
            if outage or not readings
            else self._ended.due(target, self._ends(account, readings[0].time))
        )
        ended: list[Reading] = []
        if ends is not None:
            # An ended day whose complete total InfluxDB lacks (the last one stored is up to
            # 15 minutes short, or none): its total at its last minute; today's next run.
            url, body = self._trends(base, credentials, session, ends)
            total = history.total_at(url, body, ends)
            self._ended.asked(target, ends, answered=total is not None)
            self._today.forget(account)
            if total is not None:
                fields, tags = {"daily_kwh": total}, dict(readings[0].tags)
                ended.append(Reading(common.MEASUREMENT, fields, ends, tags))
        elif readings and self._today.due(account, started):
            # the day of the frame's minute, where daily_kwh goes (not of window.now: a run
            # started just before midnight reads its frame in the next day)
            home = readings[0]
            url, body = self._trends(base, credentials, session, home.time)
            daily = history.total_at(url, body, home.time)
            self._today.asked(account, started)
            if daily is not None:
                readings[0] = replace(home, fields={**home.fields, "daily_kwh": daily})
                if (day := history.day_of(url, body)) is not None:  # total_at: holds the frame
                    bounds = [bound.isoformat() for bound in day]
                    shared.write(DAY_KIND, PROVIDER, *account, value=bounds, kept=2 * 86400)
        current = zoned(common.current(readings, window.now), session.time_zone)  # not `ended`
        readings += ended
        if outage:
            tag_set = common.tags(target, session.monitor_id)
            readings = self._backfill(base, credentials, session, tag_set, window) + readings
        return FetchResult(readings, current, kept=kept)

    def _ends(self, account: tuple[str, str], moment: datetime) -> list[datetime]:
        """The last minutes of the ended days Sense's answers told (its days are the account's
        time zone's) that ended SETTLE before `moment`: the day before the last DAY answer's
        day, and that day (any process's answer)."""
        day = shared.read(DAY_KIND, PROVIDER, *account)
        if not isinstance(day, list) or len(day) != 2:
            return []  # asked first: today's trends, which tell where the day starts
        starts = [datetime.fromisoformat(start) for start in day]
        return [start - MINUTE for start in starts if start <= moment - day_ends.SETTLE]

    # --- REST ---

    def _session(
        self, base: str, credentials: Credentials, stale: Session | None = None
    ) -> Session:
        key = (base, credentials.username)
        with self._lock:
            known = self._sessions.get(key) or auth.saved(credentials)
            if known is not None and known != stale:
                self._sessions[key] = known
                return known
            fresh = None
            if known is not None:
                try:
                    fresh = auth.renew(base, credentials, known)
                except AuthError:
                    logger.info("sense: the renewal was refused; logging in again")
            fresh = fresh or auth.authenticate(base, credentials)
            self._sessions[key] = fresh
            auth.keep(credentials, fresh)
            return fresh

    def login(self, credentials: Credentials, code: Callable[[], str]) -> Session:
        """A fresh login, asking `code()` for the one-time code when the account has MFA;
        the session is reported (Credentials.report_renewed) and kept."""
        base = ROOT(credentials.options)
        with self._lock:
            session = auth.authenticate(base, credentials, code)
            self._sessions[(base, credentials.username)] = session
        auth.keep(credentials, session)
        return session

    def _trends(
        self, base: str, credentials: Credentials, session: Session, moment: datetime
    ) -> tuple[str, Any]:
        """The DAY trends answer for the account-local day holding `moment`."""
        url = f"{base}/app/history/trends"
        query = {
            "monitor_id": session.monitor_id,
            "device_id": "always_on",
            "scale": "DAY",
            "start": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        headers = {"Authorization": f"bearer {session.access_token}"}
        try:
            return url, get_json(PROVIDER, url, params=query, headers=headers)
        except AuthError as error:
            if error.status != 401:
                raise
        session = self._session(base, credentials, stale=session)
        headers = {"Authorization": f"bearer {session.access_token}"}
        return url, get_json(PROVIDER, url, params=query, headers=headers)

    def _backfill(
        self, base: str, credentials: Credentials, session: Session, tag_set: Any, window: Window
    ) -> list[Reading]:
        """The hours and days of an outage, one trends call per day (history.py)."""
        found: list[Reading] = []
        moment = window.start
        for _ in range(self.history.days + 1 if self.history else 0):
            url, body = self._trends(base, credentials, session, moment)
            readings, day_end = history.gap_readings(url, body, tag_set, window.start, window.now)
            found += readings
            if day_end >= window.now or day_end <= moment:
                break
            moment = day_end
        hours = sum(1 for reading in found if "hour_kwh" in reading.fields)
        logger.info(
            "sense: after an outage since %s, %s and %s came back from the trends",
            window.start.isoformat(),
            counted(hours, "hourly total"),
            counted(len(found) - hours, "daily total"),
        )
        return found
