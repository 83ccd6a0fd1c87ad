"""The settings as a new process loads them at its start: only the required settings are set
(to good values), plus each test's overrides (None: unset)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def generated_keys() -> dict[str, str]:
    """DJANGO_SECRET_KEY and FIELD_ENCRYPTION_KEY as scripts/init-env makes them: new ones, not
    the repository's (the production profile refuses those, config.security.PUBLISHED_KEYS)."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }


GOOD = {
    **generated_keys(),
    "ENRICH_ENV_FILE": "none",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}

START = "import django; django.setup()"
# Loading the settings is all a settings test needs: the apps (admin, Celery, every provider's
# client) take a second more to import.
SETTINGS = "from django.conf import settings; settings.INSTALLED_APPS"
# At exit, the objects left are frozen: the interpreter's final garbage collections skip them
# (walking all of Django's takes a child 1-2 s more on a loaded machine, after its last word;
# the standard streams are flushed as before).
QUICK_EXIT = "import atexit, gc; atexit.register(gc.freeze)"


def run_django(
    code: str, *, setup: bool = True, **overrides: str | None
) -> subprocess.CompletedProcess:
    """`code` run after django.setup() in a new Python process (`setup` False: once the
    settings are loaded, without the apps, as a settings reader needs)."""
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DATABASE_URL"}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", f"{QUICK_EXIT}; {START if setup else SETTINGS}; {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(
    *, show: str = "settings.DATABASES['default']['ENGINE']", **overrides: str | None
) -> subprocess.CompletedProcess:
    """The settings loaded in a new process, which prints `show`."""
    return run_django(f"print({show})", setup=False, **overrides)


def refused_start(**overrides: str | None) -> str:
    """What a process that the settings stop at its start writes to stderr (it must fail)."""
    result = load_settings(**overrides)
    assert result.returncode != 0
    return result.stderr


def documented_production_env() -> dict[str, str]:
    """The .env lines docs/deployment.md gives for the production profile behind a proxy, with
    the keys scripts/init-env generates (the deployment's steps before it)."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"\*\*Production profile.*?```sh\n(.*?)```", docs, re.DOTALL)[1]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return generated_keys() | dict(line.split("=", 1) for line in lines if line)
