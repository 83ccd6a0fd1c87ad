"""The environment every bench sets before Django starts: the user's `.env` (service URLs),
throwaway secrets when none are configured, and a relational database of the bench's own; the
names of this run's InfluxDB databases (`run_database`)."""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"


def run_suffix() -> str:
    """This run's suffix, `<pid>_<random>`: kept in BENCH_RUN, so the workers and servers a
    bench starts (they inherit its environment) name the same databases."""
    return os.environ.setdefault("BENCH_RUN", f"{os.getpid()}_{uuid.uuid4().hex[:6]}")


def run_database(base: str) -> str:
    """The InfluxDB database `base` of this run, `<base>_<pid>_<random>`: two bench runs at
    once (two shells, CI beside a person) never drop or count each other's points. Each bench
    drops its databases when it ends."""
    return f"{base}_{run_suffix()}"


def base_environment(name: str, **values: str) -> None:
    """Read the user's `.env` (never again afterwards), set the settings module, secrets the
    bench's data can die with, a Redis key prefix of this run, and `values`."""
    import environ
    from cryptography.fernet import Fernet

    env_file = os.environ.get("ENRICH_ENV_FILE", str(ROOT / ".env"))
    if env_file != "none" and Path(env_file).is_file():
        environ.Env.read_env(env_file, overwrite=False)  # the user's service URLs, if any
    os.environ["ENRICH_ENV_FILE"] = "none"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["REDIS_KEY_PREFIX"] = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("LOG_LEVEL", "warning")
    os.environ.update(values)


def own_database(name: str) -> tuple[str, str | None]:
    """Point DATABASE_URL at the bench's own database: `<database>_bench_<name>` on the given
    PostgreSQL server, else a SQLite file. Returns (DATABASE_URL, PostgreSQL admin URL or
    None)."""
    given = os.environ.get("DATABASE_URL", "")
    if given.split("://", 1)[0] in ("postgres", "postgresql", "pgsql"):
        parts = urlsplit(given)
        database = f"{parts.path.lstrip('/')}_bench_{name}"
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + database))
        return os.environ["DATABASE_URL"], given
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / f'{name}.sqlite3'}"
    return os.environ["DATABASE_URL"], None
