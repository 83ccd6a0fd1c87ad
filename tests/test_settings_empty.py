"""A line of `.env` left empty (`NAME=`) or holding only spaces, or a value with spaces around
it: a setting with a default takes its default, one whose empty value means "none" is empty,
and a value that cannot work stops the start naming the variable."""

import pytest

from tests.support.isolation import DEFAULTS as UNOWNED_DEFAULTS
from tests.support.startup import ROOT, load_settings, refused_start, run_django

BLANKS = ("", "   ")

# (variable, the setting shown, what it holds when the variable is empty or only spaces)
DEFAULTS = [
    # Taken as "": every write failed at InfluxDB ("database name required").
    ("INFLUXDB_DATABASE", "INFLUXDB_DATABASE", "enrich"),
    ("RESTORE_INFLUXDB_DATABASE", "RESTORE_INFLUXDB_DATABASE", "enrich_restore"),
    ("DEMO_INFLUXDB_DATABASE", "DEMO_INFLUXDB_DATABASE", "enrich_demo"),
    ("HA_INFLUXDB_DATABASE", "HA_INFLUXDB_DATABASE", "home_assistant"),
    ("HA_INFLUXDB_DATABASE", "TIER_DATABASE", "home_assistant"),
    ("TIER_DATABASE", "TIER_DATABASE", "home_assistant"),
    # The first site was named "" (or "   ").
    ("SITE_NAME", "SITE_NAME", "Home"),
    # enrich's keys lost their prefix: two deployments on one Redis shared caches and locks.
    ("REDIS_KEY_PREFIX", "REDIS_KEY_PREFIX", "enrich"),
    ("STORAGE_PRICE_CURRENCY", "STORAGE_PRICE_CURRENCY", "USD"),
    ("ENERGY_FLAT_TARIFF_CURRENCY", "ENERGY_FLAT_TARIFF_CURRENCY", "EUR"),
    # The project root itself: ensure_admin could not write the first admin's credentials.
    (
        "FIRST_START_CREDENTIALS_FILE",
        "FIRST_START_CREDENTIALS_FILE",
        str(ROOT / "var" / "first-start-credentials.txt"),
    ),
    # "": every read and write of InfluxDB failed, the Google connection sent the browser to a
    # path of enrich itself.
    ("INFLUXDB_URL", "INFLUXDB_URL", "http://127.0.0.1:8186"),
    ("GOOGLE_AUTH_URI", "GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth"),
    ("GOOGLE_TOKEN_URI", "GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token"),
    ("GOOGLE_API_BASE", "GOOGLE_API_BASE", "https://www.googleapis.com"),
    # [] (every request a 400 "add it to DJANGO_ALLOWED_HOSTS").
    ("DJANGO_ALLOWED_HOSTS", "ALLOWED_HOSTS", "['localhost', '127.0.0.1', '[::1]']"),
    # A region "" (boto3: "Invalid endpoint") or "   ".
    ("AWS_DEFAULT_REGION", "S3_REGION", "us-east-1"),
    ("S3_REGION", "S3_REGION", "us-east-1"),
]
# "   " was the broker: every worker, beat and queued task failed on it.
DEFAULTS += [
    ("CELERY_BROKER_URL", "CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    ("CELERY_RESULT_BACKEND", "CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0"),
]
# A number, a choice, a time zone, a database or Redis URL, a throttle rate left empty stopped
# the start ("RETENTION_RAW_DAYS='' is not a number") where a yes/no variable took its default.
DEFAULTS += [
    ("RETENTION_RAW_DAYS", "RETENTION_RAW_DAYS", "7"),
    ("HTTP_TIMEOUT_SECONDS", "HTTP_TIMEOUT_SECONDS", "5.0"),
    ("PLAN_CARBON_PRICE", "PLAN_CARBON_PRICE", "100.0"),
    ("CACHE_TTL_OCCUPANCY_SECONDS", "CACHE_TTL_SECONDS['occupancy']", "900"),
    ("LOG_LEVEL", "LOG_LEVEL", "INFO"),
    ("HA_LAYOUT", "HA_LAYOUT", "official"),
    ("S3_SSE", "S3_SSE", "AES256"),
    ("ARCHIVE_PERIOD", "ARCHIVE_PERIOD", "month"),
    ("TIME_ZONE", "TIME_ZONE", "UTC"),
    ("DJANGO_HSTS_SECONDS", "SECURE_HSTS_SECONDS", "0"),
    ("DATABASE_URL", "DATABASES['default']['ENGINE']", "django.db.backends.sqlite3"),
    ("REDIS_URL", "REDIS_URL", "redis://127.0.0.1:6379/0"),
    ("API_THROTTLE_ANON", "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['anon']", "30/minute"),
    ("API_THROTTLE_TOKEN", "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['token']", "5/minute"),
]


@pytest.mark.parametrize("blank", BLANKS, ids=("empty", "spaces"))
@pytest.mark.parametrize("variable, setting, default", DEFAULTS, ids=lambda v: str(v)[:30])
def test_an_empty_or_blank_variable_takes_its_default(variable, setting, default, blank):
    # REDIS_URL as its default (the tests' own names another database), the InfluxDB databases
    # unset (the tests' name databases no test owns, tests/support/isolation.py)
    overrides = {"REDIS_URL": "redis://127.0.0.1:6379/0", **dict.fromkeys(UNOWNED_DEFAULTS)}
    overrides[variable] = blank
    result = load_settings(show=f"settings.{setting}", **overrides)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == default


# Only spaces is none, as empty is: AIRNOW_API_KEY="   " set up AirNow with a key of three
# spaces, GOOGLE_CLIENT_ID="   " Google Calendar, S3_ARCHIVE_BUCKET="   " a bucket no upload
# reached, INFLUXDB_ORG="   " passed the INFLUXDB_VERSION=2 check.
BLANK_IS_NONE = """AIRNOW_API_KEY ELECTRICITYMAPS_API_KEY PRICING_API_KEY HA_TOKEN INFLUXDB_TOKEN
INFLUXDB_ORG INFLUXDB_USERNAME GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET GOOGLE_REFRESH_TOKEN
CARBON_PROVIDER PRICING_PROVIDER PRICING_REGION GRID_REGION METER_TYPE LATITUDE WATTTIME_USERNAME
WATTTIME_API_TOKEN S3_ARCHIVE_BUCKET S3_SSE_KMS_KEY_ID HA_DEFAULT_MEASUREMENT HA_INFLUXDB_TAGS
PROVIDER_BASE_URLS""".split()


@pytest.mark.parametrize("variable", BLANK_IS_NONE)
def test_a_variable_of_only_spaces_is_empty(variable):
    result = load_settings(show=f"repr(settings.{variable})", **{variable: "   "})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{}" if variable in ("PROVIDER_BASE_URLS", "HA_INFLUXDB_TAGS") else "''"
    )


def test_spaces_around_a_name_or_key_are_dropped():
    """INFLUXDB_DATABASE="enrich " wrote to a database of that name, a key with a space after
    it was sent with it."""
    written = {"INFLUXDB_DATABASE": " enrich_x ", "AIRNOW_API_KEY": "abc ", "SITE_NAME": " Home 2 "}
    code = f"print(*(getattr(settings, name) for name in {list(written)}), sep='|')"
    result = run_django(code, setup=False, **written)
    assert (result.stdout.strip(), result.stderr) == ("enrich_x|abc|Home 2", "")


def test_an_empty_allowed_hosts_line_still_answers_its_default_hosts():
    """DJANGO_ALLOWED_HOSTS= answered every request with a 400."""
    code = (
        "from django.test import Client; "
        "print(Client().get('/api/nope', HTTP_HOST='localhost').status_code)"
    )
    result = run_django(code, DJANGO_ALLOWED_HOSTS="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "404"  # the API's "No endpoint", not a 400 of the host


# VARIABLE=value: the start of the message that stops the start
REFUSED = {
    # Said "DJANGO_SECRET_KEY is 3 characters long".
    "DJANGO_SECRET_KEY=   ": "DJANGO_SECRET_KEY is not set",
    # Started with topics " /status" and discovery under "   ".
    "MQTT_TOPIC_ROOT=   ": "MQTT_TOPIC_ROOT is empty: set it to the root of",
    "MQTT_DISCOVERY_PREFIX=   ": "MQTT_DISCOVERY_PREFIX is empty: set it to Home",
    # Started, then every worker, beat and queued task failed on the broker.
    "CELERY_BROKER_URL=localhost:6379": "CELERY_BROKER_URL='localhost:6379' is not a URL",
    "CELERY_BROKER_URL=redis//127.0.0.1:6379/0": "CELERY_BROKER_URL='redis//127",
    # amqp:// (RabbitMQ) is taken too: the message named only Redis's schemes.
    "CELERY_BROKER_URL=nosuch://host/0": "CELERY_BROKER_URL='nosuch://host/0' is not a URL "
    "Celery can use: start it with a scheme it knows, such as redis://, rediss:// or amqp://",
    "CELERY_BROKER_URL=redis://:secret@h:99999/0": "CELERY_BROKER_URL='h:99999/0' is not usable",
    "CELERY_BROKER_URL=redis://127.0.0.1:99999/0": "CELERY_BROKER_URL='redis://127.0.0.1:99",
    "CELERY_RESULT_BACKEND=127.0.0.1:6379": "CELERY_RESULT_BACKEND='127.0.0.1:6379' is not",
    "CELERY_RESULT_BACKEND=redis://h:0/1": "CELERY_RESULT_BACKEND='redis://h:0/1' is not usable",
    # Started, then every cache, lock and budget failed at its first use.
    "REDIS_URL=redis://:secret@h:99999/0": "REDIS_URL='h:99999/0' is not usable: it is not a URL",
    "REDIS_URL=redis://127.0.0.1:0/0": "REDIS_URL='redis://127.0.0.1:0/0' is not usable: its port",
}


@pytest.mark.parametrize("line", REFUSED)
def test_a_value_that_cannot_work_stops_the_start_naming_it(line):
    variable, value = line.split("=", 1)
    named = REFUSED[line]
    stderr = refused_start(**{variable: value})
    assert f"ImproperlyConfigured: {named}" in stderr
    assert "secret" not in stderr


# Taken as written, spaces around them dropped (redis-py and kombu take localhost for a URL
# naming no host).
ACCEPTED = {
    "CELERY_BROKER_URL": "amqp://guest:guest@rabbit:5672//",
    "CELERY_RESULT_BACKEND": "rpc://",
    "REDIS_URL": "redis://:6379/2",
}


@pytest.mark.parametrize("variable", ACCEPTED)
def test_a_broker_result_store_or_redis_url_that_works_is_taken(variable):
    result = load_settings(show=f"settings.{variable}", **{variable: f" {ACCEPTED[variable]} "})
    assert (result.stdout.strip(), result.stderr) == (ACCEPTED[variable], "")
