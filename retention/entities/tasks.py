"""Thin Celery task of the entity registry (beat: 01:30, before the tier runs; see
config/schedule.py). The work is in `retention.entities.discovery`."""

import logging

from celery import shared_task
from django.conf import settings

from enrich.errors import Transient
from retention.entities.discovery import DiscoveryError, discover
from retention.task_records import retry_transient
from retention.tiers import density

logger = logging.getLogger(__name__)


@shared_task(
    name="retention.discover_entities",
    soft_time_limit=settings.TASK_TIME_LIMITS["retention.discover_entities"][0],
    time_limit=settings.TASK_TIME_LIMITS["retention.discover_entities"][1],
    bind=True,
    max_retries=3,
)
def discover_entities(self) -> dict:
    """Daily, before the tier runs: new Home Assistant entities join the registry (and the
    tiers and views) without anyone running the command. Admin edits are kept. The result
    names the follow-ups of the views it queued (`views_follow`: the changes to registered
    entities the views read, retention.rollups.follow)."""
    try:
        report = discover()
        measured = density.measure_registry()
    except (DiscoveryError, Transient) as exc:
        logger.error("discover_entities: %s", exc)
        retry_transient(self, exc)  # InfluxDB out of reach: later; a missing database: fails
    logger.info("discover_entities: %s", report)
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "created_ids": report.created_ids,
        "states_per_day": measured,
        "views_follow": [queued.as_dict() for queued in report.queued],
        "home_assistant": report.in_ha,
        "several_writers": report.writers,
    }
