"""The answer of GET /api/views/<name> (retention.rollups.api.ViewRows), as docs/api.md and
docs/storage.md describe it: the view's rows (COLUMNS of each view) and its freshness."""

from enrich.api import shapes
from enrich.api.shapes import BOOLEAN, DATE, INTEGER, NUMBER, STRING, TIME, nullable, shape
from retention.rollups.materialized import ACTIVITY, CARBON, ENERGY, VIEWS

# What every row ends with: whether its day or hour is not over yet, the raw points it was
# built from (null: unknown), when it was written.
BUILT = {"partial": BOOLEAN, "source_points": nullable(INTEGER), "refreshed": TIME}
ROWS = {
    ENERGY: shape(
        {
            "entity_id": STRING,
            "date": DATE,
            "total_kwh": NUMBER,
            "avg_power": nullable({**NUMBER, "description": "W, time-weighted"}),
            "peak_power": nullable({**NUMBER, "description": "W"}),
            "cost": nullable({**NUMBER, "description": "null: no price known"}),
            "currency": STRING,
            "cost_source": shapes.choice(["price_slots", "flat_tariff", "mixed", "none"]),
            **BUILT,
        },
        description=ENERGY,
    ),
    ACTIVITY: shape(
        {
            "area": STRING,
            "hour": TIME,
            "day_of_week": shapes.choice(range(7), INTEGER),
            "motion_count": INTEGER,
            "occupancy_rate": {**NUMBER, "minimum": 0, "maximum": 1},
            **BUILT,
        },
        description=ACTIVITY,
    ),
    CARBON: shape(
        {
            "date": DATE,
            "region": STRING,
            "avg_carbon": nullable({**NUMBER, "description": "gCO2/kWh"}),
            "min_carbon": nullable(NUMBER),
            "max_carbon": nullable(NUMBER),
            "avg_renewable": nullable({**NUMBER, "description": "%"}),
            **BUILT,
        },
        description=CARBON,
    ),
}
# Each view's rows are those of its name: one of the three shapes.
VIEW_ROWS = shape(
    {
        "view": shapes.choice(VIEWS),
        "count": INTEGER,
        "rows": shapes.listing(shapes.one_of(*(ROWS[name] for name in VIEWS))),
        "last_refreshed": nullable(TIME),
        "watermark": nullable({**TIME, "description": "Up to which time data is folded in."}),
    }
)
