"""The answers of the price endpoints (GET /api/pricing/slots, /api/pricing/windows,
/api/plan), as docs/api.md and docs/plan.md describe them."""

from enrich.api.openapi import DETAIL  # {"detail": ...}, as the errors of access
from enrich.api.schemas import FOR_SITE
from enrich.api.shapes import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    TIME,
    listing,
    mapping,
    nullable,
    shape,
)

# What every price answer starts with (collectors.pricing.api.answer_head).
HEAD = {
    "site": FOR_SITE,
    "provider": STRING,
    "region": STRING,
    "currency": STRING,
    "unit": STRING,
    "vat_included": BOOLEAN,
    "price_basis": STRING,
    "now": TIME,
}
SLOT = shape({"start": TIME, "end": TIME, "price": NUMBER})
SLOTS = shape(
    {
        **HEAD,
        "known_until": nullable(TIME),
        "slots": listing(SLOT),
    }
)
# The judged run of `hours` (/api/pricing/windows, /api/plan): where it starts and ends, its
# pieces when split, and the slots it runs in (the first and last cut to it).
RUN = {
    "start": TIME,
    "end": TIME,
    "average_price": NUMBER,
    "penalty_percent": NUMBER,
    "max_windows": nullable(INTEGER),
    "windows_used": INTEGER,
    "penalty_cost": NUMBER,
}
WINDOWS = shape(
    {
        **HEAD,
        "current_price": nullable(NUMBER),
        "hours": NUMBER,
        "within": STRING,
        "before": nullable(TIME),
        "contiguous": BOOLEAN,
        "most_expensive": BOOLEAN,
        "known_until": TIME,
        **RUN,
        "saving_vs_now": nullable(NUMBER),
        "windows": listing(shape({"start": TIME, "end": TIME, "average_price": NUMBER})),
        "slots": listing(SLOT),
    }
)
# What a window of /api/plan costs and emits per kWh (collectors.pricing.plan_inputs._figures):
# with `kw`, also in all (`cost`, `emissions_kg`); carbon is null where none is known.
FIGURES = {
    "start": TIME,
    "end": TIME,
    "average_price": NUMBER,
    "average_carbon": nullable(NUMBER),
    "average_score": NUMBER,
    "carbon_last_known_hours": NUMBER,
    "windows_used": INTEGER,
    "penalty_cost": NUMBER,
}
IN_ALL = {"cost": NUMBER, "emissions_kg": nullable(NUMBER)}
# Another window against the plan's: positive savings mean the plan is better.
AGAINST = shape(
    {**FIGURES, "price_saving": NUMBER, "carbon_saving": nullable(NUMBER)},
    {**IN_ALL, "cost_saving": NUMBER, "emissions_saving_kg": nullable(NUMBER)},
)
PLAN = shape(
    {
        **HEAD,
        "carbon_unit": STRING,
        "hours": NUMBER,
        "before": TIME,
        "contiguous": BOOLEAN,
        "carbon_price": NUMBER,
        "carbon_price_unit": STRING,
        "kw": nullable(NUMBER),
        "kwh": nullable(NUMBER),
        **RUN,
        "carbon": shape(
            {
                "provider": nullable(STRING),
                "region": nullable(STRING),
                "known": BOOLEAN,
                "forecast_until": nullable(TIME),
                "known_from": nullable(TIME),
                "message": nullable(STRING),
            },
            description="Where the carbon comes from, how far it is known, or why it is not.",
        ),
        **FIGURES,
        "windows": listing(
            shape(
                {
                    "start": TIME,
                    "end": TIME,
                    "average_price": NUMBER,
                    "average_carbon": nullable(NUMBER),
                }
            )
        ),
        "slots": listing(
            shape(
                {
                    "start": TIME,
                    "end": TIME,
                    "price": NUMBER,
                    "carbon": nullable(NUMBER),
                    "carbon_last_known": BOOLEAN,
                }
            )
        ),
        "compared": shape(
            {
                "running_now": nullable(AGAINST),
                "cheapest": AGAINST,
                "greenest": nullable(AGAINST),
            }
        ),
        "pareto": nullable(listing(shape(FIGURES, IN_ALL))),
        "prices_until": TIME,
    },
    IN_ALL,
)
# How far prices and carbon are stored, where too little is for a plan.
KNOWN = shape(
    {
        "prices_until": nullable(TIME),
        "carbon_forecast_until": nullable(TIME),
        "carbon_known_from": nullable(TIME),
    },
    description="How far prices and carbon are stored (/api/plan).",
)
# GET /api/plan/loads (collectors.pricing.plan_api.LoadPlans): each load's settings and
# `loads.plan_for`'s plan, or why there is none.
LOADS = shape(
    {
        "site": FOR_SITE,
        "now": TIME,
        "loads": listing(
            shape(
                {
                    "id": INTEGER,
                    "name": STRING,
                    "hours": NUMBER,
                    "deadline": {**STRING, "description": "Local time, HH:MM."},
                    "timezone": STRING,
                    "carbon_price": nullable(NUMBER),
                    "kw": nullable(NUMBER),
                    "contiguous": BOOLEAN,
                    "max_windows": nullable(INTEGER),
                    "load": STRING,
                    "start": nullable(TIME),
                    "before": nullable(TIME),
                    "plan": nullable(PLAN),
                    "message": nullable(STRING),
                    "known": nullable(KNOWN),
                }
            )
        ),
    }
)
# The errors of the price and carbon endpoints (their extend_schema responses).
ERRORS = {
    400: mapping(STRING, "parameter: what is wrong with it"),
    404: shape({"site": STRING}),
    409: shape(
        {"detail": STRING},
        {
            "known": KNOWN,
        },
    ),
    503: DETAIL,
}
