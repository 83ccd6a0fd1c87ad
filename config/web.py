"""WEB_TIMEOUT: the seconds gunicorn lets a request run before it kills the worker serving it
(gunicorn.conf.py's `timeout`), and so the time a request may wait for Redis and InfluxDB
(enrich.deadline). Both read it here, so the two cannot disagree."""

from config.environment import A_DAY, number

WEB_TIMEOUT = number("WEB_TIMEOUT", 30, at_least=10, at_most=A_DAY)
