"""A line of `.env` left empty (`NAME=`) or holding only spaces, or a value with spaces around
it: a setting with a default takes its default, one whose empty value means "none" is empty,
and a value that cannot work stops the start naming the variable."""

import pytest

from tests.support.startup import load_settings, refused_start


# "   " was the broker: every worker, beat and queued task failed on it.
@pytest.mark.parametrize("variable", ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"])
def test_a_blank_broker_or_result_store_is_redis_url(variable):
    result = load_settings(
        show=f"settings.{variable}", REDIS_URL="redis://h:6379/3", **{variable: "   "}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://h:6379/3"


# VARIABLE=value: the start of the message that stops the start
REFUSED = {
    # Started, then every worker, beat and queued task failed on the broker.
    "CELERY_BROKER_URL=localhost:6379": "CELERY_BROKER_URL='localhost:6379' is not a URL",
    "CELERY_BROKER_URL=redis//127.0.0.1:6379/0": "CELERY_BROKER_URL='redis//127",
    "CELERY_BROKER_URL=nosuch://host/0": "CELERY_BROKER_URL='nosuch://host/0' is not a",
    "CELERY_BROKER_URL=redis://:secret@:6379/0": "CELERY_BROKER_URL=':6379/0' is not usable: it",
    "CELERY_BROKER_URL=redis://127.0.0.1:99999/0": "CELERY_BROKER_URL='redis://127.0.0.1:99",
    "CELERY_RESULT_BACKEND=127.0.0.1:6379": "CELERY_RESULT_BACKEND='127.0.0.1:6379' is not",
    "CELERY_RESULT_BACKEND=redis://h:0/1": "CELERY_RESULT_BACKEND='redis://h:0/1' is not usable",
}


@pytest.mark.parametrize("line", REFUSED)
def test_a_value_that_cannot_work_stops_the_start_naming_it(line):
    variable, value = line.split("=", 1)
    named = REFUSED[line]
    stderr = refused_start(**{variable: value})
    assert f"ImproperlyConfigured: {named}" in stderr
    assert "secret" not in stderr


def test_a_broker_and_result_store_celery_knows_are_taken_as_written():
    result = load_settings(
        show="settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND",
        CELERY_BROKER_URL=" amqp://guest:guest@rabbit:5672// ",
        CELERY_RESULT_BACKEND="rpc://",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "amqp://guest:guest@rabbit:5672// rpc://"
