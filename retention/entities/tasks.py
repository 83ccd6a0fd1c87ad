"""Thin Celery tasks of the entity registry (beat, config/schedule.py: discovery at 01:30,
before the tier runs; Home Assistant's unknown/unavailable times every 15 minutes). The work
is in `retention.entities.discovery` and `retention.entities.ha_gaps`."""

import logging

from celery import shared_task
from django.conf import settings

from enrich.errors import Transient
from retention.entities.discovery import DiscoveryError, discover
from retention.entities.ha_gaps import record_unavailable as record_spans
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


@shared_task(
    name="retention.record_unavailable",
    soft_time_limit=settings.TASK_TIME_LIMITS["retention.record_unavailable"][0],
    time_limit=settings.TASK_TIME_LIMITS["retention.record_unavailable"][1],
)
def record_unavailable() -> dict:
    """Every 15 minutes: the times Home Assistant's recorder held an official-layout entity
    unknown/unavailable, which the tiers and views take as gaps (a no-op without HA_URL and
    HA_TOKEN). Paced in windows of hours, within a budget: what it leaves (its budget spent,
    Home Assistant out of reach: logged) is read by the next run, from where this one got to."""
    return record_spans()
