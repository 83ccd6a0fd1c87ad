"""Wiring: settings, the Celery app (config.celery; loaded as Django starts, enrich.apps), root
URLs, WSGI."""
