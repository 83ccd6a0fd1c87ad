"""The query options of DATABASE_URL and REDIS_URL, checked at start against what their clients
read: an option PostgreSQL or redis-py does not know, or a value it cannot take, passed the
settings and failed later with the client's traceback (`migrate`: psycopg's "invalid sslmode
value", a worker: "unexpected keyword argument 'dbb'"). Static tables, so a process that only
reads the settings imports neither psycopg nor redis-py; tests/test_url_options.py ties each
table to the client installed."""

import ssl
from urllib.parse import parse_qs, urlsplit

# libpq's connection parameters (PQconndefaults of the libpq psycopg[binary] bundles; the
# PostgreSQL documentation's "Parameter Key Words"): any other name is psycopg's "invalid
# connection option" at the first connection.
LIBPQ_OPTIONS = frozenset(
    "service user password passfile channel_binding connect_timeout dbname host hostaddr port "
    "client_encoding options application_name fallback_application_name keepalives "
    "keepalives_idle keepalives_interval keepalives_count tcp_user_timeout sslmode "
    "sslnegotiation sslcompression sslcert sslkey sslcertmode sslpassword sslrootcert sslcrl "
    "sslcrldir sslsni requirepeer require_auth min_protocol_version max_protocol_version "
    "ssl_min_protocol_version ssl_max_protocol_version gssencmode krbsrvname gsslib "
    "gssdelegation replication target_session_attrs load_balance_hosts scram_client_key "
    "scram_server_key oauth_issuer oauth_client_id oauth_client_secret oauth_scope "
    "sslkeylogfile".split()
)
# What Django's PostgreSQL backend takes from OPTIONS itself (docs: "PostgreSQL notes").
DJANGO_PG_OPTIONS = frozenset(
    ("isolation_level", "server_side_binding", "assume_role", "pool", "prepare_threshold")
)
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")


def postgres_options_problem(config: dict) -> str:
    """What keeps PostgreSQL from taking the OPTIONS django-environ made of a database URL's
    query ("" when nothing does, or when the database is not PostgreSQL)."""
    if config.get("ENGINE") not in POSTGRES_ENGINES:
        return ""
    options = config.get("OPTIONS", {})
    for name in options:
        if name not in LIBPQ_OPTIONS | DJANGO_PG_OPTIONS:
            return (
                f"its option {name!r} is not a PostgreSQL connection parameter (libpq's list: "
                "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS)"
            )
    sslmode = str(options.get("sslmode", "prefer"))
    if sslmode not in SSLMODES:
        return f"its sslmode {sslmode!r} is none of PostgreSQL's: use {', '.join(SSLMODES)}"
    return ""


# The values redis-py reads as false (redis.utils.to_bool: any other text is true, "off" too);
# taken here only with the true ones that mean what redis-py reads.
FALSE_WORDS = ("0", "f", "false", "n", "no")
TRUE_WORDS = ("1", "t", "true", "y", "yes")
ALL = ("redis", "rediss", "unix")
TCP = ("redis", "rediss")
TLS = ("rediss",)
# redis-py's URL options (redis.connection.URL_QUERY_ARGUMENT_PARSERS, redis-py 8) and the
# connection's text arguments a URL can carry, with what each takes and the schemes whose
# connection takes it. Left out: retry_on_error (a URL's text is no exception class: each
# retry failed) and timeout (a blocking pool's, which enrich does not use: no connection).
REDIS_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "db": ("whole", ALL),
    "socket_timeout": ("number", ALL),
    "socket_connect_timeout": ("number", ALL),
    "socket_read_size": ("whole", ALL),
    "socket_keepalive": ("yes/no", TCP),
    "retry_on_timeout": ("yes/no", ALL),
    "max_connections": ("whole", ALL),
    "health_check_interval": ("whole", ALL),
    "protocol": ("2 or 3", ALL),
    "legacy_responses": ("yes/no", ALL),
    "client_name": ("text", ALL),
    "username": ("text", ALL),
    "password": ("text", ALL),
    "ssl_check_hostname": ("yes/no", TLS),
    "ssl_min_version": ("whole", TLS),
    "ssl_include_verify_flags": ("flags", TLS),
    "ssl_exclude_verify_flags": ("flags", TLS),
    "ssl_cert_reqs": ("none, optional or required", TLS),
    "ssl_ca_certs": ("text", TLS),
    "ssl_ca_path": ("text", TLS),
    "ssl_certfile": ("text", TLS),
    "ssl_keyfile": ("text", TLS),
    "ssl_password": ("text", TLS),
    "ssl_ciphers": ("text", TLS),
}


def _fits(kind: str, value: str) -> bool:
    if kind in ("whole", "number"):
        try:
            (int if kind == "whole" else float)(value)
        except ValueError:
            return False
        return True
    if kind == "yes/no":
        return value.lower() in FALSE_WORDS + TRUE_WORDS
    if kind == "text":
        return True
    if kind == "flags":  # as redis.connection.parse_ssl_verify_flags
        flags = value.replace("[", "").replace("]", "").split(",")
        return all(hasattr(ssl.VerifyFlags, flag.strip()) for flag in flags)
    if kind == "2 or 3":
        return value.strip().isdigit() and int(value) in (2, 3)
    return value in ("none", "optional", "required")  # ssl_cert_reqs


def redis_options_problem(value: str) -> str:
    """What keeps redis-py from taking the query options of a redis://, rediss:// or unix://
    URL ("" when nothing does): a name its connection of that scheme does not take, or a value
    it cannot read (redis-py reads the first of an option given twice)."""
    parts = urlsplit(value)
    for name, values in parse_qs(parts.query).items():  # as redis-py: an empty one is none
        kind, schemes = REDIS_OPTIONS.get(name, ("", ()))
        if parts.scheme not in schemes:
            known = ", ".join(n for n, (_, s) in REDIS_OPTIONS.items() if parts.scheme in s)
            return f"its option {name!r} is none redis-py takes in a {parts.scheme}:// URL: {known}"
        if not _fits(kind, values[0]):
            return f"its option {name}={values[0]!r} is not valid: give {_said(kind)}"
    return ""


def _said(kind: str) -> str:
    return {
        "whole": "a whole number",
        "number": "a number, e.g. 1.5",
        "yes/no": "true or false (also 1/0, yes/no)",
        "flags": "names of ssl.VerifyFlags, comma-separated, e.g. VERIFY_X509_STRICT",
    }.get(kind, kind)


# What kombu, Celery's broker, takes from a redis:// or rediss:// URL's query: its connection's
# own words and the TLS ones it reads or hands redis-py as text (a TLS connection on either
# scheme). Any other name stopped every worker, beat and task sent ("unexpected keyword
# argument"), as did connect_timeout, kept as text ("unsupported operand type(s)").
KOMBU_REDIS_OPTIONS = (
    "heartbeat",
    "insist",
    "login_method",
    "ssl_cert_reqs",
    "ssl_check_hostname",
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password",
    "ssl_ciphers",
)


def broker_options_problem(value: str) -> str:
    """What keeps kombu from taking the query options of a redis:// or rediss:// broker URL
    ("" when nothing does, or for another scheme)."""
    parts = urlsplit(value)
    for name in parse_qs(parts.query) if parts.scheme in TCP else ():
        if name not in KOMBU_REDIS_OPTIONS:
            return (
                f"its option {name!r} is none Celery's broker (kombu) takes in a URL: "
                f"{', '.join(KOMBU_REDIS_OPTIONS)}"
            )
    return ""
