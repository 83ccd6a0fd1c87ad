"""The project's Celery app with every broker and result key under the bench's Redis key
prefix, so a bench run never shares queues or results with a deployment on the same Redis.

Used by the bench process (`import bench._celery`) and its worker (`celery -A bench._celery`).
"""

from django.conf import settings

from config.celery import app

_PREFIX = f"{settings.REDIS_KEY_PREFIX}:celery:"
app.conf.broker_transport_options = {"global_keyprefix": _PREFIX}
app.conf.result_backend_transport_options = {"global_keyprefix": _PREFIX}

__all__ = ["app"]
