"""Electricity Maps (v3, or v4 through `base_url`): carbon intensity and renewable share.

`carbon-intensity/latest` gives gCO2eq/kWh (consumption-based, lifecycle factors),
`power-breakdown/latest` the renewable and fossil-free percentages; their `isEstimated` is kept
as the field `is_estimated` (true when Electricity Maps estimated a value of that point), and
the intensity's `emissionFactorType` (`lifecycle`, the default, or `direct`: which emissions a
gram counts) as `emission_factor_type`, so values of the two bases are told apart. The
forecast is fetched only when `options["forecast"]` is true (JSON true or false; anything else
is a ConfigError naming it; free keys have none; a 401/403 on it is logged and the run carries
on); it asks `horizonHours=48` (a documented value) so it reaches past now + 24 h, which
`forecast_24h` and the plans need, whatever the API's default horizon. After an outage
`carbon-intensity/history` backfills the last 24 hours, and the first fetch of an hour asks it
when hours are stored estimated, to write those it gives measured, with the shares
`power-breakdown/history` gives measured (`estimated`); a failing history call leaves the
latest values in place (`history_error`).
The zone is the site's `grid_region` (e.g. "DE"); without it the site's coordinates are sent.
Options: `base_url`, `forecast`, `budget` (Electricity Maps publishes no fixed limit).
Values outside 0-5000 gCO2/kWh or 0-100 % are malformed answers (`common`).
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import Answer, api_root
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.carbon import common, estimated
from enrich.http import AuthError, get_json
from enrich.readings import Reading

logger = logging.getLogger(__name__)

PROVIDER = "electricitymaps"
ROOT = api_root("https://api.electricitymaps.com/v3", PROVIDER)
HISTORY_AFTER = timedelta(hours=1)  # the data is hourly: a shorter gap has nothing to fill
FACTOR_TYPE = "emission_factor_type"  # lifecycle (the API's default) or direct
# Documented horizons are 6/24/48/72 h; forecast_24h (common.horizon_fields) and the plans
# (collectors.carbon.now.AHEAD, 25 h) need more than 24 h, whatever the API's default is.
FORECAST_HOURS = 48


def _forecast_wanted(options: Mapping[str, Any]) -> bool:
    """options.forecast: JSON true or false (left out: false); a ConfigError names anything
    else ("true", 1 or "yes" would silently ask no forecast)."""
    value = options.get("forecast", False)
    if not isinstance(value, bool):
        raise ConfigError(
            f"Electricity Maps: options.forecast {value!r} is not valid: give true (your plan "
            "has forecasts) or false, as a JSON boolean, not text or a number."
        )
    return value


class ElectricityMapsAdapter(common.CarbonAdapter):
    source = "carbon_intensity"
    provider = PROVIDER
    budget = None  # plan-dependent, unpublished; set options["budget"] to your plan's limit
    options = frozenset({"base_url", "forecast"})
    additive = {"forecast": (None, False, True)}  # a config sharing the zone may ask for it
    option_parsers = (ROOT, _forecast_wanted)
    budget_scope = "account"
    history = timedelta(hours=24)
    slot = timedelta(hours=1)  # v3 answers hours
    calls_per_fetch = 2  # latest carbon intensity + latest power breakdown

    def calls_for(self, target: Target, credentials: Credentials) -> int:
        """Latest and breakdown, the forecast when asked, a history call (estimated)."""
        return estimated.most_calls(self.calls_per_fetch + _forecast_wanted(credentials.options))

    def calls_per_period(
        self, target: Target, credentials: Credentials, interval_seconds: float, period: float
    ) -> int:
        each = self.calls_per_fetch + _forecast_wanted(credentials.options)
        return estimated.planned(each, interval_seconds, period)

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        if not credentials.api_key:
            raise ConfigError(
                "Electricity Maps needs an API key: set ELECTRICITYMAPS_API_KEY or enter it in "
                "the admin's provider settings (keys: https://portal.electricitymaps.com)."
            )
        _forecast_wanted(credentials.options)  # fail at dispatch, with the option named
        zone = site.grid_region.strip()
        if zone:
            return Target(self.source, PROVIDER, zone, {"zone": zone})
        key = f"{site.latitude:.4f},{site.longitude:.4f}"
        return Target(self.source, PROVIDER, key, {"lat": site.latitude, "lon": site.longitude})

    def asked_again(self, target: Target, window: Window) -> Mapping[datetime, Mapping[str, Any]]:
        return estimated.stored(self.source, PROVIDER, target, window)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base = ROOT(credentials.options)
        headers = {"auth-token": credentials.api_key}
        where = dict(target.params)

        url = base + "/carbon-intensity/latest"
        try:
            latest = get_json(PROVIDER, url, params=where, headers=headers)
        except AuthError as error:
            raise _refused(error, target) from None
        answer = Answer(PROVIDER, url)
        zone = answer.text(latest, "zone")
        at = answer.when(latest, "datetime")
        grams = common.intensity(
            answer, answer.number(latest, "carbonIntensity"), "carbonIntensity", latest
        )
        points: dict[datetime, dict[str, Any]] = {
            at: _intensity(answer, latest, grams, "the answer")
        }

        url = base + "/power-breakdown/latest"
        breakdown = get_json(PROVIDER, url, params=where, headers=headers)
        answer = Answer(PROVIDER, url)
        shares_at = answer.when(breakdown, "datetime")
        if shares := estimated.shares(answer, breakdown):  # at the breakdown's own hour
            points.setdefault(shares_at, {}).update(shares)
        if shares_at in points:
            _estimated(points[shares_at], answer.flag(breakdown, "isEstimated"))

        forecast: list[common.Slot] = []
        if _forecast_wanted(credentials.options):
            forecast = self._forecast(base, where, headers)
        points[at].update(common.horizon_fields(forecast, window.now))

        tags = {"region": zone, "grid_operator": zone, "provider": PROVIDER}
        readings = [Reading(common.MEASUREMENT, f, t, tags) for t, f in sorted(points.items()) if f]
        readings += common.forecast_readings(forecast, tags)
        failed, past = None, []
        backfill = window.start < window.now - HISTORY_AFTER
        if (backfill or window.again) and not window.history_skipped:
            past, failed = common.read_history(
                PROVIDER,
                lambda: self._history(base, where, headers, window, before=at, tags=tags),
            )
            readings += estimated.with_shares(PROVIDER, base, where, headers, past, window)
        # The value now is the intensity's hour: shares of another hour are written at their
        # own time, never shown as this hour's.
        return FetchResult(
            readings,
            common.current(at, points[at], region=zone),
            history_error=failed,
            replaces=estimated.replaced(past, window),
        )

    def _forecast(
        self, base: str, where: dict[str, Any], headers: dict[str, str]
    ) -> list[common.Slot]:
        url = base + "/carbon-intensity/forecast"
        try:
            params = {**where, "horizonHours": FORECAST_HOURS}
            body = get_json(PROVIDER, url, params=params, headers=headers)
        except AuthError as error:
            logger.info(
                "electricitymaps: the forecast was refused (HTTP %s): it is probably not on "
                "this key's plan; carrying on without it. Remove options.forecast to stop asking.",
                error.status,
            )
            return []
        answer = Answer(PROVIDER, url)
        entries = sorted(
            (
                answer.when(entry, "datetime", "a forecast entry"),
                _grams(answer, entry, "a forecast entry"),
            )
            for entry in answer.items(body, "forecast")
        )
        # Slot lengths come from the spacing of all entries; a slot without a value is then
        # left out (never stored as 0), without stretching its neighbour over the gap.
        return [
            common.Slot(at, common.spacing(entries, i), {common.GCO2_KWH: value})
            for i, (at, value) in enumerate(entries)
            if value is not None
        ]

    def _history(
        self,
        base: str,
        where: dict[str, Any],
        headers: dict[str, str],
        window: Window,
        *,
        before: datetime,
        tags: dict[str, str],
    ) -> list[Reading]:
        url = base + "/carbon-intensity/history"
        body = get_json(PROVIDER, url, params=where, headers=headers)
        answer, readings = Answer(PROVIDER, url), []
        backfill = window.start < window.now - HISTORY_AFTER
        for entry in answer.items(body, "history"):
            at = answer.when(entry, "datetime", "a history entry")
            value = _grams(answer, entry, "a history entry")
            # null = no data for that hour: leave the gap rather than store a guess.
            if value is None or at >= before:
                continue
            fields = _intensity(answer, entry, value, "a history entry")
            if at in window.again:  # stored estimated: rewritten only once measured
                if point := estimated.measured(window, at, fields, tags):
                    readings.append(point)
            elif backfill and window.start <= at:
                readings.append(Reading(common.MEASUREMENT, fields, at, tags))
        return readings


def _refused(error: AuthError, target: Target) -> AuthError:
    """A 403 on the zone's latest value names the zone: the key is valid (a bad one is a 401)
    but its plan may not cover the zone (the free tier has the one chosen at signup)."""
    if error.status != 403:
        return error
    zone = f"zone {target.key!r}" if "zone" in target.params else f"the zone at {target.key}"
    return common.refused(
        error,
        f"refused {zone} (HTTP 403): this API key's plan probably does not cover it (the free "
        "personal tier covers the one zone chosen at signup). Set the site's grid region to a "
        "zone of the plan, or use a key whose plan has this one.",
    )


def _grams(answer: Answer, entry: Any, what: str) -> float | None:
    """An entry's carbonIntensity (gCO2/kWh, checked); None for null."""
    value = answer.maybe_number(entry, "carbonIntensity", what)
    if value is None:
        return None
    return common.intensity(answer, value, f"{what}: carbonIntensity", entry)


def _intensity(answer: Answer, entry: Any, grams: float, what: str) -> dict[str, Any]:
    """The fields of a fetched intensity point: gCO2/kWh, `is_estimated` and the emission
    factor basis, each when the entry says (an absent or null one is left out, not guessed)."""
    fields = common.fetched({common.GCO2_KWH: grams})
    _estimated(fields, answer.flag(entry, "isEstimated", what))
    basis = entry.get("emissionFactorType")
    if basis is not None:
        if not isinstance(basis, str) or not basis.strip():
            raise answer.bad(f"{what}: emissionFactorType should be text, got {basis!r}", entry)
        fields[FACTOR_TYPE] = basis.strip()
    return fields


def _estimated(fields: dict[str, Any], flag: bool | None) -> None:
    """`is_estimated` of a point: true when any value read for it was estimated."""
    if flag is not None:
        fields["is_estimated"] = bool(fields.get("is_estimated")) or flag
