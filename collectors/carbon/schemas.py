"""The answer of GET /api/carbon/series (collectors.carbon.series_api), as docs/api.md
describes it."""

from collections.abc import Mapping

from enrich.api.schemas import FOR_SITE
from enrich.api.shapes import NUMBER, STRING, TIME, choice, listing, nullable, shape

POINTS = listing(shape({"time": TIME, "value": NUMBER}))


def series(fields: Mapping[str, str]) -> dict:
    """The answer, whose `field` is one of `fields` and `unit` its unit."""
    return shape(
        {
            "site": FOR_SITE,
            "provider": STRING,
            "region": STRING,
            "field": choice(fields),
            "unit": choice(fields.values()),
            "now": TIME,
            "actual": POINTS,
            "forecast": POINTS,
            "reason": nullable(
                {**STRING, "description": "Why both lists are empty; null when they are not."}
            ),
        }
    )
