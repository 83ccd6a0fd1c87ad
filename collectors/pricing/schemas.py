"""The answers of the price endpoints (GET /api/pricing/slots, /api/pricing/windows,
/api/plan), as docs/api.md and docs/plan.md describe them."""

from enrich.api.shapes import BOOLEAN, INTEGER, NUMBER, STRING, TIME, listing, nullable, shape

# What every price answer starts with (collectors.pricing.api.answer_head).
HEAD = {
    "site": shape({"id": INTEGER, "name": STRING}),
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
