"""DATABASE_URL's and REDIS_URL's query options are checked at start, against tables tied here to
the clients that read them: libpq (through psycopg) and redis-py. A bad option passed the
settings, then `migrate` stopped on psycopg's traceback ("invalid sslmode value") and every worker
on redis-py's or kombu's ("unexpected keyword argument 'dbb'")."""

import os

import psycopg
import pytest
import redis
from django.db import connection, connections
from kombu import Connection
from psycopg import pq
from redis.connection import URL_QUERY_ARGUMENT_PARSERS, ConnectionPool, to_bool

from config.url_options import (
    DJANGO_PG_OPTIONS,
    FALSE_WORDS,
    KOMBU_REDIS_OPTIONS,
    LIBPQ_OPTIONS,
    REDIS_OPTIONS,
    SSLMODES,
    TRUE_WORDS,
    broker_options_problem,
    postgres_options_problem,
    redis_options_problem,
)
from tests.support.startup import load_settings, refused_start

PG = "postgres://enrich:enrich@127.0.0.1:5432/enrich"
REDIS = "redis://127.0.0.1:6379/0"
LIBPQ_LIST = "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS"
ON_REDIS = (
    "db, socket_timeout, socket_connect_timeout, socket_read_size, socket_keepalive, "
    "retry_on_timeout, max_connections, health_check_interval, protocol, legacy_responses, "
    "client_name, username, password"
)


def test_a_database_url_option_postgresql_does_not_take_stops_the_start_naming_it():
    for query, problem in {
        "sslmode=requir": "its sslmode 'requir'",
        "sslmode=true": "its sslmode 'true'",
    }.items():
        assert (
            f"ImproperlyConfigured: DATABASE_URL is not usable: {problem} is none of PostgreSQL's: "
            "use disable, allow, prefer, require, verify-ca, verify-full.\n"
        ) in refused_start(DATABASE_URL=f"{PG}?{query}")
    stderr = refused_start(DATABASE_URL="postgres://enrich:s3cret@db:5432/enrich?sslmod=require")
    assert stderr.endswith(
        "ImproperlyConfigured: DATABASE_URL is not usable: its option 'sslmod' is not a "
        f"PostgreSQL connection parameter (libpq's list: {LIBPQ_LIST}).\n"
    )
    assert "s3cret" not in stderr


def test_a_database_url_with_options_postgresql_takes_is_accepted():
    for query in (
        "sslmode=require",
        "sslmode=verify-full&sslrootcert=/etc/ssl/root.crt&connect_timeout=5",
        "options=-c%20statement_timeout%3D5000&application_name=enrich",
        "isolation_level=3&conn_max_age=30",  # Django's own
    ):
        result = load_settings(
            DATABASE_URL=f"{PG}?{query}", show="settings.DATABASES['default']['OPTIONS']"
        )
        assert result.returncode == 0, result.stderr


def test_another_databases_options_are_its_own():
    mysql = {"ENGINE": "django.db.backends.mysql", "OPTIONS": {"charset": "utf8mb4"}}
    assert postgres_options_problem(mysql) == ""
    assert postgres_options_problem({**mysql, "ENGINE": "django.db.backends.postgresql"})


def test_the_libpq_table_is_the_libpq_psycopg_brings():
    assert {opt.keyword.decode() for opt in pq.Conninfo.get_defaults()} == LIBPQ_OPTIONS


def test_djangos_own_options_never_reach_libpq():
    params = type(connections["default"])(
        {**connection.settings_dict, "OPTIONS": dict.fromkeys(DJANGO_PG_OPTIONS, "1")}
    ).get_connection_params()
    assert not set(params) & DJANGO_PG_OPTIONS - {"prepare_threshold"}  # psycopg.connect's own


@pytest.mark.parametrize("sslmode", SSLMODES)
def test_each_sslmode_taken_is_one_libpq_takes(sslmode):
    # require and verify-* fail to connect to the tests' PostgreSQL without TLS, not on the value.
    db = connection.settings_dict
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
            dbname=db["NAME"], sslmode=sslmode, connect_timeout=5,
        ).close()  # fmt: skip
    except psycopg.OperationalError as exc:
        assert "invalid sslmode value" not in str(exc)


def test_libpq_refuses_an_sslmode_the_settings_refuse():
    with pytest.raises(psycopg.OperationalError, match='invalid sslmode value: "requir"'):
        psycopg.connect(host="127.0.0.1", dbname="enrich", sslmode="requir")


def test_a_redis_url_option_redis_py_does_not_take_stops_the_start_naming_it():
    for query, problem in {
        "socket_timeout=abc": "its option socket_timeout='abc' is not valid: give a number, e.g. "
        "1.5",
        "db=1&retry_on_timeout=off": "its option retry_on_timeout='off' is not valid: give true "
        "or false (also 1/0, yes/no)",
        "protocol=4": "its option protocol='4' is not valid: give 2 or 3",
        "dbb=2": f"its option 'dbb' is none redis-py takes in a redis:// URL: {ON_REDIS}",
        "ssl_cert_reqs=required": "its option 'ssl_cert_reqs' is none redis-py takes in a "
        "redis:// URL",
    }.items():
        stderr = refused_start(REDIS_URL=f"redis://:s3cret@127.0.0.1:6379/0?{query}")
        assert f"ImproperlyConfigured: REDIS_URL is not usable: {problem}" in stderr
        assert "s3cret" not in stderr
    # Celery's result store takes CERT_REQUIRED; redis-py, enrich's client, only the lower case.
    stderr = refused_start(REDIS_URL="rediss://127.0.0.1:6379/0?ssl_cert_reqs=CERT_REQUIRED")
    assert stderr.endswith(
        "ImproperlyConfigured: REDIS_URL is not usable: its option ssl_cert_reqs='CERT_REQUIRED' "
        "is not valid: give none, optional or required.\n"
    )


KOMBU_TAKES = (
    "heartbeat, insist, login_method, ssl_cert_reqs, ssl_check_hostname, ssl_ca_certs, "
    "ssl_ca_path, ssl_certfile, ssl_keyfile, ssl_password, ssl_ciphers"
)


def test_a_redis_url_option_celerys_broker_refuses_needs_a_broker_url_of_its_own():
    """CELERY_BROKER_URL empty, the broker takes REDIS_URL, and kombu refuses redis-py's
    options: every worker and beat stopped on a traceback."""
    stderr = refused_start(REDIS_URL=f"{REDIS}?socket_timeout=5")
    assert stderr.endswith(
        "ImproperlyConfigured: REDIS_URL is not usable as Celery's broker, which takes it while "
        "CELERY_BROKER_URL is empty: its option 'socket_timeout' is none Celery's broker (kombu) "
        f"takes in a URL: {KOMBU_TAKES}. Set CELERY_BROKER_URL to the URL without it, e.g. "
        "redis://127.0.0.1:6379/0.\n"
    )
    stderr = refused_start(CELERY_BROKER_URL="redis://:s3cret@broker:6379/0?connect_timeout=5")
    assert stderr.endswith(
        "ImproperlyConfigured: CELERY_BROKER_URL is not usable: its option 'connect_timeout' is "
        f"none Celery's broker (kombu) takes in a URL: {KOMBU_TAKES}.\n"
    )
    assert "s3cret" not in stderr
    for overrides in (
        {
            "REDIS_URL": f"{REDIS}?socket_timeout=5&retry_on_timeout=true",
            "CELERY_BROKER_URL": REDIS,
        },
        {"REDIS_URL": "rediss://127.0.0.1:6379/0?ssl_cert_reqs=required&ssl_check_hostname=no"},
        {"REDIS_URL": "unix:///run/redis.sock?db=2"},
        {"CELERY_BROKER_URL": f"{REDIS}?heartbeat=10", "CELERY_RESULT_BACKEND": "rpc://"},
        {"CELERY_BROKER_URL": "amqp://guest@rabbit:5672//?heartbeat=10"},
    ):
        result = load_settings(show="settings.REDIS_URL", **overrides)
        assert result.returncode == 0, result.stderr


def test_kombu_takes_the_broker_options_taken_and_refuses_redis_pys():
    """Against the tests' Redis: kombu's channel pings it."""
    tls = {name for name, (_, schemes) in REDIS_OPTIONS.items() if schemes == ("rediss",)}
    assert set(KOMBU_REDIS_OPTIONS) - tls == {"heartbeat", "insist", "login_method"}
    url = os.environ["REDIS_URL"]
    for name in ("heartbeat", "insist", "login_method"):
        assert broker_options_problem(f"{url}?{name}=1") == ""
        with Connection(f"{url}?{name}=1") as broker:
            assert broker.default_channel.client.ping()
    for name in ("socket_timeout", "connect_timeout", "db", "ssl_min_version"):
        assert broker_options_problem(f"{url}?{name}=5")
        with pytest.raises(TypeError), Connection(f"{url}?{name}=5") as broker:
            broker.default_channel.client.ping()


GOOD = {
    "flags": "VERIFY_X509_STRICT,VERIFY_CRL_CHECK_LEAF",
    "whole": "2",
    "number": "1.5",
    "yes/no": "true",
    "2 or 3": "3",
    "text": "x",
}
GOOD["none, optional or required"] = "required"
BAD = {
    "flags": "VERIFY_X509",
    "whole": "two",
    "number": "abc",
    "2 or 3": "4",
    "none, optional or required": "bogus",
}
URLS = {"redis": "redis://127.0.0.1:6379/0", "rediss": "rediss://h:6380/0", "unix": "unix:///s"}


def test_the_redis_table_holds_redis_pys_url_options_but_two_no_url_can_use():
    assert set(URL_QUERY_ARGUMENT_PARSERS) - set(REDIS_OPTIONS) == {"retry_on_error", "timeout"}


@pytest.mark.parametrize("name", REDIS_OPTIONS)
def test_each_redis_option_is_taken_by_redis_py_where_the_table_takes_it(name):
    """A connection is made, not opened: redis-py refuses an unknown name or a bad value there."""
    kind, schemes = REDIS_OPTIONS[name]
    for scheme, url in URLS.items():
        option = f"{url}?{name}={GOOD[kind]}"
        if scheme in schemes:
            assert redis_options_problem(option) == ""
            ConnectionPool.from_url(option).make_connection()
        else:
            assert redis_options_problem(option)
            with pytest.raises(TypeError, match=f"unexpected keyword argument '{name}'"):
                ConnectionPool.from_url(option).make_connection()
    if kind in BAD:
        bad = f"{URLS[schemes[-1]]}?{name}={BAD[kind]}"
        assert redis_options_problem(bad)
        with pytest.raises((ValueError, redis.RedisError)):
            ConnectionPool.from_url(bad).make_connection()


def test_the_yes_no_words_taken_mean_what_redis_py_reads():
    assert [to_bool(word) for word in FALSE_WORDS + TRUE_WORDS] == [False] * 5 + [True] * 5
    assert to_bool("off") is True  # refused: redis-py reads it as yes


def test_an_unknown_redis_option_is_refused_by_redis_py_too():
    assert redis_options_problem(f"{REDIS}?dbb=2")
    with pytest.raises(TypeError, match="unexpected keyword argument 'dbb'"):
        ConnectionPool.from_url(f"{REDIS}?dbb=2").make_connection()
