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
