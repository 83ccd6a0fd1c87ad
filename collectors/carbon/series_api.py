"""`GET /api/carbon/series`: a site's grid carbon intensity over the last `hours` (what was
stored in `carbon_intensity`) and the stored forecast from the slot running now on
(`carbon_intensity_forecast`, up to FORECAST_AHEAD).

The provider and region are the ones the plan reads (collectors.carbon.choice): the first of
the site's enabled carbon providers in name order that can be read from and has points stored
in the site's own region (`carbon_region`) for the hours asked or the forecast; with none, the
first in name order (its lists empty; its region "" when its settings are incomplete). Another
site's region of the same provider is never shown.

Parameters: `site` (optional with one site), `hours` (1..168, default 24). The field is
gCO2/kWh, or WattTime's free plan's `moer_percentile` (0-100) when that is all there is.
`reason`, when neither series has a value: what the provider's last collection did (failed,
with its error), or that none has run yet; null otherwise.
Errors: 400 bad parameter, 404 unknown site, 409 no carbon provider, 503 InfluxDB unreachable.
"""

from datetime import datetime, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import clock
from collectors.carbon.choice import (
    Unusable,
    carbon_configs,
    carbon_key,
    carbon_region,
    no_provider,
)
from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from collectors.carbon.schemas import series
from collectors.last_collection import last_collection
from collectors.pricing.api import _iso
from collectors.pricing.schemas import ERRORS
from enrich.api import params
from enrich.api.influx_down import influx_down
from enrich.api.site import SITE, site_from_query
from enrich.influx import TimeseriesError, quote_ident, stored_rows
from enrich.models import ProviderConfig

FIELDS = {GCO2_KWH: "gCO2/kWh", "moer_percentile": "percentile (0-100)"}
FORECAST_AHEAD = timedelta(hours=48)
LONGEST_SLOT = timedelta(hours=1)  # Electricity Maps' hours; UK 30 min, WattTime 5 min


def _points(
    measurement: str,
    provider: str,
    region: str,
    start: datetime,
    end: datetime,
    running: bool = False,
    through: bool = False,
) -> dict:
    """{field: [(time, value)]} of the provider's points of `region` in [start, end), or
    [start, end] with `through`; `running`: also the forecast slot running at `start` (its
    `slot_minutes` reach past it)."""
    query = (
        f"SELECT {', '.join(quote_ident(f) for f in [*FIELDS, 'slot_minutes'])} FROM "
        f'{quote_ident(measurement)} WHERE "provider" = $provider AND "region" = $region AND '
        f"time >= $start AND time {'<=' if through else '<'} $end"
    )
    found: dict[str, list] = {}
    since = start - LONGEST_SLOT if running else start
    bound = {"provider": provider, "region": region, "start": since, "end": end}
    for row in stored_rows(query, bound):
        minutes = row.values.get("slot_minutes") or 0
        if row.time < start and row.time + timedelta(minutes=minutes) <= start:
            continue  # a slot over before `start`
        for name in FIELDS:
            if row.values.get(name) is not None:
                found.setdefault(name, []).append((row.time, float(row.values[name])))
    return found


def _read(provider: str, region: str, start: datetime, now: datetime) -> tuple[dict, dict]:
    """The region's points from `start` to now (a slot beginning now has its point by then, as
    InfluxDB's readers take the newest point up to now), and its forecast from the slot
    running now."""
    actual = _points(MEASUREMENT, provider, region, start, now, through=True)
    ahead = _points(FORECAST_MEASUREMENT, provider, region, now, now + FORECAST_AHEAD, running=True)
    return actual, ahead


def _chosen(configs: list[ProviderConfig], start: datetime, now: datetime) -> tuple:
    """(config, region, actual, forecast) of the provider the plan reads too, in the site's own
    region (collectors.carbon.choice): the first in name order that can be read from and has
    points stored; with none, the first, with nothing."""
    fallback = (configs[0], "", {}, {})
    for config in configs:
        try:
            region = carbon_region(config)
        except Unusable:
            continue
        actual, forecast = _read(config.provider, region, start, now)
        if actual or forecast:
            return config, region, actual, forecast
        if config is configs[0]:
            fallback = (config, region, {}, {})
    return fallback


class CarbonSeries(APIView):
    """Stored carbon intensity of the last hours and its stored forecast."""

    @extend_schema(
        parameters=[
            SITE,
            OpenApiParameter(
                "hours",
                {"type": "integer", "minimum": 1, "maximum": 168},
                description="hours back, 1..168 (default 24)",
            ),
        ],
        responses={200: series(FIELDS), **ERRORS},
    )
    def get(self, request):
        hours = params.integer(request.query_params, "hours", 24, minimum=1, maximum=168)
        site = site_from_query(request.query_params)  # an unknown site: 404
        configs = carbon_configs(site)
        if not configs:
            return Response({"detail": no_provider(site)}, status=409)
        now = clock.utc_now()
        try:
            config, region, mine, ahead = _chosen(configs, now - timedelta(hours=hours), now)
        except TimeseriesError as exc:
            return influx_down("The carbon data", exc)
        field = next((f for f in FIELDS if f in mine or f in ahead), GCO2_KWH)
        series = {
            "actual": [{"time": _iso(t), "value": v} for t, v in mine.get(field, [])],
            "forecast": [{"time": _iso(t), "value": v} for t, v in ahead.get(field, [])],
        }
        return Response(
            {
                "site": {"id": site.pk, "name": site.name},
                "provider": config.provider,
                "region": region,
                "field": field,
                "unit": FIELDS[field],
                "now": _iso(now),
                **series,
                "reason": None if series["actual"] or series["forecast"] else _why_none(config),
            }
        )


def _why_none(config: ProviderConfig) -> str:
    """Why nothing is stored: what the provider's last collection did (a failure with its
    error), as the price endpoints say it; or what keeps it from being collected."""
    try:
        target = carbon_key(config)
    except Unusable as exc:
        return f"{exc}."
    return last_collection(config.source, config.provider, target, "carbon")
