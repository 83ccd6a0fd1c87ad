"""A wrong or missing required setting stops the process at start, naming the variable."""

import base64
import os
import re
import subprocess
import sys
from io import StringIO

import botocore.session
import pytest
from django.core.management import call_command

from config.security import (
    MIN_SERVICE_PASSWORD_LENGTH,
    PLACEHOLDER_SECRET_KEY,
    PUBLISHED_KEYS,
    SERVICE_PASSWORDS,
)
from tests.support.startup import (
    GOOD,
    ROOT,
    SETTINGS,
    documented_production_env,
    load_settings,
    refused_start,
    run_django,
)


def test_defaults_load_with_sqlite_as_embedded_database():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY is not set"),
        ({"FIELD_ENCRYPTION_KEY": None}, "FIELD_ENCRYPTION_KEY is not set"),
        ({"FIELD_ENCRYPTION_KEY": "short"}, "FIELD_ENCRYPTION_KEY is not a valid Fernet key"),
        (
            {"FIELD_ENCRYPTION_KEY": GOOD["FIELD_ENCRYPTION_KEY"] + ",short"},
            "FIELD_ENCRYPTION_KEY is not a valid Fernet key (key 2:",
        ),
        ({"INFLUXDB_VERSION": "3"}, "INFLUXDB_VERSION='3' is not valid"),
        ({"INFLUXDB_VERSION": "2"}, "INFLUXDB_VERSION=2 needs INFLUXDB_TOKEN and INFLUXDB_ORG"),
        ({"DATABASE_URL": "nosuchdb://x/y"}, "DATABASE_URL is not a valid database URL"),
        # A port of letters was a ValueError naming no variable; a URL ending in "/" Django's
        # "Please supply the NAME" at the first query.
        (
            {"DATABASE_URL": "postgres://enrich:pw@127.0.0.1:five/enrich"},
            "DATABASE_URL is not usable: Port could not be cast to integer value as 'five'",
        ),
        ({"DATABASE_URL": "postgres://a:pw@db:99999/e"}, "DATABASE_URL is not usable: Port out"),
        ({"DATABASE_URL": "postgres://a:pw@db:5432/"}, "DATABASE_URL names no database: end it"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with redis://"),
        # redis-py read these as database 0 (the web app's caches, locks, budgets) and Celery
        # refused them at each connection ("Database is int between 0 and limit - 1"): no worker.
        ({"REDIS_URL": "redis://127.0.0.1:6379/0/1"}, "its database '0/1' is not a number"),
        ({"REDIS_URL": "unix:///run/redis.sock?db=one"}, "its database 'one' is not a number"),
        (
            {"CELERY_BROKER_URL": "redis://broker:6379/x"},
            "CELERY_BROKER_URL='redis://broker:6379/x",
        ),
        ({"CELERY_RESULT_BACKEND": "redis+socket:///r?virtual_host=-1"}, "database '-1' is not"),
        ({"HTTP_TIMEOUT_SECONDS": "five"}, "HTTP_TIMEOUT_SECONDS='five' is not a number"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "400"}, "CELERY_TASK_SOFT_TIME_LIMIT must be below"),
        ({"HA_LAYOUT": "other"}, "HA_LAYOUT='other' is not valid; use one of: official, ingestor"),
        ({"S3_STORAGE_CLASS": "deep_archive"}, "S3_STORAGE_CLASS=DEEP_ARCHIVE objects cannot be"),
        # A typo started, then failed each archive run's first upload (InvalidStorageClass).
        (
            {"S3_STORAGE_CLASS": "GLACIER-IR"},
            "S3_STORAGE_CLASS='GLACIER-IR' is not an S3 storage class whose objects read back at",
        ),
        ({"S3_STORAGE_CLASS": "glacier ir"}, "'glacier ir' is not an S3 storage class whose"),
        (
            {"DJANGO_SECRET_KEY": "change-me-to-a-long-random-string"},
            "DJANGO_SECRET_KEY is the placeholder of .env.example",
        ),
        (
            {"DJANGO_SECRET_KEY": "test-secret-key-not-for-production"},
            "DJANGO_SECRET_KEY is 34 characters long; use at least 40",
        ),
        # Counted with the spaces around it, which are dropped from any value: it started.
        (
            {"DJANGO_SECRET_KEY": "   test-secret-key-not-for-production   "},
            "DJANGO_SECRET_KEY is 34 characters long; use at least 40",
        ),
        # Long enough, but no secret: Django's own checklist (security.W009) calls a key of
        # fewer than 5 different characters insecure; it started.
        (
            {"DJANGO_SECRET_KEY": "x" * 64},
            "DJANGO_SECRET_KEY has 1 different character; use at least 40 random ones",
        ),
        (
            {"DJANGO_SECRET_KEY": "abab" * 16},
            "DJANGO_SECRET_KEY has 2 different characters; use at least 40 random ones",
        ),
        ({"DJANGO_HSTS_SECONDS": "a year"}, "DJANGO_HSTS_SECONDS='a year' must be a whole number"),
        (
            {"DJANGO_PRODUCTION": "true", "DJANGO_DEBUG": "true"},
            "DJANGO_DEBUG=true and DJANGO_PRODUCTION=true",
        ),
        # A NaN or infinite default carbon price or penalty made every plan a 500 (JSON has no
        # NaN); a negative penalty a 400 naming `penalty_percent`, which the caller never sent.
        ({"PLAN_CARBON_PRICE": "nan"}, "PLAN_CARBON_PRICE='nan' is not a finite number"),
        ({"PLAN_CARBON_PRICE": "inf"}, "PLAN_CARBON_PRICE='inf' is not a finite number"),
        ({"PLAN_CARBON_PRICE": "-1"}, "PLAN_CARBON_PRICE='-1' is out of range: it must be at"),
        ({"PLAN_CARBON_PRICE": "1000001"}, "at least 0 and at most 1000000."),
        ({"PLAN_INTERRUPTION_PENALTY_PERCENT": "-6"}, "PENALTY_PERCENT='-6' is out of range"),
        # Each collection failed at its first request, not the start.
        ({"HTTP_TIMEOUT_SECONDS": "0"}, "HTTP_TIMEOUT_SECONDS='0' is out of range: it must be"),
        ({"HTTP_MAX_RETRIES": "-1"}, "HTTP_MAX_RETRIES='-1' is out of range"),
        ({"HTTP_BACKOFF_SECONDS": "-1"}, "HTTP_BACKOFF_SECONDS='-1' is out of range"),
        ({"INFLUXDB_TIMEOUT": "0"}, "INFLUXDB_TIMEOUT='0' is out of range: it must be above 0"),
        ({"RETENTION_RETRY_SECONDS": "-300"}, "RETENTION_RETRY_SECONDS='-300' is out of range"),
        ({"RETENTION_SETTLE_HOURS": "-5"}, "RETENTION_SETTLE_HOURS='-5' is out of range"),
        # Taken, then every archive run failed: "date value out of range" (no date that far back).
        (
            {"RETENTION_DAILY_DAYS": "3000000"},
            "RETENTION_DAILY_DAYS='3000000' is out of range: it must be at most 36525.",
        ),
        ({"ARCHIVE_RETENTION_YEARS": "100000"}, "ARCHIVE_RETENTION_YEARS='100000' is out of range"),
        ({"RETENTION_RAW_DAYS": "40000"}, "RETENTION_RAW_DAYS='40000' is out of range"),
        # 0 would delete every run but each target's latest the next night.
        ({"COLLECTOR_RUN_DAYS": "0"}, "COLLECTOR_RUN_DAYS='0' is out of range: it must be at"),
        # Finite but too long to add to a time: each check of the alerts, refresh of a view and
        # settling of a run's storage failed ("date value out of range"), not the start.
        (
            {"ALERT_MAX_DURATION_SECONDS": "1" + "0" * 20},
            "ALERT_MAX_DURATION_SECONDS='100000000000000000000' is out of range: it must be at "
            "most 31536000.",
        ),
        ({"VIEW_LATE_MARGIN_HOURS": "99999999"}, "VIEW_LATE_MARGIN_HOURS='99999999' is out of"),
        ({"RETENTION_SETTLE_HOURS": "1e300"}, "it must be at least 0 and at most 876600."),
        # Read as false: a typo left HTTPS, HSTS and secure cookies off without a word.
        ({"DJANGO_PRODUCTION": "ture"}, "DJANGO_PRODUCTION='ture' is not valid: use true or"),
        ({"DJANGO_SSL_REDIRECT": "always"}, "DJANGO_SSL_REDIRECT='always' is not valid"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG='maybe' is not valid: use true or false"),
        # Django's "Incorrect timezone setting" and int()'s "invalid literal" named no variable.
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE='Mars/Base' is not a time zone: use an IANA"),
        ({"DATABASE_CONN_MAX_AGE": "1m"}, "DATABASE_CONN_MAX_AGE='1m' is not a number"),
        ({"DATABASE_CONN_MAX_AGE": "-1"}, "DATABASE_CONN_MAX_AGE='-1' is out of range"),
        # Started, then every page and task reading InfluxDB failed (ValueError: a 500).
        ({"INFLUXDB_URL": "localhost:8186"}, "INFLUXDB_URL='localhost:8186' must start with http"),
        # Started, then every read and write said "Cannot reach InfluxDB" (urllib3 could not
        # parse the port), and was tried again as if InfluxDB were down.
        (
            {"INFLUXDB_URL": "http://127.0.0.1:99999"},
            "INFLUXDB_URL='http://127.0.0.1:99999' is not usable: it is not a URL (Port out of",
        ),
        ({"INFLUXDB_URL": "http://127.0.0.1:0"}, "INFLUXDB_URL='http://127.0.0.1:0' is not usable"),
        ({"HA_URL": "http://:8123"}, "HA_URL='http://:8123' is not usable: it names no host"),
        ({"S3_ENDPOINT_URL": "http://minio:9000x"}, "S3_ENDPOINT_URL='http://minio:9000x' is not"),
        # Started, then the connect button sent the browser to a path of enrich itself, and the
        # code exchange after Google's consent said "Could not reach Google's token endpoint
        # (MissingSchema)"; the calendar reads "not an absolute http:// or https:// URL".
        (
            {"GOOGLE_AUTH_URI": "accounts.google.com/o/oauth2/auth"},
            "GOOGLE_AUTH_URI='accounts.google.com/o/oauth2/auth' must start with http:// or "
            "https:// (e.g. https://accounts.google.com/o/oauth2/auth).",
        ),
        ({"GOOGLE_TOKEN_URI": "oauth2.googleapis.com/token"}, "GOOGLE_TOKEN_URI='oauth2.google"),
        (
            {"GOOGLE_API_BASE": "https://www.googleapis.com:0"},
            "GOOGLE_API_BASE='https://www.googleapis.com:0' is not usable",
        ),
        (
            {"GOOGLE_REDIRECT_URI": "/oauth/google/callback"},
            "GOOGLE_REDIRECT_URI='/oauth/google/callback' must start with http:// or https:// "
            "(e.g. https://enrich.example.org/oauth/google/callback); leave it empty to build it "
            "from the request.",
        ),
        # Below the hard limit, so taken: a negative soft time limit for every task.
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "-5"}, "CELERY_TASK_SOFT_TIME_LIMIT='-5' is out of range"),
        ({"PROVIDER_BASE_URLS": "[1]"}, "PROVIDER_BASE_URLS must be a JSON object, e.g. {"),
        # Given by the first-run setup as the provider's base_url, whose first collection then
        # failed on it (and the admin refused to save the config until it was changed).
        ({"PROVIDER_BASE_URLS": '{"awattar": "a:8"}'}, "PROVIDER_BASE_URLS: 'awattar' is 'a:8'"),
        ({"PROVIDER_BASE_URLS": '{"awattar": "a:8"}'}, "not usable: its scheme is 'a'. Give"),
        ({"PROVIDER_BASE_URLS": '{"b": "http://b:99999"}'}, "'b' is 'http://b:99999', not usable"),
        ({"PROVIDER_BASE_URLS": '{"tibber": 8080}'}, "'tibber' is 8080, not usable: it is int"),
        # NaN passed the "cannot be negative" check of the storage prices.
        ({"STORAGE_PRICE_DB_GB_MONTH": "nan"}, "STORAGE_PRICE_DB_GB_MONTH='nan' is not a finite"),
        # int() and float() read other scripts' digits and "1_0": ten days kept, a 10 s timeout.
        ({"RETENTION_RAW_DAYS": "١٠"}, "RETENTION_RAW_DAYS='١٠' is not a number: write a whole"),
        ({"HTTP_TIMEOUT_SECONDS": "1_0"}, "HTTP_TIMEOUT_SECONDS='1_0' is not a number: write a"),
        ({"PLAN_CARBON_PRICE": "１００"}, "PLAN_CARBON_PRICE='１００' is not a number"),
        ({"TRUSTED_PROXY_COUNT": "1.0"}, "in the digits 0-9, e.g. 30."),
        ({"INFLUXDB_TIMEOUT": "1e400"}, "INFLUXDB_TIMEOUT='1e400' is not a finite number"),
        # str.isdigit() took "²", which int() then failed on without naming it, and "١٠" as 10.
        ({"DJANGO_HSTS_SECONDS": "²"}, "DJANGO_HSTS_SECONDS='²' must be a whole number"),
        ({"DJANGO_HSTS_SECONDS": "١٠"}, "DJANGO_HSTS_SECONDS='١٠' must be a whole number"),
        # Keys and tokens go in an HTTP header: every request that sent one failed.
        ({"PRICING_API_KEY": "tibber\ntoken"}, "PRICING_API_KEY cannot carry the invisible or"),
        ({"HA_TOKEN": "eyJ\u00a0abc"}, "HA_TOKEN cannot carry the invisible or control char"),
        ({"INFLUXDB_TOKEN": "tok\u20acen"}, "INFLUXDB_TOKEN cannot carry the character '\u20ac'"),
        ({"ELECTRICITYMAPS_API_KEY": "k\tey"}, "ELECTRICITYMAPS_API_KEY cannot carry the"),
        ({"AIRNOW_API_KEY": "key\r"}, "AIRNOW_API_KEY cannot carry the invisible or control"),
        # Taken, then each archive run and index rebuild said "Cannot reach the archive store
        # ... Check S3_ENDPOINT_URL and the network, then try again (a run can simply be repeated)" (retried).
        ({"S3_ARCHIVE_BUCKET": "my archive"}, "S3_ARCHIVE_BUCKET='my archive' is no bucket name"),
        ({"S3_ARCHIVE_BUCKET": "s3://bucket"}, "S3_ARCHIVE_BUCKET='s3://bucket' is no bucket"),
        # Matched no price provider's currency (EUR): each mixed day's cost left empty.
        (
            {"ENERGY_FLAT_TARIFF_CURRENCY": "€"},
            "ENERGY_FLAT_TARIFF_CURRENCY='€' is no currency code: give its three letters (ISO "
            "4217), e.g. EUR, GBP or USD.",
        ),
        ({"STORAGE_PRICE_CURRENCY": "dollar"}, "STORAGE_PRICE_CURRENCY='DOLLAR' is no currency"),
        # Taken, then each archive run failed creating its client (boto3's InvalidRegionError).
        (
            {"S3_REGION": "eu central 1"},
            "S3_REGION='eu central 1' is no region name: give one such as eu-central-1 (letters, "
            "digits and '-').",
        ),
        ({"AWS_DEFAULT_REGION": "eu_central_1"}, "AWS_DEFAULT_REGION='eu_central_1' is no region"),
        # One database for both: setup_influxdb made `autogen` (INF) the default policy of
        # Home Assistant's database, so HA wrote there and the days left in its own policy
        # were dropped untiered (or, `autogen` with a duration, every start stopped on it).
        (
            {"INFLUXDB_DATABASE": "home", "HA_INFLUXDB_DATABASE": "home"},
            "HA_INFLUXDB_DATABASE and INFLUXDB_DATABASE both name 'home' on INFLUXDB_URL: "
            "enrich's own data needs a database of its own",
        ),
        (
            {"INFLUXDB_DATABASE": "home_assistant", "HA_INFLUXDB_DATABASE": None},
            "HA_INFLUXDB_DATABASE and INFLUXDB_DATABASE both name 'home_assistant'",
        ),
        # The instance a read and delete of raw points is limited to (the tags: of one of
        # several Home Assistant instances): a value, and never a tag enrich selects by.
        ({"HA_INFLUXDB_TAGS": "instance"}, "HA_INFLUXDB_TAGS: 'instance' is not a tag of Home"),
        ({"HA_INFLUXDB_TAGS": "a=1, domain=x"}, "HA_INFLUXDB_TAGS: 'domain=x' is not a tag of"),
    ],
)
def test_bad_setting_fails_at_start_naming_the_variable(overrides, named):
    stderr = refused_start(**overrides)
    assert "ImproperlyConfigured" in stderr
    assert named in stderr


@pytest.mark.parametrize(
    "show, overrides, shown",
    [
        (
            "settings.PLAN_CARBON_PRICE, settings.PLAN_INTERRUPTION_PENALTY_PERCENT",
            {"PLAN_CARBON_PRICE": "1000000", "PLAN_INTERRUPTION_PENALTY_PERCENT": "0"},
            "1000000.0 0.0",
        ),
        (
            "settings.PROVIDER_BASE_URLS, settings.INFLUXDB_URL",
            {
                "PROVIDER_BASE_URLS": '{"awattar": "http://proxy:8080", "b": "https://[::1]:65535"}',
                "INFLUXDB_URL": "http://127.0.0.1:1",
            },
            "{'awattar': 'http://proxy:8080', 'b': 'https://[::1]:65535'} http://127.0.0.1:1",
        ),
        ("settings.S3_ARCHIVE_BUCKET", {"S3_ARCHIVE_BUCKET": "My.archive_2-x"}, "My.archive_2-x"),
        (
            "settings.HA_INFLUXDB_TAGS",
            {"HA_INFLUXDB_TAGS": " instance = cabin,source=ha ,"},
            "{'instance': 'cabin', 'source': 'ha'}",
        ),
    ],
)
def test_the_bounds_of_a_setting_are_inclusive(show, overrides, shown):
    result = load_settings(show=show, **overrides)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


def test_a_number_setting_in_the_digits_0_9_is_read_with_spaces_around_it_dropped():
    result = load_settings(
        show="settings.HTTP_TIMEOUT_SECONDS, settings.RETENTION_RAW_DAYS, settings.SECURE_HSTS_SECONDS",
        HTTP_TIMEOUT_SECONDS=" 2.5e0 ",
        RETENTION_RAW_DAYS=" 10 ",
        DJANGO_HSTS_SECONDS=" 60",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.5 10 60"


def test_a_provider_base_url_for_no_provider_stops_the_start_naming_it_and_the_providers():
    # The first-run setup looks each provider up by name: "awatar" was given to none, and
    # aWATTar's first collection went past the proxy to the real API.
    urls = '{"awattar": "http://proxy:8080", "awatar": "http://proxy:8080"}'
    result = run_django("pass", PROVIDER_BASE_URLS=urls)
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: PROVIDER_BASE_URLS: 'awatar' is no provider's name; use the names "
        "of the providers: airnow, awattar, electricitymaps, emporia_vue, google_calendar, "
        "home_assistant, octopus, sense, tibber, uk_carbon_intensity, watttime."
    ) in result.stderr
    started = run_django("print('started')", PROVIDER_BASE_URLS='{"awattar": "http://proxy:8080"}')
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def test_embedded_sqlite_waits_for_locks_and_uses_wal(tmp_path):
    db = tmp_path / "embedded.sqlite3"
    code = (
        "from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); "
        "print(connection.settings_dict['OPTIONS']['timeout'])"
    )
    result = run_django(code, DATABASE_URL=f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20"]


def test_several_encryption_keys_load():
    newest = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="
    result = load_settings(FIELD_ENCRYPTION_KEY=f"{newest}, {GOOD['FIELD_ENCRYPTION_KEY']}")
    assert result.returncode == 0, result.stderr


def test_postgres_from_database_url():
    result = load_settings(DATABASE_URL="postgres://enrich:enrich@127.0.0.1:5432/enrich")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.postgresql"


def test_a_copied_env_example_is_refused_with_how_to_fix():
    stderr = refused_start(ENRICH_ENV_FILE=str(ROOT / ".env.example"), DJANGO_SECRET_KEY=None)
    assert "DJANGO_SECRET_KEY is the placeholder of .env.example" in stderr
    assert "scripts/init-env" in stderr


def test_an_env_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    # A UnicodeDecodeError traceback stopped every process (web, workers, each manage.py command).
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"SITE_NAME=Home\nLATITUDE=52.5\xb0\n")  # a degree sign in Latin-1
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, **GOOD,
                                                        "ENRICH_ENV_FILE": str(dotenv)})  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        f"ImproperlyConfigured: {dotenv}, line 2: not UTF-8 text; save the file as UTF-8.\n"
    )


def published_keys() -> dict[str, set[str]]:
    """The keys the repository's files give, by variable: each assigned in a file outside
    tests/ (the Makefile's TEST_ENV), or a Dockerfile argument passed as one (BUILD_*)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    passed_as = {arg: name for name, arg in re.findall(r'(\w+)="\$(\w+)"', dockerfile)}
    names = {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"}
    assigned = re.compile(rf"\b({'|'.join(names | set(passed_as))})=([^\s\"'$<]+)")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    found: dict[str, set[str]] = {name: set() for name in names}
    for path in files.split():
        if path.startswith("tests/") or not (ROOT / path).is_file():
            continue
        for name, value in assigned.findall((ROOT / path).read_text(errors="replace")):
            found[passed_as.get(name, name)].add(value)
    found["DJANGO_SECRET_KEY"].discard(PLACEHOLDER_SECRET_KEY)  # refused everywhere
    return found


def test_the_list_of_published_keys_is_the_repositorys():
    """A sample key changed in the Makefile or the Dockerfile is refused in production too."""
    found = published_keys()
    assert all(found.values()), found  # the Makefile's and the Dockerfile's are read
    assert found == {name: set(keys) for name, keys in PUBLISHED_KEYS.items()}


@pytest.mark.parametrize(
    "name, key",
    [(name, key) for name, keys in PUBLISHED_KEYS.items() for key in sorted(keys)],
)
def test_production_refuses_a_key_the_repository_publishes(name, key):
    """A deployment with the tests' or the image build's key copied into .env started, its
    sessions and encrypted API keys open to anyone who read the repository."""
    assert load_settings(**{name: key}).returncode == 0  # make run's and the tests' profile
    stderr = refused_start(**{name: key, "DJANGO_PRODUCTION": "true"})
    assert f"{name} is {PUBLISHED_KEYS[name][key]}, published in enrich's repository" in stderr
    assert "Delete its line from .env and run scripts/init-env to generate one" in stderr
    if name == "FIELD_ENCRYPTION_KEY":  # deleting it first would lose what it encrypted
        rotate = stderr.index("keep it, put a new key first (FIELD_ENCRYPTION_KEY=<new>,<this")
        assert rotate < stderr.index("Delete its line"), stderr


def test_production_decrypts_with_a_published_key_while_rotating_away_from_it():
    (published, *_) = PUBLISHED_KEYS["FIELD_ENCRYPTION_KEY"]
    rotating = f"{GOOD['FIELD_ENCRYPTION_KEY']},{published}"
    result = load_settings(FIELD_ENCRYPTION_KEY=rotating, DJANGO_PRODUCTION="true")
    assert result.returncode == 0, result.stderr


def fernet_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize("production", [None, "true"])
@pytest.mark.parametrize(
    "raw, named",
    [
        pytest.param(bytes(32), "has 1 different byte;", id="32 zero bytes"),
        # Its base64 ("AQEB...") has 5 different characters: the bytes are counted.
        pytest.param(b"\x01" * 32, "has 1 different byte;", id="one byte 32 times"),
        pytest.param(bytes(range(4)) * 8, "has 4 different bytes;", id="4 bytes 8 times"),
    ],
)
def test_a_weak_encryption_key_is_refused_with_how_to_replace_it(raw, named, production):
    """A valid Fernet key of 32 zero bytes, or of a few bytes repeated, started (with the
    profile too) and encrypted every API key and token with a key anyone can guess."""
    for keys in (fernet_key(raw), f"{fernet_key(raw)},{GOOD['FIELD_ENCRYPTION_KEY']}"):
        stderr = refused_start(FIELD_ENCRYPTION_KEY=keys, DJANGO_PRODUCTION=production)
        assert f"FIELD_ENCRYPTION_KEY's first key {named} anyone can guess it." in stderr
        assert "put a new key first (FIELD_ENCRYPTION_KEY=<new>,<this one>)" in stderr
        assert "run scripts/init-env to generate one" in stderr


def test_a_weak_encryption_key_only_decrypting_loads_while_rotating_away_from_it():
    """Keys after the first only decrypt: rotate_field_key needs the weak one to re-encrypt."""
    rotating = f"{GOOD['FIELD_ENCRYPTION_KEY']},{fernet_key(bytes(32))}"
    result = load_settings(FIELD_ENCRYPTION_KEY=rotating, DJANGO_PRODUCTION="true")
    assert result.returncode == 0, result.stderr


def test_an_encryption_key_of_5_different_bytes_loads():
    """Django's bound for the secret key (security.W009), as DJANGO_SECRET_KEY's check."""
    result = load_settings(FIELD_ENCRYPTION_KEY=fernet_key(bytes(range(5)) * 6 + bytes(2)))
    assert result.returncode == 0, result.stderr


def test_the_checked_service_passwords_are_those_scripts_init_env_generates():
    init_env = (ROOT / "scripts" / "init-env").read_text()
    generated = re.findall(r'^ensure (\w+_PASSWORD) "\$\(token (\d+)\)"', init_env, re.M)
    assert {name for name, _ in generated} == set(SERVICE_PASSWORDS)
    # 24 random bytes, 32 url-safe characters
    assert all(int(size) * 4 // 3 >= MIN_SERVICE_PASSWORD_LENGTH for _, size in generated)


@pytest.mark.parametrize("name", SERVICE_PASSWORDS)
@pytest.mark.parametrize("production", ["true", None])
def test_a_short_password_of_the_compose_services_is_refused(name, production):
    """compose's ${VAR:?} refuses only an empty password: REDIS_PASSWORD=redis started a
    deployment without DJANGO_PRODUCTION (compose's plain HTTP on the LAN)."""
    long_enough = load_settings(**{name: "x1" * 6, "DJANGO_PRODUCTION": production})
    assert long_enough.returncode == 0, long_enough.stderr
    stderr = refused_start(**{name: "redis", "DJANGO_PRODUCTION": production})
    assert (
        f"{name} is 5 characters long; use at least 12 random ones. "
        "Delete its line from .env and run scripts/init-env to generate one." in stderr
    )


def test_production_does_not_check_an_external_services_password():
    """A managed database or Redis keeps the password its provider gave."""
    result = load_settings(
        DJANGO_PRODUCTION="true",
        DATABASE_URL="postgres://enrich:short@db.example.org:5432/enrich",
        REDIS_URL="redis://:short@cache.example.org:6379/0",
    )
    assert result.returncode == 0, result.stderr


SECURITY = (
    "[settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, "
    "settings.SECURE_SSL_REDIRECT, settings.SECURE_PROXY_SSL_HEADER, "
    "len(settings.AUTH_PASSWORD_VALIDATORS)]"
)


def test_production_profile_is_off_by_default_and_switched_on_by_one_variable():
    off = load_settings(show=SECURITY)
    assert off.returncode == 0, off.stderr
    # The password validators are on without the profile too (tests/test_password_checks.py).
    assert off.stdout.strip() == "[False, False, 0, False, None, 4]"
    on = load_settings(show=SECURITY, DJANGO_PRODUCTION="true")
    assert on.returncode == 0, on.stderr
    expected = "[True, True, 31536000, True, ('HTTP_X_FORWARDED_PROTO', 'https'), 4]"
    assert on.stdout.strip() == expected
    # Each part can be set on its own, and an explicit value wins over the profile.
    mixed = load_settings(
        show=SECURITY,
        DJANGO_PRODUCTION="true",
        DJANGO_HSTS_SECONDS="3600",
        DJANGO_SSL_REDIRECT="false",
    )
    assert (
        mixed.stdout.strip() == "[True, True, 3600, False, ('HTTP_X_FORWARDED_PROTO', 'https'), 4]"
    )

    # on/off, yes/no, 1/0 in any case; an empty value is the profile's.
    spelled = load_settings(show=SECURITY, DJANGO_PRODUCTION="On", DJANGO_SECURE_COOKIES=" ")
    assert spelled.stdout.strip() == expected, spelled.stderr
    off = load_settings(show=SECURITY, DJANGO_PRODUCTION="NO", DJANGO_HSTS_INCLUDE_SUBDOMAINS="0")
    assert off.stdout.strip() == "[False, False, 0, False, None, 4]", off.stderr


def test_a_list_setting_written_with_spaces_after_its_commas_holds_each_entry():
    """`a, b` is how people write a list; the entries kept their space (" enrich.example.org"),
    so the host was refused with a 400 telling to add it to DJANGO_ALLOWED_HOSTS, and a
    restore into the database listed second with one saying to add it to the list."""
    code = (
        "from django.conf import settings; from django.test import Client; "
        "from retention.archive.restore_target import restore_database; "
        "print(Client().get('/api/nope', HTTP_HOST='enrich.example.org').status_code, "
        "restore_database('restore_2023'), settings.CSRF_TRUSTED_ORIGINS)"
    )
    result = run_django(
        code,
        DJANGO_ALLOWED_HOSTS="localhost, enrich.example.org",
        RESTORE_ALLOWED_DATABASES="scratch, restore_2023,",
        DJANGO_CSRF_TRUSTED_ORIGINS=" https://enrich.example.org ,https://ha.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(" ", 2) == [
        "404",  # the API's "No endpoint at /api/nope", not the 400 of a host not allowed
        "restore_2023",
        "['https://enrich.example.org', 'https://ha.example.org']\n",
    ]


def test_the_s3_storage_classes_read_back_at_once_are_taken_and_listed_where_refused():
    """A typo (GLACIER-IR) started, then each archive run's first upload failed with the
    store's InvalidStorageClass. The refusal lists the classes taken, as docs/configuration.md
    does: botocore's, less the restore-only ones and those of FSx's and AWS Backup's data."""
    show = "settings.S3_STORAGE_CLASS, settings.S3_STORAGE_CLASS == ''"
    for raw, taken in ((" standard_ia ", "STANDARD_IA"), ("Glacier_IR", "GLACIER_IR")):
        result = load_settings(show=show, S3_STORAGE_CLASS=raw)
        assert result.stdout.split() == [taken, "False"], result.stderr
    # Empty sends no class: the store's default (STANDARD on AWS and MinIO), as before.
    assert load_settings(show=show, S3_STORAGE_CLASS="").stdout.split() == ["True"]
    listed = (
        "GLACIER_IR, STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, REDUCED_REDUNDANCY, "
        "EXPRESS_ONEZONE, OUTPOSTS, SNOW"
    )
    refused = refused_start(S3_STORAGE_CLASS="STANDRAD")
    assert "S3_STORAGE_CLASS='STANDRAD' is not an S3 storage class whose objects read back " in (
        refused
    )
    assert f"use one of {listed} (MinIO: STANDARD or REDUCED_REDUNDANCY)." in refused
    row = next(
        line
        for line in (ROOT / "docs/configuration.md").read_text().splitlines()
        if line.startswith("| `S3_STORAGE_CLASS`")
    )
    assert all(f"`{name}`" in row for name in listed.split(", ")), row
    # A class a new botocore adds is decided on here, not taken or refused unseen.
    model = botocore.session.get_session().get_service_model("s3")
    others = set(model.shape_for("StorageClass").enum) - set(listed.split(", "))
    backup = {"AWS_BACKUP_WARM", "AWS_BACKUP_LOW_COST_WARM"}
    assert others == {"GLACIER", "DEEP_ARCHIVE", "FSX_OPENZFS", "FSX_ONTAP"} | backup


def test_archive_local_dir_has_no_default_and_is_taken_from_the_project_root():
    unset = load_settings(show="settings.ARCHIVE_LOCAL_DIR")
    assert unset.stdout.strip() == "None", unset.stderr
    relative = load_settings(show="settings.ARCHIVE_LOCAL_DIR", ARCHIVE_LOCAL_DIR="var/archive")
    assert relative.stdout.strip() == str(ROOT / "var" / "archive")
    absolute = load_settings(show="settings.ARCHIVE_LOCAL_DIR", ARCHIVE_LOCAL_DIR="/data/archive")
    assert absolute.stdout.strip() == "/data/archive"


def test_a_copied_env_example_with_the_profile_on_gets_the_whole_profile(tmp_path):
    dotenv = tmp_path / ".env"
    example = (ROOT / ".env.example").read_text()
    assert "\nDJANGO_PRODUCTION=false\n" in example
    dotenv.write_text(example.replace("\nDJANGO_PRODUCTION=false\n", "\nDJANGO_PRODUCTION=true\n"))
    result = load_settings(show=SECURITY, ENRICH_ENV_FILE=str(dotenv))
    assert result.returncode == 0, result.stderr
    expected = "[True, True, 31536000, True, ('HTTP_X_FORWARDED_PROTO', 'https'), 4]"
    assert result.stdout.strip() == expected


def test_djangos_system_checks_find_nothing():
    # The test Celery workers skip them (CELERY_SKIP_CHECKS, tests/support/worker.py): this is
    # where they run. A warning fails too.
    out = StringIO()
    call_command("check", "--fail-level", "WARNING", stdout=out)
    assert "System check identified no issues" in out.getvalue()


def deploy_warnings(**env: str) -> set[str]:
    code = "from django.core.management import call_command; call_command('check', '--deploy')"
    result = run_django(code, **env)
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"\((security\.W\d+)\)", result.stderr))


def test_deploy_checklist_warns_only_where_the_docs_say_why():
    """`manage.py check --deploy` with the documented production .env: every warning left is
    named in docs/deployment.md with its reason; plain HTTP gets only the HTTPS ones."""
    production = documented_production_env()
    assert production["DJANGO_PRODUCTION"] == "true"
    # A key as scripts/init-env writes it (64 characters).
    production["DJANGO_SECRET_KEY"] = (
        "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:60]
    )
    with_profile = deploy_warnings(**production)
    assert with_profile == {"security.W005", "security.W021"}
    plain_http = deploy_warnings(**dict(production, DJANGO_PRODUCTION="false"))
    assert plain_http == {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    }
    # enrich accepts a key of 40 characters; Django's checklist asks for 50.
    short_key = deploy_warnings(**dict(production, DJANGO_SECRET_KEY="x1y2z3w4v5" * 4))
    assert short_key == with_profile | {"security.W009"}
    checklist = (ROOT / "docs" / "deployment.md").read_text().split("**Django's deployment")[1]
    for warning in with_profile | plain_http | short_key:
        assert f"`{warning}`" in checklist, warning


def test_manage_py_stops_on_a_bad_setting_with_its_message_and_no_traceback():
    # `make run` starts with manage.py migrate: a CACHE_TTL of 0 in .env printed forty lines
    # of Django's traceback, the one line naming the variable last.
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DATABASE_URL"}
    env.update(GOOD, CACHE_TTL_AIR_QUALITY_SECONDS="0")
    result = subprocess.run(
        [sys.executable, "manage.py", "bootstrap"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ImproperlyConfigured: CACHE_TTL_AIR_QUALITY_SECONDS=0 must be a whole number of "
        "seconds above 0.\n"
    )


BAD_TTL = "CACHE_TTL_AIR_QUALITY_SECONDS=0 must be a whole number of seconds above 0."


def started_with_a_bad_setting(*argv: str) -> subprocess.CompletedProcess:
    """`python -m <argv>` started as make run starts it, with CACHE_TTL_AIR_QUALITY_SECONDS=0."""
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DATABASE_URL"}
    env.update(GOOD, CACHE_TTL_AIR_QUALITY_SECONDS="0")
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ("celery", "-A", "config", "worker", "-Q", "default", "--pool", "solo"),
        ("celery", "-A", "config", "beat", "--pidfile=", "-s", "{folder}/schedule"),
    ],
    ids=["worker", "beat"],
)
def test_celery_stops_on_a_bad_setting_with_its_message_and_no_traceback(argv, tmp_path):
    # As manage.py: `celery -A config worker` printed Celery's command line's fifty lines of
    # traceback, the one line naming the variable last.
    argv = [arg.format(folder=tmp_path) for arg in argv]
    result = started_with_a_bad_setting(*argv)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"ImproperlyConfigured: {BAD_TTL}\n"


def test_gunicorn_stops_on_a_bad_setting_with_its_message_and_no_traceback(tmp_path):
    # Its worker printed Django's traceback, the message twice; gunicorn then stopped ("Worker
    # failed to boot"). It stops with the message once, in its own log lines.
    result = started_with_a_bad_setting(
        "gunicorn", "config.wsgi:application", "--workers", "1", "--bind", "127.0.0.1:0",
        "--pid", str(tmp_path / "pid"),
    )  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode != 0, said
    assert "Traceback" not in said, said
    assert said.count(BAD_TTL) == 1, said
    assert f"\nImproperlyConfigured: {BAD_TTL}\n" in said, said


def test_a_redis_url_naming_a_database_that_is_no_number_stops_the_start_naming_it():
    """The web app's caches, locks and budgets used database 0 (redis-py read "/enrich" so),
    and Celery refused the URL at each connection: no worker, no beat."""
    stderr = refused_start(REDIS_URL="redis://:s3cret@127.0.0.1:6379/enrich")
    assert (
        "ImproperlyConfigured: REDIS_URL='127.0.0.1:6379/enrich' is not usable: its database "
        "'enrich' is not a number: name one such as 0 or 3, or none (0) (e.g. "
        "redis://127.0.0.1:6379/0)."
    ) in stderr
    assert "s3cret" not in stderr


def test_a_wait_or_lifetime_too_long_to_use_stops_the_start_naming_its_bound():
    """Each request failed ("timestamp out of range for platform time_t"), as did a retry's
    countdown, each cache entry's write (Redis: "value is not an integer or out of range") and
    each login's lockout check ("Python int too large to convert to C int"): a 500 at every
    login, the start untroubled."""
    bounds = {
        "INFLUXDB_TIMEOUT": ("1e300", "above 0 and at most 86400"),
        "HTTP_TIMEOUT_SECONDS": ("86401", "above 0 and at most 86400"),
        "RETENTION_RETRY_SECONDS": ("1e308", "above 0 and at most 86400"),
        "CACHE_TTL_SMART_METER_SECONDS": ("9" * 20, "at most 31536000"),
        "ADMIN_LOGIN_COOLOFF_MINUTES": ("1e300", "at most 525600"),
    }
    for name, (value, said) in bounds.items():
        stderr = refused_start(**{name: value})
        assert (
            f"ImproperlyConfigured: {name}={value!r} is out of range: it must be {said}." in stderr
        )


def test_a_sqlite_url_names_a_file_from_the_project_root_and_never_memory(tmp_path):
    """sqlite:// (or sqlite://enrich.db, its host ignored) was each process's own empty database
    in memory: `migrate` migrated its own and every page of the web app failed ("no such
    table"). A relative path was the working directory's, another file for a command started
    elsewhere."""
    for url in ("sqlite://", "sqlite://enrich.sqlite3", "sqlite:///:memory:"):
        stderr = refused_start(DATABASE_URL=url)
        assert (
            "ImproperlyConfigured: DATABASE_URL names no database file (SQLite in memory is each "
            "process's own); examples: sqlite:////abs/path/db.sqlite3"
        ) in stderr
    show = "settings.DATABASES['default']['NAME']"
    elsewhere = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {SETTINGS}; "
         f"print({show})"],
        cwd=tmp_path, env=dict(os.environ, **GOOD, DATABASE_URL="sqlite:///var/x.sqlite3"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert elsewhere.stdout.strip() == str(ROOT / "var" / "x.sqlite3"), elsewhere.stderr


def test_a_host_or_origin_no_request_could_match_stops_the_start_naming_it():
    """Django matches a request's host with each of ALLOWED_HOSTS and a form's Origin header
    with each of CSRF_TRUSTED_ORIGINS as written: a URL among the hosts answered every request
    with a 400, an origin with a path (or without a scheme, where only `manage.py check` said
    so, naming CSRF_TRUSTED_ORIGINS) refused the form posts it was set for with a 403."""
    stderr = refused_start(DJANGO_ALLOWED_HOSTS="localhost, https://enrich.example.org")
    assert (
        "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS: 'https://enrich.example.org' is no host "
        "name: give names alone, comma-separated, e.g. enrich.example.org,.example.org (with "
        "its subdomains),[::1]; no scheme, port or path."
    ) in stderr
    assert "'enrich:8000' is no host name" in refused_start(DJANGO_ALLOWED_HOSTS="enrich:8000")
    for origin in ("https://enrich.example.org/enrich", "enrich.example.org", "https://u:p@e.org"):
        stderr = refused_start(DJANGO_CSRF_TRUSTED_ORIGINS=origin)
        assert (
            f"ImproperlyConfigured: DJANGO_CSRF_TRUSTED_ORIGINS: {origin!r} is no origin: give a "
            "scheme and host alone, comma-separated, e.g. https://enrich.example.org,"
            "https://*.example.org; no path."
        ) in stderr
    taken = load_settings(
        show="settings.ALLOWED_HOSTS, settings.CSRF_TRUSTED_ORIGINS",
        DJANGO_ALLOWED_HOSTS=".Example.org,*,[::1],192.168.1.20",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://*.example.org, http://[::1]:8000/",
    )
    assert taken.stdout.strip() == (
        "['.Example.org', '*', '[::1]', '192.168.1.20'] "
        "['https://*.example.org', 'http://[::1]:8000']"
    ), taken.stderr


def test_an_env_file_named_that_is_none_stops_the_start_naming_it(tmp_path):
    """A typo in ENRICH_ENV_FILE, or a volume not mounted, was read as an empty file: every
    setting it held was left out without a word, DJANGO_PRODUCTION=true among them."""
    for named in (tmp_path / "enrich.env", tmp_path):
        stderr = refused_start(ENRICH_ENV_FILE=str(named))
        assert (
            f"ImproperlyConfigured: ENRICH_ENV_FILE='{named}' names no file: give the path of "
            "the settings file (scripts/init-env FILE writes one), or none to read no file."
        ) in stderr
    (tmp_path / "enrich.env").write_text("DJANGO_PRODUCTION=true\n")
    read = load_settings(
        show="settings.SECURE_SSL_REDIRECT", ENRICH_ENV_FILE=str(tmp_path / "enrich.env")
    )
    assert read.stdout.strip() == "True", read.stderr


def test_a_login_in_a_url_that_has_its_own_variables_for_one_stops_the_start():
    """INFLUXDB_URL=http://admin:pw@influx:8086 started, and the password stood in every
    "Cannot reach InfluxDB at ..." message; a webhook relay's basic auth is taken (enrich's
    HTTP door scrubs it from what it logs)."""
    stderr = refused_start(INFLUXDB_URL="http://admin:s3cret@127.0.0.1:8186")
    assert (
        "ImproperlyConfigured: INFLUXDB_URL='127.0.0.1:8186' holds a login (user:password@), "
        "which every message naming the URL would show: give it without; the login is "
        "INFLUXDB_USERNAME and INFLUXDB_PASSWORD (2.x: INFLUXDB_TOKEN)."
    ) in stderr
    assert "s3cret" not in stderr
    assert "the login is HA_TOKEN." in refused_start(HA_URL="http://u:s3cret@ha.local:8123")
    assert "as none is needed." in refused_start(GOOGLE_API_BASE="https://u:p@www.googleapis.com")
    # The first start gives each provider its URL as options.base_url, which takes no login.
    stderr = refused_start(PROVIDER_BASE_URLS='{"awattar": "http://u:s3cret@proxy:8080"}')
    assert (
        "ImproperlyConfigured: PROVIDER_BASE_URLS: 'awattar': 'http://proxy:8080' holds a "
        "login (user:password@)"
    ) in stderr
    assert "s3cret" not in stderr
    relay = "https://enrich:s3cret@relay.example.org/hooks/enrich"
    taken = load_settings(show="settings.ALERT_WEBHOOK_URL", ALERT_WEBHOOK_URL=relay)
    assert taken.stdout.strip() == relay, taken.stderr


def test_a_url_whose_path_enrich_would_misread_stops_the_start_naming_it():
    """S3_ENDPOINT_URL's path was read as the bucket (NoSuchBucket at each weekly archive run),
    HA_URL's stood before the /api/ enrich adds (a 404 at each import), and Google sent the
    browser back after consent to a GOOGLE_REDIRECT_URI that was not enrich's callback."""
    stderr = refused_start(S3_ENDPOINT_URL="http://minio:9000/enrich-archive")
    assert (
        "ImproperlyConfigured: S3_ENDPOINT_URL='http://minio:9000/enrich-archive' names a path "
        "or query: give the address alone (e.g. http://minio:9000); leave it empty for AWS S3."
    ) in stderr
    assert "HA_URL='http://ha:8123/api' names a path" in refused_start(HA_URL="http://ha:8123/api")
    stderr = refused_start(GOOGLE_REDIRECT_URI="https://enrich.example.org/")
    assert (
        "GOOGLE_REDIRECT_URI='https://enrich.example.org/' must end with /oauth/google/callback, "
        "enrich's page there (e.g. https://enrich.example.org/oauth/google/callback); leave it "
        "empty to build it from the request."
    ) in stderr
    taken = load_settings(
        show="settings.HA_URL, settings.S3_ENDPOINT_URL, settings.GOOGLE_REDIRECT_URI",
        HA_URL="http://ha:8123/",
        S3_ENDPOINT_URL="http://minio:9000/",
        GOOGLE_REDIRECT_URI="https://e.org/enrich/oauth/google/callback",
    )
    assert taken.stdout.split() == [
        "http://ha:8123", "http://minio:9000/", "https://e.org/enrich/oauth/google/callback"
    ], taken.stderr  # fmt: skip
