"""`GET /api/pricing/slots`: the stored price slots of a site from the running one to the end of
the known horizon (for charts; the windows endpoint finds the best time in them).

Parameters: `site` (optional with one site), `within` (default 48h, e.g. 24h). Errors as
/api/pricing/windows: 400 bad parameter, 404 unknown site, 409 no provider or no prices,
503 InfluxDB unreachable.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import clock
from collectors.pricing.api import (
    Conflict,
    _iso,
    answer_head,
    one_currency_slots,
    pricing_target,
)
from collectors.pricing.schemas import ERRORS, SLOTS
from collectors.pricing.store import AHEAD
from enrich.api import params, time_params
from enrich.api.influx_down import influx_down
from enrich.api.site import SITE
from enrich.influx import TimeseriesError


class PricingSlots(APIView):
    """Stored price slots from the one running now to the known horizon."""

    @extend_schema(
        parameters=[SITE, time_params.duration("within", "how far ahead to look, 48h by default")],
        responses={200: SLOTS, **ERRORS},
    )
    def get(self, request):
        within = params.duration(request.query_params, "within", AHEAD)
        now = clock.utc_now()
        try:
            site, config, target = pricing_target(request.query_params)
            currency, slots = one_currency_slots(config.provider, target.key, now, now + within)
        except Conflict as exc:
            return Response({"detail": str(exc)}, status=409)
        except TimeseriesError as exc:
            return influx_down("The price data", exc)
        ahead = [s for s in slots if s.end > now]
        return Response(
            {
                **answer_head(site, config.provider, target.key, currency, now),
                "known_until": _iso(ahead[-1].end) if ahead else None,
                "slots": [
                    {"start": _iso(s.start), "end": _iso(s.end), "price": s.price} for s in ahead
                ],
            }
        )
