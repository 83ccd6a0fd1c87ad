"""The answers of the retention reads (retention.stats.api, retention.stats.status_api), as
docs/api.md and docs/storage.md describe them."""

from enrich.api import shapes
from enrich.api.shapes import BOOLEAN, INTEGER, NUMBER, STRING, TIME, nullable, shape
from retention.models import Alert, RetentionRun
from retention.stats.alerts import CONDITION_OPERATION, CONDITION_OPERATION_LABEL
from retention.stats.measure import LAST_RUNS

OPERATION, STATUS = RetentionRun.Operation, RetentionRun.Status
# A run as the API shows it (retention.stats.history.run_summary); units in the key names.
RUN = {
    "run_id": INTEGER,
    "operation_type": shapes.choice(OPERATION.values),
    "operation_label": shapes.choice(OPERATION.labels),
    "view": nullable({**STRING, "description": "The view a refresh or rebuild ran for."}),
    "status": shapes.choice(STATUS.values),
    "status_label": shapes.choice(STATUS.labels),
    "started": TIME,
    "finished": nullable(TIME),
    "duration_seconds": nullable(NUMBER),
    "range_start": nullable(TIME),
    "range_end": nullable(TIME),
    "records_processed": INTEGER,
    "records_deleted": INTEGER,
    "storage_freed_mb": nullable(NUMBER),
    "storage_freed_immediate_mb": nullable(NUMBER),
    "storage_settled": BOOLEAN,
    "errors": STRING,
}
# GET /retention/runs/<run_id>: the run and its report, whose keys are the operation's.
RUN_DETAIL = shape(
    {**RUN, "details": {"type": "object", "description": "The run's report (its operation's)."}}
)
HISTORY = shape(
    {
        "days": INTEGER,
        "since": TIME,
        "type": nullable(shapes.choice(OPERATION.values)),
        "status": nullable(shapes.choice(STATUS.values)),
        "count": INTEGER,
        "truncated": BOOLEAN,
        "runs": shapes.listing(shape(RUN)),
    }
)
# An alert as the API shows it (retention.stats.alerts.alert_summary): of a run, or of a
# condition (no run: `run_id` and `run_status` null, its operation the one it concerns).
ALERT = shape(
    {
        "alert_id": INTEGER,
        "kind": shapes.choice(Alert.Kind.values),
        "kind_label": shapes.choice(Alert.Kind.labels),
        "operation_type": shapes.choice(sorted({*OPERATION.values, *CONDITION_OPERATION.values()})),
        "operation_label": shapes.choice(
            sorted({*OPERATION.labels, *CONDITION_OPERATION_LABEL.values()})
        ),
        "run_id": nullable(INTEGER),
        "run_status": nullable(shapes.choice(STATUS.values)),
        "message": STRING,
        "created": TIME,
        "sent": nullable({**TIME, "description": "When it was delivered to the webhook."}),
        "delivery_error": nullable(STRING),
        "cleared": nullable({**TIME, "description": "When the incident was over."}),
    }
)
ALERTS = shape(
    {
        "days": INTEGER,
        "open": shapes.listing(ALERT),
        "count": INTEGER,
        "truncated": BOOLEAN,
        "history": shapes.listing(ALERT),
    }
)
# GET /retention/archive/years: the archive objects (not expired) per year of their data.
ARCHIVE_YEARS = shape(
    {
        "years": shapes.listing(
            shape({"year": INTEGER, "objects": INTEGER, "bytes": INTEGER, "records": INTEGER})
        )
    }
)


def figure(unit: dict, measured: dict | None = None, always: dict | None = None) -> dict:
    """A figure of GET /retention/stats (retention.stats.measure): its `value` in `unit`, null
    with the `reason` when it cannot be measured; `measured`: what a measured one also says."""
    return shape(
        {"value": nullable(NUMBER), "unit": unit, **(always or {})},
        {"reason": STRING, **(measured or {})},
    )


SIZE = {"bytes": INTEGER, "formula": STRING}
TIER = figure(
    shapes.choice(["GB"]),
    {"bytes": INTEGER, "note": STRING},
    {"database": STRING, "retention_policies": shapes.listing(STRING)},
)
STATS = shape(
    {
        "measured_at": TIME,
        "units": shape({"GB": STRING, "bytes/point": STRING}),
        "archive_size_gb": figure(
            shapes.choice(["GB"]),
            {
                "bytes": INTEGER,
                "objects": INTEGER,
                "missing": shapes.listing(STRING),
                "changed": shapes.listing(STRING),
                "note": STRING,
            },
            {"recorded_bytes": INTEGER, "recorded_objects": INTEGER},
        ),
        "raw_points_removed": shape(
            {"value": INTEGER, "unit": shapes.choice(["points"]), "runs": INTEGER, "source": STRING}
        ),
        "current_db_size_gb": figure(
            shapes.choice(["GB"]),
            {
                "bytes": INTEGER,
                "source": STRING,
                "tiers": shape({name: TIER for name in ("raw", "hourly", "daily", "enrichment")}),
            },
        ),
        "raw_bytes_per_point": figure(
            shapes.choice(["bytes/point"]),
            {
                "bytes": INTEGER,
                "points": INTEGER,
                "exact": BOOLEAN,
                "method": STRING,
                "note": STRING,
            },
        ),
        "raw_equivalent_size_gb": figure(shapes.choice(["GB"]), SIZE),
        "storage_saved_gb": figure(shapes.choice(["GB"]), SIZE),
        "reduction_percentage": figure(shapes.choice(["%"]), {"formula": STRING}),
        "annual_cost_savings": figure(
            {**STRING, "description": "<STORAGE_PRICE_CURRENCY>/year"},
            {
                "formula": STRING,
                "db_price_per_gb_month": NUMBER,
                "archive_price_per_gb_month": NUMBER,
            },
        ),
        **{
            name: shapes.one_of(shape(RUN), shape({"status": nullable(STRING), "reason": STRING}))
            for name in LAST_RUNS
        },
        "open_alerts": shapes.listing(ALERT),
    }
)


def metrics(units: dict[str, str]) -> dict:
    """GET /retention/metrics' answer (retention.stats.status_api.StorageMetrics): the daily
    points of the series `units` names, each figure null where it was not measured that day
    and `unmeasured` saying why."""
    return shape(
        {
            "days": INTEGER,
            "units": shape({field: shapes.choice([unit]) for field, unit in units.items()}),
            "source": STRING,
            "points": shapes.listing(
                shape(
                    {
                        "time": TIME,
                        **{field: nullable(NUMBER) for field in units},
                        "unmeasured": nullable(STRING),
                    }
                )
            ),
        }
    )
