"""The environment the settings are read from: `.env` (when present), and the helpers that
turn a variable into a value or stop the process with a message naming it."""

import json
import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from config.url_options import postgres_options_problem
from enrich.numerals import decimal, whole
from enrich.url_problems import beyond_address, header_problem, login_problem, url_problem

BASE_DIR = Path(__file__).resolve().parent.parent
# The longest durations the settings take, in seconds, and days kept: beyond them a timeout,
# cache lifetime or margin overflowed where it was used ("Python int too large to convert to C
# int", "date value out of range"), at each request or task and not at the start.
A_DAY = 24 * 3600
A_YEAR = 365 * A_DAY
KEPT_DAYS_AT_MOST = 36525  # a hundred years
CENTURY_H = KEPT_DAYS_AT_MOST * 24  # the same in hours
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# ENRICH_ENV_FILE names another file to read, or "none" to read none (the tests do this).
_named_file = env.str("ENRICH_ENV_FILE", default="").strip()
_env_file = _named_file or str(BASE_DIR / ".env")
# A file named that is none (a typo, a volume not mounted) was read as empty: its settings
# silently left out, DJANGO_PRODUCTION=true among them. An absent .env is the shell's settings.
if _named_file not in ("", "none") and not Path(_env_file).is_file():
    raise ImproperlyConfigured(
        f"ENRICH_ENV_FILE={_env_file!r} names no file: give the path of the settings file "
        "(scripts/init-env FILE writes one), or none to read no file."
    )
if _env_file != "none" and Path(_env_file).is_file():
    try:
        environ.Env.read_env(_env_file, overwrite=False)
    except UnicodeDecodeError as exc:  # saved in another encoding (a degree sign in Latin-1)
        line = Path(_env_file).read_bytes()[: exc.start].count(b"\n") + 1
        raise ImproperlyConfigured(
            f"{_env_file}, line {line}: not UTF-8 text; save the file as UTF-8."
        ) from None


def required(name: str, hint: str) -> str:
    """The variable, spaces around it dropped as around any value: DJANGO_SECRET_KEY's length
    and its different characters were counted with them ("   " and a key of 34 passed as 40)."""
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is not set. {hint}")
    return value


def text(name: str, default: str = "") -> str:
    """A name, key or region as written, spaces around it dropped; empty or only spaces is
    `default`: INFLUXDB_DATABASE= wrote to a database named "" (InfluxDB answered "database name
    required" at the first write), AIRNOW_API_KEY=" " set up AirNow with a key of one space."""
    return env.str(name, default="").strip() or default


def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = text(name, default).lower()
    if value not in allowed:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not valid; use one of: {', '.join(allowed)}."
        )
    return value


def currency(name: str, *, default: str) -> str:
    """A currency's three-letter code (ISO 4217) in upper case, "eur" too; another stops the
    process: ENERGY_FLAT_TARIFF_CURRENCY=€ matched no price provider's (EUR), so each mixed
    day's cost was left empty with a warning in the worker's log."""
    value = text(name, default).upper()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is no currency code: give its three letters (ISO 4217), e.g. "
            "EUR, GBP or USD."
        )
    return value


def header_value(name: str) -> str:
    """A key or token sent in an HTTP header (empty when not set or only spaces; spaces around
    it are dropped): one holding a line break, a no-break space or a character past Latin-1
    stops the process here, naming it, and not every request that would send it."""
    value = env.str(name, default="").strip(" ")
    if problem := header_problem(value):
        raise ImproperlyConfigured(
            f"{name} cannot carry {problem}: it is sent in an HTTP header; give it as issued."
        )
    return value


# Where the login of a URL setting goes instead of its user:password@ (else none is needed).
LOGIN_ELSEWHERE = {
    "INFLUXDB_URL": "INFLUXDB_USERNAME and INFLUXDB_PASSWORD (2.x: INFLUXDB_TOKEN)",
    "HA_URL": "HA_TOKEN",
    "S3_ENDPOINT_URL": "AWS_ACCESS_KEY and AWS_SECRET_KEY",
}


def http_url(
    name: str,
    *,
    default: str = "",
    example: str = "",
    empty: str = "",
    login: bool = False,
    path: str | None = None,
) -> str:
    """An http:// or https:// URL with a host and a usable port, or empty (when `default` is):
    anything else stops the process here, and not at the first request that uses it
    (INFLUXDB_URL=localhost:8186 would be a 500 of every page reading InfluxDB, port 99999 "cannot
    reach InfluxDB" on each). `example` (the message's; `default` when not given) and `empty`
    (what leaving it empty means) are for the message. A login in it (user:password@) only
    where `login` takes one: INFLUXDB_URL's password stood in each "Cannot reach InfluxDB at".
    `path`, when given, is how its path ends ("": it names none, nor a query): S3_ENDPOINT_URL's
    path was read as the bucket (NoSuchBucket at each archive run), HA_URL's went before the
    /api/ enrich adds (a 404), GOOGLE_REDIRECT_URI's elsewhere sent Google's answer past enrich."""
    example = example or default
    value = env.str(name, default="").strip() or default
    if value and not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"{name}={value!r} must start with http:// or https:// (e.g. {example}){empty}."
        )
    if value and (problem := url_problem(value, ("http", "https"))):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not usable: {problem}. Give an http:// or https:// URL with "
            f"a host (e.g. {example}){empty}."
        )
    if value and not login and "@" in urlsplit(value).netloc:
        where = LOGIN_ELSEWHERE.get(name)
        raise ImproperlyConfigured(
            f"{name}={value.split('@')[-1]!r} holds a login (user:password@), which every "
            "message naming the URL would show: give it without"
            + (f"; the login is {where}." if where else ", as none is needed.")
        )
    parts = urlsplit(value)
    if value and path == "" and beyond_address(parts):
        raise ImproperlyConfigured(
            f"{name}={value!r} names a path or query: give the address alone (e.g. {example})"
            f"{empty}."
        )
    if value and path and not parts.path.endswith(path):
        raise ImproperlyConfigured(
            f"{name}={value!r} must end with {path}, enrich's page there (e.g. {example}){empty}."
        )
    return value


def database(name: str, default: str) -> dict:
    """Django's settings of the database at the URL `name` (empty or only spaces: `default`),
    of a scheme django-environ reads, with a port that is a number and a database name: anything
    else stops the process here, naming it, and not at the first query (a port of letters was a
    ValueError naming no variable, a URL ending in "/" Django's "supply the NAME")."""
    value = text(name, default=default)
    scheme = value.split("://", 1)[0]
    examples = "examples: sqlite:////abs/path/db.sqlite3, postgres://user:pass@host:5432/name"
    if scheme not in environ.Env.DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} is not a valid database URL (unknown scheme in {scheme!r}); {examples}"
        )
    try:
        config = environ.Env.db_url_config(value)
    except ValueError as exc:  # urllib's words of the port, which show no password
        raise ImproperlyConfigured(f"{name} is not usable: {exc}; {examples}") from None
    sqlite = config["ENGINE"] == environ.Env.DB_SCHEMES["sqlite"]
    if not config.get("NAME") and not sqlite:
        raise ImproperlyConfigured(
            f"{name} names no database: end it with /<database name>; {examples}"
        )
    # sqlite:// and sqlite://name are django-environ's ":memory:": each process its own empty
    # database, migrated by `migrate` only, so every page of the web app failed ("no such table").
    if sqlite and config["NAME"] == ":memory:":
        raise ImproperlyConfigured(
            f"{name} names no database file (SQLite in memory is each process's own); {examples}"
        )
    # django-environ makes the query's options OPTIONS, which psycopg reads at the first
    # connection: `migrate` stopped on its traceback ("invalid sslmode value").
    if problem := postgres_options_problem(config):
        raise ImproperlyConfigured(f"{name} is not usable: {problem}.")
    if sqlite:  # relative = from the project root, as every process finds it whatever its cwd
        config["NAME"] = str(BASE_DIR / config["NAME"])
    return config


def url_map(name: str, *, default: str = "", example: str) -> dict[str, str]:
    """A JSON object of names to http:// or https:// URLs with a host (empty: {}): a value that
    is not one stops the process here, naming it, and not at the first collection of the
    provider the first-run setup gives it to ("nota url" would be saved as its base_url)."""
    raw = env.str(name, default=default).strip()
    try:
        found = json.loads(raw or "{}")
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, e.g. {example}.")
    for key, value in found.items():
        if said := login_problem(value, f"{name}: {key!r}:"):  # each provider's base_url
            raise ImproperlyConfigured(f"{said}.")
        if problem := url_problem(value, ("http", "https")):
            raise ImproperlyConfigured(
                f"{name}: {key!r} is {value!r}, not usable: {problem}. Give an http:// or "
                f"https:// URL with a host, e.g. {example}."
            )
    return found


def names(name: str, default: list[str]) -> list[str]:
    """A comma-separated list, each entry stripped, empty ones dropped: `a.org, b.org` is
    ["a.org", "b.org"] (django-environ kept " b.org", which then matched no request's host and
    no restore's database although the variable listed it). A list of no entry (empty, spaces,
    commas) is `default`: DJANGO_ALLOWED_HOSTS= answered every request with a 400."""
    raw = env.str(name, default="")
    return [entry.strip() for entry in raw.split(",") if entry.strip()] or default


# What Django matches a request's host against (django.http.request.validate_host): a name or
# an address, with a leading "." also its subdomains, an IPv6 address in brackets, or "*".
HOST = re.compile(r"\*|\.?[a-z0-9.-]+|\[[a-f0-9:.]+\]")


def hosts(name: str, default: list[str]) -> list[str]:
    """The host names of `names`; an entry Django never matches a request's host with (a URL,
    a port, a path: "https://enrich.example.org") stops the process: every request was a 400."""
    found = names(name, default)
    for entry in found:
        if not HOST.fullmatch(entry.lower()):
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is no host name: give names alone, comma-separated, e.g. "
                "enrich.example.org,.example.org (with its subdomains),[::1]; no scheme, port "
                "or path."
            )
    return found


def origins(name: str) -> list[str]:
    """The origins of `names` (a lone "/" after one dropped), each an http:// or https://
    scheme and host (a port, "*." for the subdomains) and nothing more: Django compares each
    with a form's Origin header as written, so one with a path, a login or no scheme let none
    of the form posts it was set for pass (a 403), the start untroubled."""
    found = [entry.removesuffix("/") for entry in names(name, [])]
    for entry in found:
        try:
            parts = urlsplit(entry)
            parts.port  # noqa: B018 (a port that is no number raises ValueError)
        except ValueError:
            parts = None
        if not (
            parts
            and parts.scheme in ("http", "https")
            and parts.hostname
            and entry == f"{parts.scheme}://{parts.netloc}"
            and "@" not in parts.netloc
        ):
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is no origin: give a scheme and host alone, comma-"
                "separated, e.g. https://enrich.example.org,https://*.example.org; no path."
            )
    return found


TRUE, FALSE = ("true", "on", "yes", "y", "1", "ok"), ("false", "off", "no", "n", "0")


def flag(name: str, default: bool) -> bool:
    """A yes/no variable: true/false (or on/off, yes/no, 1/0) in any case, empty for `default`.
    Anything else stops the process: django-environ read it as false, so a typo such as
    DJANGO_PRODUCTION=ture left HTTPS, HSTS and secure cookies off without a word."""
    raw = env.str(name, default="")
    value = raw.strip().lower()
    if not value:
        return default
    if value not in TRUE + FALSE:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not valid: use true or false (also on/off, yes/no, 1/0)."
        )
    return value in TRUE


def _infinite(raw: str) -> bool:
    try:
        return not math.isfinite(float(raw))
    except ValueError:
        return False


def number(name: str, default, cast=int, *, at_least=None, above=None, at_most=None):
    """The variable as a finite number written in the digits 0-9 (a whole one for int: "-3";
    for float also "1.5", "2e3"), within the bounds given: a value the code could not work with
    stops the process here, naming it, and not at the first request or task that reads it
    (PLAN_CARBON_PRICE=nan: every plan a 500). int() and float() also read other scripts' digits
    and "1_0": RETENTION_RAW_DAYS="١٠" kept 10 days. Spaces around the number are dropped; empty
    or only spaces is `default`."""
    raw = env.str(name, default="")
    raw = raw if raw.strip() else str(default)
    value = (decimal if cast is float else whole)(raw.strip())
    if value is None and _infinite(raw):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number.")
    if value is None:
        example = "1.5" if cast is float else "30"
        kind = "a number" if cast is float else "a whole number"
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a number: write {kind} in the digits 0-9, e.g. {example}."
        )
    bounds = {"at least": at_least, "above": above, "at most": at_most}
    if (
        (at_least is not None and value < at_least)
        or (above is not None and value <= above)
        or (at_most is not None and value > at_most)
    ):
        said = " and ".join(
            f"{how} {bound:.15g}" for how, bound in bounds.items() if bound is not None
        )
        raise ImproperlyConfigured(f"{name}={raw!r} is out of range: it must be {said}.")
    return value


def zone(name: str, default: str) -> str:
    """An IANA time zone name (Django's own check said "Incorrect timezone setting", not which
    variable held it)."""
    value = text(name, default)
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a time zone: use an IANA name such as Europe/Berlin or UTC."
        ) from None
    return value


# Celery's schemes whose URL names a server (host and port): the others (memory://, sqla+...,
# filesystem://) carry no host to check.
SERVER_SCHEMES = ("redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp")


def server_url_problem(value: str, scheme: str) -> str:
    """What keeps a Redis or AMQP URL from working ("" when nothing does): as url_problem, but
    one naming no host is fine (redis-py and kombu take localhost)."""
    problem = url_problem(value, (scheme,))
    return "" if problem == "it names no host" else problem


def redis_database_problem(value: str) -> str:
    """What keeps the database a Redis URL names from being one ("" when nothing does): the
    path of a redis:// or rediss:// URL ("/3"), the db= of a unix:// one and the virtual_host=
    of a redis+socket:// one must be a whole number. redis-py read "/abc" or "/0/x" as database
    0 and Celery refused it at each connection, so the web app and the workers parted."""
    parts = urlsplit(value)
    scheme = parts.scheme
    if scheme in ("redis", "rediss"):
        named = parts.path.removeprefix("/")
    else:
        key = {"unix": "db", "redis+socket": "virtual_host"}.get(scheme)
        named = parse_qs(parts.query).get(key, [""])[-1] if key else ""
    if not named or named.isascii() and named.isdigit():
        return ""
    return f"its database {named!r} is not a number: name one such as 0 or 3, or none (0)"


def celery_url(name: str, default: str, known: str) -> str:
    """A broker or result store URL of a scheme Celery knows (in the table at the dotted path
    `known`, imported only when the URL is set: importing Celery is half of a settings reader's
    start), naming a host and a usable port where it names one; empty or only spaces is
    `default` (REDIS_URL). Anything else stops the process here, naming it:
    CELERY_BROKER_URL=localhost:6379 started, then every worker, beat and queued task failed on
    the broker ("No such transport")."""
    value = env.str(name, default="").strip()
    if not value:
        return default
    shown = value.split("@")[-1]  # without a password
    full = value.partition("://")[0]  # redis+socket:///path: kombu's Redis on a Unix socket
    scheme = full.split("+")[0]
    fix = "e.g. redis://127.0.0.1:6379/0, or leave it empty for REDIS_URL"
    if "://" not in value or scheme not in import_string(known):
        raise ImproperlyConfigured(
            f"{name}={shown!r} is not a URL Celery can use: start it with a scheme it knows, "
            f"such as redis://, rediss:// or amqp:// ({fix})."
        )
    if scheme in SERVER_SCHEMES and (problem := server_url_problem(value, full)):
        raise ImproperlyConfigured(f"{name}={shown!r} is not usable: {problem} ({fix}).")
    if scheme in ("redis", "rediss") and (problem := redis_database_problem(value)):
        raise ImproperlyConfigured(f"{name}={shown!r} is not usable: {problem} ({fix}).")
    return value
