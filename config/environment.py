"""The environment the settings are read from: `.env` (when present), and the helpers that
turn a variable into a value or stop the process with a message naming it."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# ENRICH_ENV_FILE names another file to read, or "none" to read none (the tests do this).
_env_file = env.str("ENRICH_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file != "none" and Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)


def required(name: str, hint: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} is not set. {hint}")
    return value


def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.str(name, default=default).strip().lower()
    if value not in allowed:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not valid; use one of: {', '.join(allowed)}."
        )
    return value


def number(name: str, default, cast=int):
    raw = env.str(name, default=str(default))
    try:
        return cast(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
