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
# (retention.tiers.aggregate: a field not known of the row is left out, never null), and a
# weather entity's <attribute>_mean and <attribute>_coverage_seconds.
ROW_POINT = {
    **shape(
        {
            "time": TIME,
            "end": TIME,
            "sample_count": shapes.INTEGER,
            "coverage_seconds": NUMBER,
            "gap_count": shapes.INTEGER,
        },
        {
            "avg_value": NUMBER,
            "min_value": NUMBER,
            "max_value": NUMBER,
            "last_value": NUMBER,
            "total_energy": NUMBER,
            "last_reset": STRING,
            "first_reading_time": NUMBER,
            "state_changes": shapes.INTEGER,
            "last_state": STRING,
            "on_seconds": NUMBER,
        },
        description="A row of the hourly or daily tier; a weather entity's also holds "
        "<attribute>_mean and <attribute>_coverage_seconds.",
    ),  # fmt: skip
    "additionalProperties": NUMBER,
}
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
