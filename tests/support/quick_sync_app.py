"""The project's Celery app for the beat's tests of PostgreSQL out of reach: django-celery-beat's
DatabaseScheduler reads the whole schedule again SYNC_SECONDS after it last did (its
SCHEDULE_SYNC_MAX_INTERVAL, 5 minutes), so a test's outage spans such a read in seconds. Nothing
else changes."""

from celery.signals import beat_init

from config.celery import app

__all__ = ("app",)

SYNC_SECONDS = 2


@beat_init.connect
def _sync_often(**_) -> None:
    import django_celery_beat.schedulers  # its models: once Django is set up

    django_celery_beat.schedulers.SCHEDULE_SYNC_MAX_INTERVAL = SYNC_SECONDS
