"""The answers of the retention reads (retention.stats.api, retention.stats.status_api), as
docs/api.md and docs/storage.md describe them."""

from enrich.api import shapes
from enrich.api.shapes import BOOLEAN, INTEGER, NUMBER, STRING, TIME, nullable, shape
from retention.models import Alert, RetentionRun
from retention.stats.alerts import CONDITION_OPERATION, CONDITION_OPERATION_LABEL

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
