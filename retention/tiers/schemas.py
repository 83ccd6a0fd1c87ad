"""The answer of GET /api/series (retention.tiers.api), as docs/api.md and
retention.tiers.series describe it."""

from enrich.api import shapes
from enrich.api.shapes import NUMBER, STRING, TIME, choice, listing, mapping, nullable, shape
from retention.models import Entity
from retention.tiers.series import ARCHIVED

RAW_POINT = shape(
    {
        "time": TIME,
        "value": nullable(NUMBER),
        "state": nullable(STRING),
        "attributes": mapping(NUMBER, "attribute: value (a weather entity's)"),
    },
    description="Home Assistant's own point.",
)
# An hourly or daily row: its window and the aggregate fields the entity's kind has
# (sample_count, avg_value, ..., <attribute>_mean), named by retention.tiers.series.
ROW_POINT = shape({"time": TIME, "end": TIME}, description="A row of the hourly or daily tier.")
SEGMENT = shape(
    {
        "resolution": choice(["raw", "hourly", "daily", ARCHIVED]),
        "start": TIME,
        "end": TIME,
        "points": listing(shapes.one_of(RAW_POINT, ROW_POINT)),
    }
)
SERIES = shape(
    {
        "entity_id": STRING,
        "kind": choice(Entity.Kind.values),
        "unit": STRING,
        "attribute_units": mapping(STRING, "attribute: unit; {} for entities other than weather"),
        "start": TIME,
        "end": TIME,
        "segments": listing(SEGMENT),
    }
)
