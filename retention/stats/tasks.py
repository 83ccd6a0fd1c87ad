"""Periodic tasks of storage statistics and alerts (registered by config/celery.py)."""

import logging

from celery import shared_task
from django.conf import settings

from retention.stats import alerts, metrics, settle

logger = logging.getLogger(__name__)


@shared_task(
    name="retention.record_metrics",
    soft_time_limit=settings.TASK_TIME_LIMITS["retention.record_metrics"][0],
    time_limit=settings.TASK_TIME_LIMITS["retention.record_metrics"][1],
)
def record_metrics() -> dict:
    """Daily: write today's `retention_metrics` point (a rerun the same day replaces it).
    Counting the raw tier's points reads it once, hence the longer time limit."""
    settle.settle_runs()
    reading = metrics.record_metrics()
    return {"time": reading.time.isoformat(), "fields": dict(reading.fields)}


@shared_task(
    name="retention.settle_storage",
    soft_time_limit=settings.TASK_TIME_LIMITS["retention.settle_storage"][0],
    time_limit=settings.TASK_TIME_LIMITS["retention.settle_storage"][1],
)
def settle_storage() -> dict:
    """Daily, hours after the tier runs: their storage once InfluxDB compacted (settle)."""
    runs = settle.settle_runs()
    return {str(run.pk): run.storage_settled_freed_mb for run in runs}


# Routed to the default queue (config/celery.py, and so is its beat entry): a long retention
# run occupying the retention worker is exactly what this check must be able to report.
@shared_task(name="retention.check_alerts", soft_time_limit=120, time_limit=180)
def check_alerts() -> dict:
    """Every 5 minutes: alerts for failed or overrunning retention runs, delivery retries."""
    return alerts.check_alerts().as_dict()
