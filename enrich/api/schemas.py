"""The answers of enrich.api's own endpoints, as docs/api.md describes them."""

from enrich.api.shapes import BOOLEAN, INTEGER, NUMBER, STRING, choice, shape
from enrich.health import CHECKS

# The site an answer is for (enrich.api.site: `site`, optional with one site).
FOR_SITE = shape({"id": INTEGER, "name": STRING})
# Anyone gets each service's `ok`; a signed-in caller also its `detail` (its version, or the
# error) and `ms` (how long the check took).
SERVICE = shape({"ok": BOOLEAN}, {"detail": STRING, "ms": NUMBER})


def health(ok: bool) -> dict:
    """GET /api/health/'s answer: all services answering (200), or not all (503)."""
    return shape(
        {"ok": choice([ok], BOOLEAN), "services": shape({name: SERVICE for name in CHECKS})}
    )
