"""Celery task of the materialized views: the periodic incremental refresh.

Registered through `config/celery.py` (autodiscovery of `retention.view_tasks`); scheduled by
the beat entry "Refresh materialized views" (every 4 hours, editable in the admin).
"""

import logging

from celery import shared_task
from django.conf import settings

from retention.materialized import VIEWS, refresh_view
from retention.models import RetentionRun
from retention.task_records import RecordedTask

logger = logging.getLogger(__name__)


@shared_task(
    name="retention.refresh_views",
    base=RecordedTask,
    operation=RetentionRun.Operation.VIEW_REFRESH,
    acks_late=True,
    # A first refresh reads the whole history; later ones a few hours. Below the 3 h expiry.
    soft_time_limit=settings.TASK_TIME_LIMITS["retention.refresh_views"][0],
    time_limit=settings.TASK_TIME_LIMITS["retention.refresh_views"][1],
)
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
