"""`GET /api/plan`: when to run a flexible load, by price and CO2 together (docs/plan.md).

Query parameters (a bad value is a 400 naming it):
- `hours` (required): how long the load runs, whole minutes, at least a minute and at most a
  year (8784; `hours_parameter`), at most 24 without `before`; any such length is planned,
  starting or ending inside a price slot where it is not a multiple of the slots.
- `before`: ISO 8601 time with a zone the load must have finished by (default now + 24 h);
  it must leave room for `hours` from now.
- `carbon_price` (default `PLAN_CARBON_PRICE`): currency (the price's) per tonne of CO2, >= 0
  and at most MAX_CARBON_PRICE (1000000); 0 plans by price only.
- `kw`: the load's power, > 0 and at most MAX_LOAD_KW (100000), for absolute cost (currency)
  and emissions (kg).
- `contiguous` (default true), `penalty_percent`, `max_windows`: as in /api/pricing/windows.
- `pareto` (default false): also a few windows trading price against CO2 (at most 5).
- `site`: site id; optional when exactly one site exists.

`GET /api/plan/loads` (`LoadPlans`): the site's enabled flexible loads, each with its plan for
its next deadline (`loads.plan_for`) or the reason there is none.

Errors: 400 bad parameter; 404 unknown site; 409 no
enabled price provider, its settings incomplete, or too little stored (`known` says how far
prices and carbon go); 503 InfluxDB unreachable.
"""

from datetime import timedelta

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import clock
from collectors.models import MAX_CARBON_PRICE, MAX_LOAD_KW, FlexibleLoad
from collectors.pricing.api import hours_parameter, planning_answer, planning_schema, split_rules
from collectors.pricing.loads import plan_for
from collectors.pricing.plan_inputs import PlanRequest, plan_answer
from collectors.pricing.schemas import LOADS, PLAN
from enrich.api import params
from enrich.api.site import SITE, site_from_query

DEFAULT_HORIZON = timedelta(hours=24)


def _positive(query, name: str, what: str, maximum: int, *, zero: bool = False) -> float | None:
    """A number up to `maximum` (so no figure of the plan becomes infinite), more than 0 (or
    with `zero` 0 or more); None when absent."""
    value = params.number(query, name)
    if value is not None and (value < 0 or (value == 0 and not zero) or value > maximum):
        floor = "0 or more" if zero else "more than 0"
        raise ValidationError({name: f"{query[name]!r} is not valid: expected {floor} and at "
                               f"most {maximum} ({what})."})  # fmt: skip
    return value


def plan_request(query) -> PlanRequest:
    """The parameters, checked against each other; a ValidationError names the bad one."""
    hours = hours_parameter(query, "how long the load runs, e.g. hours=3.",
                            "more than 0 (hours the load runs)")  # fmt: skip
    now = clock.utc_now()
    before = params.moment(query, "before")
    if before is None and timedelta(hours=hours) > DEFAULT_HORIZON:
        raise ValidationError({"hours": f"{hours:g} h is more than the 24 h planned without "
                               "`before`: give before=<ISO time> further ahead."})  # fmt: skip
    before = before or now + DEFAULT_HORIZON
    if before < now + timedelta(hours=hours):
        raise ValidationError({"before": f"{before.isoformat()} leaves no room for {hours:g} h "
                               f"from now ({now.isoformat(timespec='seconds')})."})  # fmt: skip
    carbon_price = _positive(query, "carbon_price", "currency per tonne of CO2",
                             MAX_CARBON_PRICE, zero=True)  # fmt: skip
    return PlanRequest(
        now=now,
        hours=hours,
        before=before,
        carbon_price=settings.PLAN_CARBON_PRICE if carbon_price is None else carbon_price,
        kw=_positive(query, "kw", "the load's power in kW", MAX_LOAD_KW),
        contiguous=params.boolean(query, "contiguous", True),
        pareto=params.boolean(query, "pareto", False),
        **split_rules(query),
    )


class LoadPlan(APIView):
    """The best window for a flexible load by cost plus carbon cost, from stored data."""

    @planning_schema(
        PLAN,
        OpenApiParameter(
            "carbon_price",
            {"type": "number", "minimum": 0, "maximum": MAX_CARBON_PRICE},
            description="currency per tonne CO2",
        ),
        OpenApiParameter(
            "kw",
            {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_LOAD_KW},
            description="load power, for absolute figures",
        ),
        OpenApiParameter("pareto", bool, description="also up to 5 trade-off windows"),
    )
    def get(self, request):
        """The window (contiguous, or split with contiguous=false) minimising price plus carbon
        cost (kWh x gCO2/kWh x carbon_price per tonne) for a load that runs `hours` before
        `before`, from the stored price slots and carbon forecasts. Compared with running now,
        the cheapest-only and the greenest-only windows (price_saving, carbon_saving: positive
        means the plan is better). Hours without a carbon forecast use the last known value
        (carbon_last_known_hours, slots[].carbon_last_known); with no carbon data the plan is by
        price only and carbon.message says so."""
        wanted = plan_request(request.query_params)
        query = request.query_params
        return planning_answer(lambda: plan_answer(site_from_query(query), wanted), "stored data")


def _load(load: FlexibleLoad) -> dict:
    return {
        "id": load.pk,
        "name": load.name,
        "hours": load.hours,
        "deadline": load.deadline.strftime("%H:%M"),
        "timezone": load.site.timezone,
        "carbon_price": load.carbon_price,
        "kw": load.kw,
        "contiguous": load.contiguous,
        "max_windows": load.max_windows,
    }


class LoadPlans(APIView):
    """Each enabled flexible load of the site with its plan for now (the status page)."""

    @extend_schema(
        description=(
            "The site's enabled flexible loads (admin: Collectors -> Flexible loads), each "
            "with its settings and its plan for the next deadline: `plan` is what /api/plan "
            "answers for the load's parameters (null when none is possible), `message` says "
            "why not and `known` how far prices and carbon are stored. `loads` is empty when "
            "none is configured."
        ),
        parameters=[SITE],
        responses={200: LOADS, 400: dict, 404: dict},
    )
    def get(self, request):
        site = site_from_query(request.query_params)  # an unknown site: 404
        now = clock.utc_now()
        loads = FlexibleLoad.objects.filter(site=site, enabled=True).select_related("site")
        return Response(
            {
                "site": {"id": site.pk, "name": site.name},
                "now": now.isoformat(),
                "loads": [{**_load(load), **plan_for(load, now)} for load in loads],
            }
        )
