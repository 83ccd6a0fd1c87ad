"""AirNow (US EPA) current observations: which endpoint to call, and what its errors mean.

Two API generations answer the same question. The current service (live 2026-06-17,
lowerCamelCase fields, no category number) is tried first; on 404/410 or a "service not found"
message the classic one (PascalCase array, retired 2026-09-30) is tried. The generation that
answered is remembered in the instance, so later fetches go straight there. Parsing and the
readings are in `observations`.
"""

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from collectors.air_quality import now, series
from collectors.air_quality import observations as obs
from collectors.answers import api_root, text_option
from collectors.base import Adapter, ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from enrich.http import AuthError, PermanentError, get_json, malformed

log = logging.getLogger(__name__)

BASE_URL = "https://www.airnowapi.org"
ROOT = api_root(BASE_URL, "airnow")
CURRENT, CLASSIC = "current", "classic"
CURRENT_PATH = "/aq/observation/current/ziplatlong/"
CLASSIC_DISTANCE_MILES = 25  # only the classic services take `distance`; the current ignores it
# What a request AirNow refuses (an unknown ZIP code: HTTP 400) or cannot be sent asks to check.
CHECK = (
    "the AirNow provider's options zip_code (a US ZIP code AirNow knows) and base_url, or the "
    "site's latitude and longitude"
)
_SERVICE_GONE = re.compile(r"not found|retired|discontinued|no longer (available|supported)", re.I)
_AUTH_PROBLEM = re.compile(r"api key|authenticat", re.I)


class EndpointMissing(Exception):
    """This generation of the API is not served here (404/410/"not found"): try the other."""

    def __init__(self, error: PermanentError) -> None:
        super().__init__(str(error))
        self.error = error


def _zip_code(options: Mapping[str, Any]) -> str:
    """options.zip_code, stripped ("" when unset: the site's coordinates), checked."""
    zip_code = text_option(options, "zip_code")
    if zip_code and not re.fullmatch(r"[0-9]{5}", zip_code):
        raise ConfigError(
            f"AirNow: zip_code {zip_code!r} is not a 5-digit US ZIP code; correct it in the "
            "AirNow provider options, or remove it to use the site's coordinates."
        )
    return zip_code


class AirNowAdapter(Adapter):
    source = "air_quality"
    provider = "airnow"
    budget = "500/hour"  # per key per hour (set per web service); options["budget"] overrides
    options = frozenset({"base_url", "zip_code"})
    option_parsers = (ROOT, _zip_code)
    budget_scope = "account"
    slot = timedelta(hours=1)  # hourly observations; no history (None)
    calls_per_fetch = 1  # 2 only on the one fetch that discovers the current service is gone

    def after_write(self, target: Target, result: FetchResult) -> None:
        from collectors.air_quality.categories import note_category_change

        # One point per hour and parameter: a rewritten hour's other-category point goes.
        series.drop_superseded(self.provider, result.readings)
        # A pollutant that lagged an hour reported it, or a value was withdrawn: that hour's
        # overall is made again from the points stored for it.
        series.correct_overall(self.provider, result.readings, result.replaces)
        note_category_change(target, result)  # remembered in Redis: a category change shows

    def calls_per_period(
        self, target: Target, credentials: Credentials, interval_seconds: float, period: float
    ) -> int:
        return now.scheduled_calls(period)  # beat's runs, whatever the fetch window

    def still_served(self, target: Target, result: FetchResult, value: Any) -> Any:
        return series.standing(self.provider, value, result.replaces)

    def current_at_read(self, config: Any, target: Target, answer: Any) -> dict | None:
        return now.current_value(answer, config.site.timezone)  # stale by its age too

    def __init__(self) -> None:
        self.endpoint: str | None = None  # the generation that last answered

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        zip_code = _zip_code(credentials.options)
        if zip_code:
            return Target(self.source, self.provider, f"zip-{zip_code}", {"zip_code": zip_code})
        lat, lon = site.latitude, site.longitude
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat, lon) == (0, 0):
            raise ConfigError(
                f"AirNow: site {site.name!r} has no usable coordinates ({lat}, {lon}); set its "
                "latitude and longitude, or a zip_code in the AirNow provider options."
            )
        # Two decimals (about 1 km): neighbours share one call; AirNow answers per area anyway.
        lat, lon = round(lat, 2), round(lon, 2)
        params = {"latitude": lat, "longitude": lon}
        return Target(self.source, self.provider, f"{lat:.2f},{lon:.2f}", params)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        if not credentials.api_key:
            raise ConfigError(
                "AirNow needs an API key: request one at https://docs.airnowapi.org/ and set "
                "AIRNOW_API_KEY (or the key of the AirNow provider in the admin)."
            )
        base = ROOT(credentials.options)
        order = [CLASSIC, CURRENT] if self.endpoint == CLASSIC else [CURRENT, CLASSIC]
        missing: dict[str, PermanentError] = {}
        for endpoint in order:
            url = base + (CURRENT_PATH if endpoint == CURRENT else _classic_path(target))
            try:
                body = self._call(url, endpoint, target, credentials)
            except EndpointMissing as exc:
                missing[endpoint] = exc.error
                continue
            if endpoint == CLASSIC and self.endpoint != CLASSIC:
                log.warning(
                    "airnow: the current observation service is not served (%s); using the "
                    "classic one, which AirNow retires on 2026-09-30.",
                    _where(missing[CURRENT]) if CURRENT in missing else "no answer yet",
                )
            self.endpoint = endpoint
            return self._result(body, url, endpoint, target, window)
        raise _both_missing(missing[CURRENT], missing[CLASSIC])

    def _call(self, url: str, endpoint: str, target: Target, credentials: Credentials) -> Any:
        """The parsed list of rows, or AirNow's message when it says there is no data."""
        params: dict[str, Any] = {"format": "application/json", "API_KEY": credentials.api_key}
        if target.params.get("zip_code"):
            params["zipCode"] = target.params["zip_code"]
        else:
            params |= {k: target.params[k] for k in ("latitude", "longitude")}
        if endpoint == CLASSIC:
            params["distance"] = CLASSIC_DISTANCE_MILES
        try:
            body = get_json(self.provider, url, params=params, check=CHECK)
        except AuthError as exc:
            raise _auth_error(_message(exc.body_excerpt), exc) from None
        except PermanentError as exc:
            if exc.status in (404, 410):
                raise EndpointMissing(exc) from None
            raise
        if isinstance(body, dict) and "WebServiceError" in body:
            # AirNow's errors arrive as HTTP 200 too: sort them by what they say.
            message = _message(body) or "(no message)"
            if _AUTH_PROBLEM.search(message):
                raise _auth_error(message, AuthError("", provider=self.provider, endpoint=url))
            if _SERVICE_GONE.search(message) and "data" not in message.lower():
                error = PermanentError(
                    f"airnow: {url} says {message!r}", provider=self.provider, endpoint=url
                )
                raise EndpointMissing(error)
            return message
        if not isinstance(body, list):
            kind = type(body).__name__
            raise malformed(self.provider, url, f"expected a list of observations, got {kind}")
        return body

    def _result(
        self, body: Any, url: str, endpoint: str, target: Target, window: Window
    ) -> FetchResult:
        if isinstance(body, str):
            return _no_data(target, window, f"AirNow has no current observation: {body}", [])
        parse_row = obs.parse_current if endpoint == CURRENT else obs.parse_classic
        found, skipped, withdrawn, unvalued = obs.parse(body, url, parse_row, window.now)
        for w in withdrawn:
            log.info("airnow: %s", w.said)
        said = [w.said for w in withdrawn]
        if not found:  # the values withdrawn still go (their hours' overall made again)
            what = "no observations" if not body else "AQI -1 (no value) for every pollutant"
            if skipped:
                what = f"no usable observation (skipped {'; '.join(skipped)})"
            result = _no_data(target, window, f"AirNow returned {what} for {target.key}", said)
            result.replaces = series.withdrawn_points(self.provider, withdrawn, target.key)
            return result
        current = obs.summary(found, unvalued) | {"endpoint": endpoint}
        readings = obs.to_readings(found, self.provider, target.key)  # the overall first
        # The overall not merged with an earlier answer's; a withdrawn value's point deleted.
        replaces = series.replaced(readings[0], withdrawn)
        return FetchResult(readings, current, notes=skipped + said, replaces=replaces)


def _classic_path(target: Target) -> str:
    kind = "zipCode" if target.params.get("zip_code") else "latLong"
    return f"/aq/observation/{kind}/current/"


def _message(body: Any) -> str:
    """The text of `{"WebServiceError":[{"Message": ...}]}`, from a parsed body or an excerpt."""
    if isinstance(body, dict):
        errors = body.get("WebServiceError")
        items = errors if isinstance(errors, list) else []
        return "; ".join(str(e.get("Message", "")) for e in items if isinstance(e, dict)).strip()
    match = re.search(r'"Message"\s*:\s*"([^"]*)"', body or "")
    return match.group(1) if match else ""


def _auth_error(message: str, exc: AuthError) -> AuthError:
    said = f": AirNow says {message!r}" if message else ""
    return AuthError(
        f"airnow: the API key was refused (HTTP {exc.status or 200}){said}. Check AIRNOW_API_KEY "
        "(or the key of the AirNow provider in the admin); keys are managed at "
        "https://docs.airnowapi.org/.",
        provider=exc.provider,
        endpoint=exc.endpoint,
        status=exc.status or 200,
        body_excerpt=exc.body_excerpt,
        attempts=exc.attempts,
    )


def _where(error: PermanentError) -> str:
    if error.status in (404, 410):
        return f"HTTP {error.status} at {error.endpoint}"
    return str(error)  # a "service not found" message in an HTTP 200


def _both_missing(current: PermanentError, classic: PermanentError) -> PermanentError:
    if classic.status == 410:
        problem = (
            f"the classic AirNow observation endpoint is retired ({_where(classic)}) and the "
            f"current one is not served either ({_where(current)})"
        )
    else:
        problem = (
            f"neither AirNow observation endpoint is served ({_where(current)}; {_where(classic)})"
        )
    said = f" AirNow said: {classic.body_excerpt}" if classic.body_excerpt else ""
    return PermanentError(
        f"airnow: {problem}. Check the base_url option: it should be {BASE_URL}, or a proxy "
        f"that forwards {CURRENT_PATH}.{said}",
        provider="airnow",
        endpoint=current.endpoint,
        status=classic.status,
        body_excerpt=classic.body_excerpt,
    )


def _no_data(target: Target, window: Window, message: str, said: list[str]) -> FetchResult:
    """AirNow answered but has no current value here: no readings, and `current` and the run
    record (a note, and the values withdrawn: `said`) say why; the pipeline logs it."""
    current = {"no_data": True, "message": message, "location": target.key}
    current |= {"checked_at": window.now.isoformat(), "time": None}
    return FetchResult([], current, notes=[message, *said])
