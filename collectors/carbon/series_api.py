"""`GET /api/carbon/series`: a site's grid carbon intensity over the last `hours` (what was
stored in `carbon_intensity`) and the stored forecast from the slot running now on
(`carbon_intensity_forecast`, up to FORECAST_AHEAD).

The provider is the one the plan reads (collectors.carbon.choice): the first of the site's
enabled carbon providers in name order that can be read from and has points stored for the
hours asked or the forecast; with none, the first in name order (its lists empty).

Parameters: `site` (optional with one site), `hours` (1..168, default 24). The field is
gCO2/kWh, or WattTime's free plan's `moer_percentile` (0-100) when that is all there is.
Errors: 400 bad parameter, 404 unknown site, 409 no carbon provider, 503 InfluxDB unreachable.
"""

from datetime import datetime, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import clock
from collectors.carbon.choice import carbon_configs, usable
from collectors.carbon.common import FORECAST_MEASUREMENT, GCO2_KWH, MEASUREMENT
from collectors.pricing.api import RESPONSES, _iso
from enrich.api import params
from enrich.api.influx_down import influx_down
from enrich.api.site import SITE, site_from_query
from enrich.influx import TimeseriesError, quote_ident, stored_rows
from enrich.models import ProviderConfig

FIELDS = {GCO2_KWH: "gCO2/kWh", "moer_percentile": "percentile (0-100)"}
FORECAST_AHEAD = timedelta(hours=48)
LONGEST_SLOT = timedelta(hours=1)  # Electricity Maps' hours; UK 30 min, WattTime 5 min


def _points(
    measurement: str, provider: str, start: datetime, end: datetime, running: bool = False
) -> dict:
    """{region: {field: [(time, value)]}} of the provider's points in [start, end); `running`:
    also the forecast slot running at `start` (its `slot_minutes` reach past it)."""
    query = (
        f"SELECT {', '.join(quote_ident(f) for f in [*FIELDS, 'slot_minutes'])} FROM "
        f'{quote_ident(measurement)} WHERE "provider" = $provider AND time >= $start AND '
        'time < $end GROUP BY "region"'
    )
    found: dict[str, dict[str, list]] = {}
    since = start - LONGEST_SLOT if running else start
    bound = {"provider": provider, "start": since, "end": end}
    for row in stored_rows(query, bound):
        minutes = row.values.get("slot_minutes") or 0
        if row.time < start and row.time + timedelta(minutes=minutes) <= start:
            continue  # a slot over before `start`
        series = found.setdefault(row.tags.get("region", ""), {})
        for name in FIELDS:
            if row.values.get(name) is not None:
                series.setdefault(name, []).append((row.time, float(row.values[name])))
    return found


def _read(provider: str, start: datetime, now: datetime) -> tuple[dict, dict]:
    """The provider's points from `start` to now, and its forecast from the slot running now."""
    actual = _points(MEASUREMENT, provider, start, now)
    return actual, _points(FORECAST_MEASUREMENT, provider, now, now + FORECAST_AHEAD, running=True)


def _chosen(configs: list[ProviderConfig], start: datetime, now: datetime) -> tuple:
    """(config, actual, forecast) of the provider the plan reads too (collectors.carbon.choice):
    the first in name order that can be read from and has points stored; with none, the first."""
    for config in configs:
        if usable(config):
            actual, forecast = _read(config.provider, start, now)
            if actual or forecast:
                return config, actual, forecast
    return configs[0], *_read(configs[0].provider, start, now)


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
        responses=RESPONSES,
    )
    def get(self, request):
        hours = params.integer(request.query_params, "hours", 24, minimum=1, maximum=168)
        site = site_from_query(request.query_params)  # an unknown site: 404
        configs = carbon_configs(site)
        if not configs:
            return Response(
                {"detail": f"Site {site.name!r} has no enabled carbon intensity provider; add "
                 "one in the admin (Provider configs)."}, status=409)  # fmt: skip
        now = clock.utc_now()
        try:
            config, actual, forecast = _chosen(configs, now - timedelta(hours=hours), now)
        except TimeseriesError as exc:
            return influx_down("The carbon data", exc)
        # The region with the newest actual point (a site's provider answers for one region).
        regions = sorted(actual, key=lambda r: max(t for s in actual[r].values() for t, _ in s))
        region = regions[-1] if regions else next(iter(forecast), "")
        mine, ahead = actual.get(region, {}), forecast.get(region, {})
        field = next((f for f in FIELDS if f in mine or f in ahead), GCO2_KWH)
        return Response(
            {
                "site": {"id": site.pk, "name": site.name},
                "provider": config.provider,
                "region": region,
                "field": field,
                "unit": FIELDS[field],
                "now": _iso(now),
                "actual": [{"time": _iso(t), "value": v} for t, v in mine.get(field, [])],
                "forecast": [{"time": _iso(t), "value": v} for t, v in ahead.get(field, [])],
            }
        )
