"""The project's Celery app for the test of a broker out of reach longer than the worker's
retries allow (tests/test_broker_long_outage.py): a finite broker_connection_max_retries,
Celery's default (100 retries, about 47 minutes) or one the settings give, becomes RETRIES
(one retry, 2 s after the connection failed), so a test's outage outlasts it in seconds;
retrying without end (None) stays so. BROKER_RETRIES=celery in the worker's environment gives
it Celery's default first: the worker as it is without the project's setting. Nothing else
changes."""

import os

from celery.app.defaults import DEFAULTS

from config.celery import app

__all__ = ("app",)

RETRIES = 1

if os.environ.get("BROKER_RETRIES") == "celery":
    app.conf.broker_connection_max_retries = DEFAULTS["broker_connection_max_retries"]
if app.conf.broker_connection_max_retries is not None:
    app.conf.broker_connection_max_retries = RETRIES
