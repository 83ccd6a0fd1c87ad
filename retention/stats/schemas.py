"""The answers of the retention reads (retention.stats.api, retention.stats.status_api), as
docs/api.md and docs/storage.md describe them."""

from enrich.api import shapes
from enrich.api.shapes import BOOLEAN, INTEGER, NUMBER, STRING, TIME, nullable, shape
from retention.models import RetentionRun

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
