"""All settings, read from the environment in one place (django-environ).

Every variable is documented in docs/configuration.md and .env.example. A `.env` file in the project
root is read when present (``make run`` creates one with generated secrets on first start).
A wrong or missing required value stops the process at start with a message naming it.
"""

from django.core.exceptions import ImproperlyConfigured

# The REST API's settings (who may do what, throttles, login lockout) live in config.api_access.
from config.api_access import (  # noqa: F401  (settings Django reads)
    AXES_CLIENT_IP_CALLABLE,
    AXES_COOLOFF_TIME,
    AXES_FAILURE_LIMIT,
    AXES_LOCKOUT_PARAMETERS,
    AXES_RESET_ON_SUCCESS,
    AXES_USERNAME_CALLABLE,
    REST_FRAMEWORK,
    SPECTACULAR_SETTINGS,
    TRUSTED_PROXY_COUNT,
)
from config.archive import bucket, region, storage_class
from config.broker import (  # noqa: F401  (Redis and Celery settings)
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    CELERY_RESULT_BACKEND,
    CELERY_TASK_SOFT_TIME_LIMIT,
    CELERY_TASK_TIME_LIMIT,
    REDIS_KEY_PREFIX,
    REDIS_URL,
    TASK_MAX_REDELIVERIES,
    TASK_TIME_LIMITS,
)
from config.environment import (
    A_DAY,
    A_YEAR,
    BASE_DIR,
    CENTURY_H,
    KEPT_DAYS_AT_MOST,
    VAR_DIR,
    choice,
    currency,
    database,
    env,
    flag,
    header_value,
    hosts,
    http_url,
    names,
    number,
    origins,
    required,
    text,
    url_map,
    zone,
)
from config.influx_databases import ha_database, ha_tags
from config.logs import LOG_LEVEL, LOGGING  # noqa: F401  (one line per event, to stderr)
from config.mqtt import (  # noqa: F401  (settings of the HA entities over MQTT)
    MQTT_CHEAPEST_WINDOW_HOURS,
    MQTT_DISCOVERY_PREFIX,
    MQTT_OFFLINE_AFTER_SECONDS,
    MQTT_PASSWORD,
    MQTT_TOPIC_ROOT,
    MQTT_URL,
)
from config.security import (
    GENERATE_FIELD_KEY,
    checked_field_keys,
    checked_secret_key,
    production_settings,
    refuse_published_keys,
)
from config.tls import INFLUXDB_CA_CERT, MQTT_CA_CERT  # noqa: F401  (the home's own CAs)
from config.web import WEB_TIMEOUT  # noqa: F401  (gunicorn's too: gunicorn.conf.py)

# --- Django core -------------------------------------------------------------------------
SECRET_KEY = checked_secret_key(
    required(
        "DJANGO_SECRET_KEY",
        "Set it to a long random string (make run and scripts/init-env write one into .env).",
    )
)
DEBUG = flag("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = hosts("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = origins("DJANGO_CSRF_TRUSTED_ORIGINS")
# Production profile (DJANGO_PRODUCTION, DJANGO_SECURE_COOKIES, DJANGO_HSTS_SECONDS, ...): secure
# cookies, HSTS, HTTPS redirect behind a TLS proxy; password validators (with the profile or
# without); see config.security.
globals().update(production_settings(env))
TIME_ZONE = zone("TIME_ZONE", "UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
LOGIN_URL = "/login/"  # the start page's login (staff and read-only users)
LOGIN_REDIRECT_URL = "/"
# Django's database sessions; a cookie's key Django would never make is no session (not a 500).
SESSION_ENGINE = "enrich.sessions"
STATIC_ROOT = VAR_DIR / "static"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "enrich",
    "collectors",
    "retention",
    "dashboard",
]

MIDDLEWARE = [
    "enrich.deadline.request_deadline",  # first: every wait on Redis and InfluxDB ends in time
    # The database out of reach: a 503 saying so, not a 500 (enrich.database_down).
    "enrich.database_down.DatabaseDown",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "enrich.append_slash.AppendSlash",  # Django's CommonMiddleware, redirecting with a 308
    "enrich.body_charset.body_charset_guard",  # before anything reads a form (the CSRF check)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The admin's filters, date hierarchy and bulk actions: bad values are a 400, not a 500.
    "enrich.admin_guard.admin_input_guard",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out login with 429
]
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Relational database (embedded default: a SQLite file) ----------------------------------
DATABASES = {"default": database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'enrich.sqlite3'}")}
# One connection per process, kept between requests and tasks (checked before reuse): opening
# a PostgreSQL connection cost 8-22 ms on the development machine, more than a view query.
DATABASES["default"]["CONN_MAX_AGE"] = number("DATABASE_CONN_MAX_AGE", 60, at_least=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default is shared by web, worker, beat and Flower: a transaction takes the
    # write lock as it starts (IMMEDIATE), waiting up to 20 s for another's; readers read beside
    # it (WAL). One that reads and then writes (an admin save, the beat saving its schedule)
    # would otherwise fail at once with "database is locked" when another process wrote between.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )

# --- Secrets at rest ----------------------------------------------------------------------
# Several keys, comma-separated and newest first, while rotating (enrich.crypto); the first, which
# encrypts, of at least 5 different bytes.
FIELD_ENCRYPTION_KEY = checked_field_keys(
    required(
        "FIELD_ENCRYPTION_KEY",
        f"It encrypts API keys and tokens in the database. Create one with: {GENERATE_FIELD_KEY}",
    )
)
# The tests' and the image build's keys are public: refused with DJANGO_PRODUCTION=true.
refuse_published_keys(SECRET_KEY, FIELD_ENCRYPTION_KEY)

# --- Response cache TTLs (PRD FR9), one per source; CACHE_TTL_<SOURCE>_SECONDS overrides --
CACHE_TTL_SECONDS = {
    source: number(f"CACHE_TTL_{source.upper()}_SECONDS", default, at_most=A_YEAR)
    for source, default in {
        "carbon_intensity": 900,
        "electricity_pricing": 3600,
        "air_quality": 3600,
        "smart_meter": 300,
        "occupancy": 900,
    }.items()
}
for _source, _ttl in CACHE_TTL_SECONDS.items():
    if _ttl <= 0:
        raise ImproperlyConfigured(
            f"CACHE_TTL_{_source.upper()}_SECONDS={_ttl} must be a whole number of seconds above 0."
        )

# --- Collector runs: deleted each night once this old, but what the collections work from
# (each target's latest run, success and fetch: collectors.run_records) ------------------------
COLLECTOR_RUN_DAYS = number("COLLECTOR_RUN_DAYS", 30, at_least=1, at_most=KEPT_DAYS_AT_MOST)

# --- InfluxDB ----------------------------------------------------------------------------
INFLUXDB_URL = http_url(
    "INFLUXDB_URL", default="http://127.0.0.1:8186", example="http://127.0.0.1:8186"
)
INFLUXDB_VERSION = choice("INFLUXDB_VERSION", "1", ("1", "2"))
INFLUXDB_USERNAME = text("INFLUXDB_USERNAME")
INFLUXDB_PASSWORD = env.str("INFLUXDB_PASSWORD", default="")
INFLUXDB_TOKEN = header_value("INFLUXDB_TOKEN")
INFLUXDB_ORG = text("INFLUXDB_ORG")
if INFLUXDB_VERSION == "2" and not (INFLUXDB_TOKEN and INFLUXDB_ORG):
    raise ImproperlyConfigured(
        "INFLUXDB_VERSION=2 needs INFLUXDB_TOKEN and INFLUXDB_ORG (an all-access or "
        "read/write token of that organisation)."
    )
INFLUXDB_TIMEOUT = number("INFLUXDB_TIMEOUT", 30, float, above=0, at_most=A_DAY)
INFLUXDB_DATABASE = text("INFLUXDB_DATABASE", default="enrich")  # enrichment data (carbon, ...)
# Home Assistant's data (read; the demo refuses to write there), layout, default_measurement.
HA_INFLUXDB_DATABASE = ha_database(INFLUXDB_DATABASE)  # never INFLUXDB_DATABASE
HA_LAYOUT = choice("HA_LAYOUT", "official", ("official", "ingestor"))
HA_DEFAULT_MEASUREMENT = text("HA_DEFAULT_MEASUREMENT")
HA_INFLUXDB_TAGS = ha_tags()  # the tags: of the instance read, where several write there
# Where the tiers (policies enrich_hourly, enrich_daily) are written; empty: HA's database.
TIER_DATABASE = text("TIER_DATABASE") or HA_INFLUXDB_DATABASE
# Optional: Home Assistant's URL and a long-lived access token (of an admin user), to import
# entity areas from its registries (manage.py discover_entities --ha-areas); on first start
# also the base_url and token of a METER_TYPE=home_assistant meter (enrich.bootstrap).
HA_URL = http_url("HA_URL", example="http://homeassistant.local:8123", path="").rstrip("/")
HA_TOKEN = header_value("HA_TOKEN")
DEMO_INFLUXDB_DATABASE = text("DEMO_INFLUXDB_DATABASE", default="enrich_demo")
# Load plans (/api/plan, split windows): % of the plan's average per interruption; currency/t CO2.
PLAN_INTERRUPTION_PENALTY_PERCENT = number(
    "PLAN_INTERRUPTION_PENALTY_PERCENT", 6, float, at_least=0
)
PLAN_CARBON_PRICE = number("PLAN_CARBON_PRICE", 100, float, at_least=0, at_most=1e6)

# --- Materialized views (retention.rollups.materialized) ----------------------------------------------
# Flat electricity price per kWh used where no price slot is known; empty = unknown (cost null).
_flat_tariff = text("ENERGY_FLAT_TARIFF")
ENERGY_FLAT_TARIFF = number("ENERGY_FLAT_TARIFF", _flat_tariff, float) if _flat_tariff else None
ENERGY_FLAT_TARIFF_CURRENCY = currency("ENERGY_FLAT_TARIFF_CURRENCY", default="EUR")
# An incremental refresh recomputes buckets from (last refresh - this margin), for late data.
VIEW_LATE_MARGIN_HOURS = number("VIEW_LATE_MARGIN_HOURS", 6, float, at_least=0, at_most=CENTURY_H)

# --- Tiered retention (retention.tiers.runner): raw -> hourly -> daily ------------------------------
# Raw points older than RETENTION_RAW_DAYS become hourly aggregates (then deleted); hourly rows
# older than RETENTION_HOURLY_DAYS become daily ones. Whole UTC days only, and a day waits
# RETENTION_LATE_MARGIN_HOURS past its horizon for late points before it is downsampled. At
# most a hundred years (KEPT_DAYS_AT_MOST): RETENTION_DAILY_DAYS=3000000 passed, then every
# archive run failed ("date value out of range": no date lies that far back).
RETENTION_RAW_DAYS = number("RETENTION_RAW_DAYS", 7, at_most=KEPT_DAYS_AT_MOST)
RETENTION_HOURLY_DAYS = number("RETENTION_HOURLY_DAYS", 90, at_most=KEPT_DAYS_AT_MOST)
RETENTION_LATE_MARGIN_HOURS = number("RETENTION_LATE_MARGIN_HOURS", 2, float)
# A run's storage is measured again this many hours after it ends, once InfluxDB compacted the
# shards it changed (1.x fully compacts a shard 4 h after its last write): retention.stats.settle.
RETENTION_SETTLE_HOURS = number("RETENTION_SETTLE_HOURS", 5, float, at_least=0, at_most=CENTURY_H)
# A run that found InfluxDB unreachable is retried after this many seconds (doubling, 3 times).
RETENTION_RETRY_SECONDS = number("RETENTION_RETRY_SECONDS", 300, float, above=0, at_most=A_DAY)
if RETENTION_RAW_DAYS < 1 or RETENTION_HOURLY_DAYS <= RETENTION_RAW_DAYS:
    raise ImproperlyConfigured(
        f"RETENTION_RAW_DAYS={RETENTION_RAW_DAYS} and RETENTION_HOURLY_DAYS="
        f"{RETENTION_HOURLY_DAYS}: raw days must be at least 1 and hourly days more than raw days."
    )
if not 0 <= RETENTION_LATE_MARGIN_HOURS < 24:
    raise ImproperlyConfigured(
        f"RETENTION_LATE_MARGIN_HOURS={RETENTION_LATE_MARGIN_HOURS:g} must be from 0 to under 24."
    )

# The longest day range one restore over the API (queued to a worker) may ask for; the command
# has no limit.
RETENTION_MAX_RANGE_DAYS = number("RETENTION_MAX_RANGE_DAYS", 400, at_least=1)

# --- Archive: parquet files on S3 (Glacier IR) or a local directory (retention.archive.run) ---
# Daily aggregates older than RETENTION_DAILY_DAYS are archived (then deleted from InfluxDB);
# without a bucket the archive is the local directory ARCHIVE_LOCAL_DIR (same key layout);
# with neither, archive runs refuse.
RETENTION_DAILY_DAYS = number("RETENTION_DAILY_DAYS", 365, at_most=KEPT_DAYS_AT_MOST)
if RETENTION_DAILY_DAYS <= RETENTION_HOURLY_DAYS:
    raise ImproperlyConfigured(
        f"RETENTION_DAILY_DAYS={RETENTION_DAILY_DAYS} must be more than RETENTION_HOURLY_DAYS "
        "(90 by default): a day is archived only after its hourly rows became daily ones."
    )
S3_ARCHIVE_BUCKET = bucket()
# The PRD's names first, boto3's standard names as the alternative; empty = boto3's own chain
# (instance role, ~/.aws/credentials).
AWS_ACCESS_KEY = text("AWS_ACCESS_KEY") or text("AWS_ACCESS_KEY_ID")
AWS_SECRET_KEY = text("AWS_SECRET_KEY") or text("AWS_SECRET_ACCESS_KEY")
# MinIO and other S3-compatible stores
S3_ENDPOINT_URL = http_url(
    "S3_ENDPOINT_URL", example="http://minio:9000", empty="; leave it empty for AWS S3", path=""
)
S3_REGION = region()  # S3_REGION, else AWS_DEFAULT_REGION, else us-east-1
S3_STORAGE_CLASS = storage_class()  # only a class read back at once (config.archive)
# AES256 (S3-managed keys), aws:kms, or none (stores without server-side encryption).
S3_SSE = choice("S3_SSE", "AES256", ("aes256", "aws:kms", "none"))
S3_SSE = {"aes256": "AES256", "none": ""}.get(S3_SSE, S3_SSE)
S3_SSE_KMS_KEY_ID = text("S3_SSE_KMS_KEY_ID")
if bool(AWS_ACCESS_KEY) != bool(AWS_SECRET_KEY):
    raise ImproperlyConfigured(
        "Set both AWS_ACCESS_KEY and AWS_SECRET_KEY (or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY), or neither to use boto3's credential chain."
    )
# No default: an archive run deletes what it archived, so the folder must be named on purpose
# (relative = from the project root; make run writes var/archive into .env). retention.archive.target.
_archive_dir = text("ARCHIVE_LOCAL_DIR")
ARCHIVE_LOCAL_DIR = BASE_DIR / _archive_dir if _archive_dir else None
ARCHIVE_COMPRESSION = choice("ARCHIVE_COMPRESSION", "gzip", ("gzip", "zstd"))
ARCHIVE_PERIOD = choice("ARCHIVE_PERIOD", "month", ("month", "quarter", "year"))
ARCHIVE_RETENTION_YEARS = number("ARCHIVE_RETENTION_YEARS", 5, at_least=1, at_most=100)
RESTORE_INFLUXDB_DATABASE = text("RESTORE_INFLUXDB_DATABASE", default="enrich_restore")
# Other databases a restore may write into (never Home Assistant's, the tiers' or enrich's own).
RESTORE_ALLOWED_DATABASES = names("RESTORE_ALLOWED_DATABASES", default=[])

# --- Storage statistics and alerts (retention.stats.measure, retention.stats.alerts) -----------------------
# Prices per GB-month (GB = 2^30 bytes) for the savings figure. Defaults: AWS us-east-1 list
# prices, EBS gp3 $0.08 (aws.amazon.com/ebs/pricing) for the database's disk, S3 Glacier
# Instant Retrieval $0.004 (aws.amazon.com/s3/pricing) for the archive.
STORAGE_PRICE_DB_GB_MONTH = number("STORAGE_PRICE_DB_GB_MONTH", 0.08, float)
STORAGE_PRICE_ARCHIVE_GB_MONTH = number("STORAGE_PRICE_ARCHIVE_GB_MONTH", 0.004, float)
STORAGE_PRICE_CURRENCY = currency("STORAGE_PRICE_CURRENCY", default="USD")
if STORAGE_PRICE_DB_GB_MONTH < 0 or STORAGE_PRICE_ARCHIVE_GB_MONTH < 0:
    raise ImproperlyConfigured(
        "STORAGE_PRICE_DB_GB_MONTH and STORAGE_PRICE_ARCHIVE_GB_MONTH are prices per GB-month "
        "and cannot be negative."
    )
# Where alerts are POSTed as JSON (e.g. a Home Assistant webhook trigger
# http://homeassistant.local:8123/api/webhook/<id>); empty = alerts are only logged and recorded.
ALERT_WEBHOOK_URL = http_url(
    "ALERT_WEBHOOK_URL",
    default="",
    example="http://homeassistant.local:8123/api/webhook/enrich_alerts",
    login=True,  # a relay's basic auth; the messages and logs scrub it
)
# A retention run taking (or still running) longer than this raises an alert.
ALERT_MAX_DURATION_SECONDS = number("ALERT_MAX_DURATION_SECONDS", 7200, at_most=A_YEAR)
if ALERT_MAX_DURATION_SECONDS < 1:
    raise ImproperlyConfigured(
        f"ALERT_MAX_DURATION_SECONDS={ALERT_MAX_DURATION_SECONDS} must be at least 1 second."
    )
# Home Assistant's database receiving no point for longer than this opens an alert (0 = never;
# why 6 h: docs/configuration.md, retention.entities.silent).
HA_SILENT_HOURS = number("HA_SILENT_HOURS", 6.0, float, at_least=0, at_most=A_YEAR / 3600)

# --- Outbound HTTP -----------------------------------------------------------------------
# PRD NFR1 (timeout), NFR4 (retries)
HTTP_TIMEOUT_SECONDS = number("HTTP_TIMEOUT_SECONDS", 5.0, float, above=0, at_most=A_DAY)
HTTP_MAX_RETRIES = number("HTTP_MAX_RETRIES", 3, at_least=0)
HTTP_BACKOFF_SECONDS = number("HTTP_BACKOFF_SECONDS", 1.0, float, at_least=0)
HTTP_MAX_RETRY_AFTER_SECONDS = number("HTTP_MAX_RETRY_AFTER_SECONDS", 60.0, float, at_least=0)

# manage.py ensure_admin writes the first admin's password and API token here (0600), not to
# the logs (docker compose: a volume of web). Relative = from the project root.
FIRST_START_CREDENTIALS_FILE = BASE_DIR / text(
    "FIRST_START_CREDENTIALS_FILE", default="var/first-start-credentials.txt"
)

# --- Site and providers, read once on first start to fill the database (enrich.bootstrap) --
SITE_NAME = text("SITE_NAME", default="Home")
LATITUDE = text("LATITUDE")
LONGITUDE = text("LONGITUDE")
GRID_REGION = text("GRID_REGION")
CARBON_PROVIDER = text("CARBON_PROVIDER")
WATTTIME_USERNAME = text("WATTTIME_USERNAME")
WATTTIME_PASSWORD = env.str("WATTTIME_PASSWORD", default="")
WATTTIME_API_TOKEN = text("WATTTIME_API_TOKEN")
ELECTRICITYMAPS_API_KEY = header_value("ELECTRICITYMAPS_API_KEY")
PRICING_PROVIDER = text("PRICING_PROVIDER")
PRICING_API_KEY = header_value("PRICING_API_KEY")
PRICING_REGION = text("PRICING_REGION")
AIRNOW_API_KEY = header_value("AIRNOW_API_KEY")
METER_TYPE = text("METER_TYPE")
METER_USERNAME = text("METER_USERNAME")
METER_PASSWORD = env.str("METER_PASSWORD", default="")
GOOGLE_CLIENT_ID = text("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = text("GOOGLE_CLIENT_SECRET")
GOOGLE_REFRESH_TOKEN = text("GOOGLE_REFRESH_TOKEN")
# Where Google sends the browser back after consent; empty = built from the request
# (<scheme>://<host>/oauth/google/callback). Set it behind a proxy that changes the scheme/host.
GOOGLE_REDIRECT_URI = http_url(
    "GOOGLE_REDIRECT_URI",
    example="https://enrich.example.org/oauth/google/callback",
    empty="; leave it empty to build it from the request",
    path="/oauth/google/callback",  # collectors.occupancy.google.urls
)
# The first-run setup gives the providers it creates these API roots as their `base_url`
# option, e.g. {"awattar": "http://proxy:8080"} (JSON; empty = the providers' own hosts).
PROVIDER_BASE_URLS = url_map(
    "PROVIDER_BASE_URLS", default="", example='{"awattar": "http://proxy:8080"}'
)
# Google's endpoints, overridable (tests point them at a local server).
GOOGLE_AUTH_URI = http_url("GOOGLE_AUTH_URI", default="https://accounts.google.com/o/oauth2/auth")
GOOGLE_TOKEN_URI = http_url("GOOGLE_TOKEN_URI", default="https://oauth2.googleapis.com/token")
GOOGLE_API_BASE = http_url("GOOGLE_API_BASE", default="https://www.googleapis.com")
