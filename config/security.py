"""The secret key check and the production profile, read by config.settings.

The production profile is for enrich served behind a TLS-terminating reverse proxy:
`DJANGO_PRODUCTION=true` switches on secure cookies, HSTS, the redirect to HTTPS (trusting the
proxy's X-Forwarded-Proto) and Django's password validators. Each can also be set on its own;
an explicit variable wins over the profile.
"""

from typing import Any

import environ
from django.core.checks.security.base import SECRET_KEY_MIN_UNIQUE_CHARACTERS
from django.core.exceptions import ImproperlyConfigured

from config.environment import flag
from enrich.numerals import whole

# DJANGO_SECRET_KEY's value in .env.example: a copied example file must not become a deployment.
PLACEHOLDER_SECRET_KEY = "change-me-to-a-long-random-string"
MIN_SECRET_KEY_LENGTH = 40
# The keys this repository publishes, by variable: the tests' (Makefile's TEST_ENV) and the
# image build's (the Dockerfile's BUILD_* arguments, for collectstatic only). Anyone can read
# them, so the production profile refuses them; tests/test_settings.py holds this list to those
# files.
PUBLISHED_KEYS = {
    "DJANGO_SECRET_KEY": {
        "test-secret-key-not-for-production-at-least-40-chars": "the tests' key (Makefile)",
        "collectstatic-only-throwaway-value-not-a-secret-key": "the image build's key (Dockerfile)",
    },
    "FIELD_ENCRYPTION_KEY": {
        "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=": "the tests' key (Makefile)",
        "Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldC0=": "the image build's key (Dockerfile)",
    },
}
HSTS_PROFILE_SECONDS = 365 * 24 * 3600


def checked_secret_key(value: str) -> str:
    """The key, or ImproperlyConfigured when it is the example's placeholder, too short or of
    fewer than 5 different characters."""
    fix = (
        "Generate one with scripts/init-env (it fills an empty or placeholder DJANGO_SECRET_KEY "
        "in .env) or: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
    if value.strip() == PLACEHOLDER_SECRET_KEY:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is the placeholder of .env.example; anyone can read it. {fix}"
        )
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is {len(value)} characters long; use at least "
            f"{MIN_SECRET_KEY_LENGTH} random ones. {fix}"
        )
    if (different := len(set(value))) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:  # Django's W009 bound
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY has {different} different character{'s' * (different > 1)}; "
            f"use at least {MIN_SECRET_KEY_LENGTH} random ones. {fix}"
        )
    return value


def refuse_published_keys(secret_key: str, field_keys: str) -> None:
    """With DJANGO_PRODUCTION=true, ImproperlyConfigured when DJANGO_SECRET_KEY or the key
    FIELD_ENCRYPTION_KEY encrypts with (its first) is one of PUBLISHED_KEYS. An older key after
    it only decrypts, as while rotating away from a published one."""
    if not flag("DJANGO_PRODUCTION", default=False):
        return  # make run and the tests use them
    published = PUBLISHED_KEYS["DJANGO_SECRET_KEY"].get(secret_key.strip())
    if published:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is {published}, published in enrich's repository: anyone can "
            "forge sessions and signatures with it, so DJANGO_PRODUCTION=true refuses it. Delete "
            "its line from .env and run scripts/init-env to generate one, or: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    published = PUBLISHED_KEYS["FIELD_ENCRYPTION_KEY"].get(field_keys.split(",")[0].strip())
    if published:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEY is {published}, published in enrich's repository: anyone "
            "can decrypt the API keys and tokens it encrypts, so DJANGO_PRODUCTION=true refuses "
            "it. Delete its line from .env and run scripts/init-env to generate one, or: "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'. Secrets already encrypted with it: put the "
            "new key first (FIELD_ENCRYPTION_KEY=<new>,<this one>) and run "
            "python manage.py rotate_field_key."
        )


def production_settings(env: environ.Env) -> dict[str, Any]:
    """The Django security settings of the production profile, each overridable."""
    production = flag("DJANGO_PRODUCTION", default=False)
    if production and flag("DJANGO_DEBUG", default=False):
        # Debug pages show the settings, the code and the request of every error to anyone.
        raise ImproperlyConfigured(
            "DJANGO_DEBUG=true and DJANGO_PRODUCTION=true: debug pages would show settings, "
            "code and requests to anyone on the network. Set DJANGO_DEBUG=false."
        )
    secure_cookies = flag("DJANGO_SECURE_COOKIES", default=production)
    raw_hsts = env.str("DJANGO_HSTS_SECONDS", default="").strip() or str(
        HSTS_PROFILE_SECONDS if production else 0
    )
    # str.isdigit() takes "²" (then int() fails without naming it) and "١٠" (read as 10).
    hsts_seconds = whole(raw_hsts.strip())
    if hsts_seconds is None or hsts_seconds < 0:
        raise ImproperlyConfigured(
            f"DJANGO_HSTS_SECONDS={raw_hsts!r} must be a whole number of seconds in the digits "
            "0-9 (0 = no HSTS)."
        )
    behind_proxy = flag("DJANGO_BEHIND_TLS_PROXY", default=production)
    validators = flag("DJANGO_PASSWORD_VALIDATORS", default=production)
    return {
        "SESSION_COOKIE_SECURE": secure_cookies,
        "CSRF_COOKIE_SECURE": secure_cookies,
        "SECURE_HSTS_SECONDS": hsts_seconds,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False),
        "SECURE_SSL_REDIRECT": flag("DJANGO_SSL_REDIRECT", default=production),
        # The proxy terminates TLS and says so in X-Forwarded-Proto; only trust it behind one
        # that sets the header itself.
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy else None,
        # Container and load-balancer health checks call plain HTTP on the inside.
        "SECURE_REDIRECT_EXEMPT": [r"^api/health/$"],
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": f"django.contrib.auth.password_validation.{name}"}
            for name in (
                "UserAttributeSimilarityValidator",
                "MinimumLengthValidator",
                "CommonPasswordValidator",
                "NumericPasswordValidator",
            )
        ]
        if validators
        else [],
    }
