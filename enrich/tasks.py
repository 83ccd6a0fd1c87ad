import logging

from celery import shared_task

from enrich.health import check_services as run_checks

logger = logging.getLogger(__name__)


@shared_task(name="enrich.check_services", soft_time_limit=60, time_limit=90)
def check_services() -> dict:
    """Periodic: log whether the database, Redis and InfluxDB answer."""
    result = run_checks()
    if result["ok"]:
        logger.info("health: all services answer")
    return result
