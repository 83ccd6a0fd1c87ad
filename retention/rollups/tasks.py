"""Celery tasks of the materialized views: the periodic incremental refresh, and the rebuild
of a range that `POST /api/views/<name>/rebuild` queues.

Registered through `config/celery.py` (autodiscovery of `retention.rollups.tasks`); the refresh is
scheduled by the beat entry "Refresh materialized views" (every 4 hours, editable in the admin).
"""

import logging
from datetime import date

from celery import shared_task

from retention.models import RetentionRun
from retention.rollups.materialized import VIEWS, rebuild_view, refresh_view
from retention.task_records import recorded

logger = logging.getLogger(__name__)


# A first refresh reads the whole history; later ones a few hours. Below the 3 h expiry.
@shared_task(**recorded("retention.refresh_views", RetentionRun.Operation.VIEW_REFRESH))
def refresh_views() -> dict:
    """Refresh each view; a view that fails is reported and the others still run."""
    result: dict[str, dict] = {}
    for name in VIEWS:
        try:
            run = refresh_view(name)
        except Exception as exc:  # the run record holds the details; go on with the next view
            logger.warning("view %s refresh failed: %s", name, exc)
            result[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            continue
        result[name] = {"status": run.status, "rows": run.records_processed, "run": run.pk}
    return result


@shared_task(**recorded("retention.rebuild_view", RetentionRun.Operation.VIEW_REFRESH))
def rebuild(name: str, start: str, end: str, run_id: int | None = None) -> dict:
    """Recompute view `name` for the local days start..end (ISO dates, both included), in the
    run the API created (`run_id`)."""
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    run = rebuild_view(name, date.fromisoformat(start), date.fromisoformat(end), run=run)
    return {"status": run.status, "rows": run.records_processed, "run": run.pk}
