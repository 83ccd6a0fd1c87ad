"""Where people reach this enrich's web app, when its settings say it.

A worker has no request to read a host from, so only the settings tell: the base of
GOOGLE_REDIRECT_URI (the public address of the OAuth callback, set behind a proxy), else the
one origin of DJANGO_CSRF_TRUSTED_ORIGINS (no wildcard). Otherwise the address is unknown and
nothing is made up: a link to a guessed host (localhost, the container's name) would lead a
user's browser nowhere.
"""

from django.conf import settings
from django.urls import reverse


def status_page_url() -> str | None:
    """The start page's public URL (`<base>/`), None when the settings do not say it."""
    redirect, callback = settings.GOOGLE_REDIRECT_URI, reverse("oauth-google-callback")
    if redirect.endswith(callback):
        return f"{redirect.removesuffix(callback)}/"
    origins = [o for o in settings.CSRF_TRUSTED_ORIGINS if "*" not in o]
    if len(origins) == 1:
        return f"{origins[0].rstrip('/')}/"
    return None
