from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class EnrichConfig(AppConfig):
    name = "enrich"
    verbose_name = "Enrichment"

    def ready(self) -> None:
        # Every process that starts Django (gunicorn, manage.py, the worker, beat and Flower)
        # sends the project's tasks through the project's Celery app, made current here. Not in
        # config/__init__.py, as Celery's guide has it: a process that only reads the settings
        # would import Celery too, about 40 % of its start.
        import config.celery  # noqa: F401
        from enrich.beat_zones import read_unknown_zones

        check_access_settings()
        check_provider_base_urls()
        read_unknown_zones()


def check_provider_base_urls() -> None:
    """Stop the process at start on a PROVIDER_BASE_URLS key that names no provider: the
    first-run setup looks each provider up by its name, so "awatar" would silently be given to
    none and aWATTar's first collection would go to the real API instead of the proxy."""
    from enrich.models import PROVIDER_CHOICES

    known = [provider for provider, _ in PROVIDER_CHOICES]
    if unknown := [key for key in settings.PROVIDER_BASE_URLS if key not in known]:
        raise ImproperlyConfigured(
            f"PROVIDER_BASE_URLS: {', '.join(map(repr, unknown))} is no provider's name; use "
            f"the names of the providers: {', '.join(known)}."
        )


def check_access_settings() -> None:
    """Stop the process at start on a throttle rate or login limit that cannot work."""
    from enrich.redis.budget import parse_budget

    for scope, rate in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
        try:
            parse_budget(rate)
        except ValueError as exc:
            raise ImproperlyConfigured(f"API_THROTTLE_{scope.upper()}: {exc}") from None
    if settings.AXES_FAILURE_LIMIT < 1 or settings.AXES_COOLOFF_TIME <= 0:
        raise ImproperlyConfigured(
            f"ADMIN_LOGIN_FAILURE_LIMIT={settings.AXES_FAILURE_LIMIT} must be at least 1 and "
            f"ADMIN_LOGIN_COOLOFF_MINUTES={settings.AXES_COOLOFF_TIME * 60:g} above 0."
        )
    if settings.TRUSTED_PROXY_COUNT < 0:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_COUNT={settings.TRUSTED_PROXY_COUNT} must be 0 or more."
        )
