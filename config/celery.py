"""The Celery app: JSON only, explicit queues, routes by task name, beat from the database."""

import os
import sys

from celery import Celery
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue
from kombu.transport import TRANSPORT_ALIASES
from kombu.utils.objects import cached_property

from config.queues import QUEUES, ROUTES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A redis:// or rediss:// broker gets kombu's Redis transport less its crash on a Redis restart
# (enrich.redis.transport), under kombu's own names: the broker's URL reads the same in the
# logs and in Flower.
TRANSPORT_ALIASES.update(dict.fromkeys(("redis", "rediss"), "enrich.redis.transport:Transport"))


class App(Celery):
    @cached_property
    def Beat(self):  # noqa: N802 (Celery's name)
        # `celery beat` stops promptly on SIGTERM, from a safe point (enrich.beat_stop).
        return self.subclass_with_self("enrich.beat_stop:Beat")


class CelerySettings:
    """Celery's settings: Django's CELERY_* ones under Celery's own names (CELERY_BROKER_URL is
    broker_url), read from Django's settings when Celery asks. Only those: given all of Django's
    settings (config_from_object's namespace), its `conf` inspect command, Flower's worker
    Config tab, listed every one, REDIS_URL's and MQTT_URL's passwords and ALERT_WEBHOOK_URL's
    id in clear, and CELERY_BROKER_URL's password too (masked under broker_url only)."""

    PREFIX = "CELERY_"

    def __dir__(self) -> list[str]:
        names = (name for name in dir(settings) if name.startswith(self.PREFIX))
        return [name.removeprefix(self.PREFIX).lower() for name in names]

    def __getattr__(self, name: str):
        if name != name.lower() or name.startswith("_"):
            raise AttributeError(name)
        try:
            return getattr(settings, self.PREFIX + name.upper())
        except AttributeError:
            raise AttributeError(name) from None


# Every task counts its deliveries: one that keeps killing its worker stops (enrich.deliveries).
app = App("enrich", task_cls="enrich.deliveries:GuardedTask")
app.config_from_object(CelerySettings())


@app.on_configure.connect
def _settings_loaded(**_kwargs) -> None:
    """`celery -A config worker` (beat, Flower) loads the settings as it reads its
    configuration: a bad one stops it with its message, as manage.py says it, not with the
    command line's traceback ending in it. (A Django process has loaded them already.)"""
    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads them)
    except ImproperlyConfigured as exc:
        sys.exit(f"ImproperlyConfigured: {exc}")


app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    # A task routed to a queue nobody declared is a typo: fail instead of creating it.
    task_create_missing_queues=False,
    task_routes=ROUTES,
    # Collect and retention tasks are idempotent (deterministic timestamps, resumable
    # chunks), so acknowledging after the run is safe and a killed worker loses no work. The
    # broker's visibility timeout (settings) outlasts every time limit, so a task still running
    # is never delivered twice; TASK_MAX_REDELIVERIES bounds the redeliveries of a dead one.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Flower needs events.
    worker_send_task_events=True,
    task_send_sent_event=True,
    task_track_started=True,
    result_expires=24 * 3600,
    # DatabaseScheduler, less the tasks of a crontab whose time zone cannot be loaded here.
    beat_scheduler="enrich.beat_scheduler:Scheduler",
    # A task the worker returns to its queue when it stops is not counted as delivered.
    worker_consumer="enrich.worker_stop:Consumer",
    broker_connection_retry_on_startup=True,
    # A broker out of reach is retried without end (2 s, 4 s, ... then every 30 s): Celery's
    # default gives up after 100 retries (about 47 minutes) and the worker exits, so a Redis
    # down for an hour (a Home Assistant host rebooted or upgraded) left no worker running.
    broker_connection_max_retries=None,
    timezone="UTC",
)
# Every worker records its name and queues in Redis: the status page shows one that is gone.
app.steps["consumer"].add("enrich.worker_alive:WorkerAlive")
app.autodiscover_tasks(["enrich", "collectors"])
# Each retention capability keeps its tasks in its own package's tasks.py.
app.autodiscover_tasks(
    [
        "retention.entities",
        "retention.tiers",
        "retention.rollups",
        "retention.stats",
        "retention.archive",
    ]
)
# Home Assistant MQTT discovery: mqtt.publish_states lives in collectors/ha_mqtt/tasks.py.
app.autodiscover_tasks(["collectors.ha_mqtt"])
