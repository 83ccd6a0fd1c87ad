"""WattTime v3: marginal emissions (MOER) as a 0-100 index on every plan, gCO2/kWh on paid ones.

A login (HTTP basic) gives a 30-minute bearer token, kept per account in this instance and
renewed 2 minutes before it expires, or once when a call answers 401 (then the call is retried
once). `signal-index` (free) gives the percentile, stored as `moer_percentile`; `forecast`
(lbs/MWh, stored as gCO2/kWh) is fetched when `options["plan"]` is "forecast" or "historical",
or probed when no plan is set: a 403 means "not on this plan", logged once and re-probed daily.
The forecast is asked for 25 h (`horizon_hours`): the default 24 h end just before now+24h.
`historical` backfills missed periods on the "historical" plan; when it fails, the latest
values stand (`history_error`). Options: `plan` (free | forecast | historical), `base_url`.
Site `grid_region` is the WattTime region (e.g. CAISO_NORTH), else looked up from the site's
coordinates (re-checked monthly, as WattTime advises). Budget: 3,000 calls / 5 min per
account; /login separately allows 100 / 5 min, which the token reuse keeps far away.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from collectors.answers import Answer, api_root, scaled
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.carbon import common
from enrich.http import AuthError, get_json
from enrich.readings import Reading

logger = logging.getLogger(__name__)

PROVIDER = "watttime"
ROOT = api_root("https://api.watttime.org", PROVIDER)
SIGNAL = "co2_moer"
PLANS = ("free", "forecast", "historical")
TOKEN_LIFETIME = 30 * 60.0
RENEW_BEFORE = 2 * 60.0
REGION_RECHECK = 30 * 24 * 3600.0  # WattTime: re-query region-from-loc monthly
FORECAST_REPROBE = 24 * 3600.0
HISTORICAL_AFTER = timedelta(minutes=15)
MAX_PERIOD_SECONDS = 24 * 3600  # points come every 300 s; a longer period is no series
FORECAST_HOURS = 25  # one more than the default 24, so now+24h is covered (forecast_24h)
# meta.units -> (field, factor): the answer says which signal it carries.
UNITS = {
    "percentile": ("moer_percentile", 1.0),
    "lbs_co2_per_mwh": (common.GCO2_KWH, common.LBS_PER_MWH_TO_G_PER_KWH),
}


def _plan(options: Mapping[str, Any]) -> str | None:
    plan = options.get("plan")
    if plan is not None and plan not in PLANS:
        raise ConfigError(
            f"WattTime option plan={plan!r} is unknown: use one of {', '.join(PLANS)} (or leave "
            "it out to detect forecast access automatically)."
        )
    return plan


class WattTimeAdapter(common.CarbonAdapter):
    source = "carbon_intensity"
    provider = PROVIDER
    budget = "3000/5min"
    options = frozenset({"base_url", "plan"})
    option_parsers = (ROOT, _plan)
    additive = {"plan": ("free", None, "forecast", "historical")}  # None: probe the forecast
    slot = timedelta(minutes=5)  # the MOER of each 5 minutes
    history = timedelta(days=30)  # /v3/historical serves 32-day windows; on the historical plan
    calls_per_fetch = 2  # signal-index + forecast; the login is once per ~28 minutes

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}  # -> (token, expires)
        self._regions: dict[tuple[str, str], tuple[str, float]] = {}  # -> (region, recheck)
        self._not_on_plan: dict[tuple[str, str, str], float] = {}  # -> time of the 403

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        if not credentials.username or not credentials.password:
            raise ConfigError(
                "WattTime needs the account's username and password: set WATTTIME_USERNAME "
                "and WATTTIME_PASSWORD (or WATTTIME_API_TOKEN=username:password), or enter "
                "them in the admin's provider settings."
            )
        _plan(credentials.options)
        region = site.grid_region.strip()
        if region:
            return Target(self.source, PROVIDER, region, {"region": region})
        where = {"latitude": site.latitude, "longitude": site.longitude}
        key = f"{site.latitude:.4f},{site.longitude:.4f}"
        return Target(self.source, PROVIDER, key, where)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base, plan = ROOT(credentials.options), _plan(credentials.options)
        region = target.params.get("region") or self._region_from_loc(base, credentials, target)
        query = {"region": region, "signal_type": SIGNAL}
        url, body = self._get(base, credentials, "/v3/signal-index", query)
        index = _series(url, body)
        if not index:
            raise Answer(PROVIDER, url).bad("signal-index has no data points", body)
        operator = Answer(PROVIDER, url).text(body["meta"], "region", "meta")
        tags = {"region": region, "grid_operator": operator, "provider": PROVIDER}
        now_slot = index[-1]
        forecast: list[common.Slot] = []
        if plan in ("forecast", "historical") or (plan is None and self._may_have(base, region)):
            ahead = {**query, "horizon_hours": FORECAST_HOURS}
            forecast = self._optional(base, credentials, "/v3/forecast", ahead, "forecasts")
        fields: dict[str, Any] = dict(now_slot.values)
        covering = next((s for s in forecast if s.covers(now_slot.start)), None)
        if covering is not None and common.GCO2_KWH in covering.values:
            fields[common.GCO2_KWH] = covering.values[common.GCO2_KWH]
        fields = common.fetched(fields | common.horizon_fields(forecast, window.now))
        # The forecast's first point is the real-time value; a later one is a forecast of it.
        if common.GCO2_KWH in fields and covering is not forecast[0]:
            fields[common.IS_FORECAST] = True
        readings = [Reading(common.MEASUREMENT, fields, now_slot.start, tags)]
        readings += common.forecast_readings(forecast, tags)
        failed, span = None, {**query, "end": window.now.isoformat()}
        gap = window.start < window.now - HISTORICAL_AFTER
        if plan == "historical" and gap and not window.history_skipped:
            span["start"] = max(window.start, window.now - self.history).isoformat()
            past, failed = common.read_history(
                PROVIDER, lambda: _series(*self._get(base, credentials, "/v3/historical", span))
            )
            readings += [
                Reading(common.MEASUREMENT, common.fetched(s.values), s.start, tags)
                for s in past
                if s.start < now_slot.start
            ]
        headline = common.current(now_slot.start, fields, region=region)
        return FetchResult(readings, headline, history_error=failed)

    def _optional(
        self, base: str, credentials: Credentials, path: str, query: dict[str, Any], what: str
    ) -> list[common.Slot]:
        """A subscriber-only series; [] when the plan does not include it (HTTP 403)."""
        try:
            return _series(*self._get(base, credentials, path, query))
        except AuthError as error:
            if error.status != 403:
                raise
            key = (base, query["region"], path)
            if key not in self._not_on_plan:
                logger.info(
                    "watttime: %s for region %s are not on this account's plan (HTTP 403); "
                    "carrying on with the free 0-100 index. Set options.plan to 'free' to stop "
                    "asking.",
                    what,
                    query["region"],
                )
            self._not_on_plan[key] = self._clock()
            return []

    def _may_have(self, base: str, region: str) -> bool:
        refused = self._not_on_plan.get((base, region, "/v3/forecast"))
        return refused is None or self._clock() - refused > FORECAST_REPROBE

    def _get(
        self, base: str, credentials: Credentials, path: str, query: dict[str, Any]
    ) -> tuple[str, Any]:
        url = base + path
        token = self._token(base, credentials)
        try:
            return url, _get_json(url, query, token)
        except AuthError as error:
            if error.status != 401:
                raise
        # The token expired early or was revoked: log in again and retry once.
        logger.info("watttime: %s refused the token (HTTP 401); logging in again", path)
        token = self._token(base, credentials, stale=token)
        return url, _get_json(url, query, token)

    def _token(self, base: str, credentials: Credentials, stale: str | None = None) -> str:
        key = (base, credentials.username)
        with self._lock:
            token, expires = self._tokens.get(key, ("", 0.0))
            if token and token != stale and self._clock() < expires - RENEW_BEFORE:
                return token
            issued = self._clock()
            url = base + "/login"
            try:
                body = get_json(PROVIDER, url, auth=(credentials.username, credentials.password))
            except AuthError as error:
                raise AuthError(
                    f"watttime: the login at {error.endpoint} refused the username and password "
                    f"(HTTP {error.status}). Check WATTTIME_USERNAME / WATTTIME_PASSWORD or the "
                    "provider settings in the admin.",
                    provider=PROVIDER,
                    endpoint=error.endpoint,
                    status=error.status,
                    body_excerpt=error.body_excerpt,
                ) from None
            token = Answer(PROVIDER, url).text(body, "token", "the login answer")
            self._tokens[key] = (token, issued + TOKEN_LIFETIME)
            return token

    def _region_from_loc(self, base: str, credentials: Credentials, target: Target) -> str:
        key = (base, target.key)
        region, recheck = self._regions.get(key, ("", 0.0))
        if region and self._clock() < recheck:
            return region
        query = {**target.params, "signal_type": SIGNAL}
        url, body = self._get(base, credentials, "/v3/region-from-loc", query)
        region = Answer(PROVIDER, url).text(body, "region", "the region-from-loc answer")
        self._regions[key] = (region, self._clock() + REGION_RECHECK)
        return region


def _get_json(url: str, query: dict[str, Any], token: str) -> Any:
    """A call with the token; a 403 (no access on the plan) names the region, not the login."""
    try:
        return get_json(PROVIDER, url, params=query, headers={"Authorization": f"Bearer {token}"})
    except AuthError as error:
        if error.status != 403:
            raise
        where = query.get("region") or f"at {query.get('latitude')},{query.get('longitude')}"
        raise common.refused(
            error,
            f"refused region {where} / signal {query.get('signal_type')} (HTTP 403): the login "
            "worked, but the plan has no access to them: check the grid region and /v3/my-access.",
        ) from None


def _series(url: str, body: Any) -> list[common.Slot]:
    """A v3 data answer as slots, in the unit `meta.units` names (unknown units are refused)."""
    answer = Answer(PROVIDER, url)
    meta = answer.get(body, "meta")
    units = answer.get(meta, "units", "meta")
    if not isinstance(units, str) or units not in UNITS:
        raise answer.bad(f"meta.units {units!r} is not one of {', '.join(UNITS)}", meta)
    name, factor = UNITS[units]
    seconds = answer.number(meta, "data_point_period_seconds", "meta")
    if not 0 < seconds <= MAX_PERIOD_SECONDS:  # NaN too
        problem = f"is not within 0-{MAX_PERIOD_SECONDS} (a day)"
        raise answer.bad(f"meta.data_point_period_seconds {seconds:g} {problem}", meta)
    warnings = meta.get("warnings") or []
    if not isinstance(warnings, list):
        raise answer.bad(f"meta.warnings should be a list, got {warnings!r}", meta)
    for warning in warnings:
        logger.warning("watttime: %s warned: %s", url, warning)
    slots = []
    for point in answer.items(body, "data"):
        value = scaled(answer.number(point, "value", "a data point"), times=factor)
        if name == "moer_percentile" and not 0 <= value <= 100:
            raise answer.bad(f"the percentile {value:g} is outside 0-100", point)
        if name == common.GCO2_KWH:
            shown = f"{point['value']:g} lbs/MWh ({value:g} gCO2/kWh)"
            common.intensity(answer, value, "a data point: value", point, shown)
        when = answer.when(point, "point_time", "a data point")
        slots.append(common.Slot(when, seconds / 60, {name: value}))
    return sorted(slots, key=lambda s: s.start)
