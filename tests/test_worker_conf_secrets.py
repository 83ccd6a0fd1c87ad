"""What a worker answers Celery's `conf` inspect command, which Flower shows in a worker's
Config tab to whoever has its login: Celery's own settings, no secret of enrich's. The app was
configured from all of Django's settings, and Celery masks only names it knows as secret
(`...PASS...`, `...KEY...`): MQTT_URL's and REDIS_URL's passwords, ALERT_WEBHOOK_URL's id
(anyone holding it triggers the Home Assistant automation) and CELERY_BROKER_URL's password
were listed in clear."""

import json

import pytest
from celery import Celery

from config.celery import CelerySettings, app
from tests.support.ports import free_port
from tests.support.worker import celery_worker, until

SECRETS = {
    "MQTT_URL": f"mqtt://enrich:mqtt-secret-7f3a@127.0.0.1:{free_port()}",
    "ALERT_WEBHOOK_URL": "http://127.0.0.1:8123/api/webhook/hook-secret-91c2",
}


@pytest.mark.django_db(transaction=True)
def test_a_workers_configuration_as_flower_shows_it_holds_no_secret():
    with celery_worker("conf-secrets", **SECRETS) as worker:
        inspect = app.control.inspect([worker.node], timeout=2)
        shown = until(lambda: (inspect.conf() or {}).get(worker.node), worker)
    text = json.dumps(shown)
    assert "mqtt-secret-7f3a" not in text and "hook-secret-91c2" not in text, text
    assert shown["task_time_limit"] == 360 and shown["task_soft_time_limit"] == 300
    assert "MQTT_URL" not in shown and "DATABASES" not in shown  # Django's settings: not Celery's


def test_the_brokers_password_is_masked_in_the_configuration(settings):
    # An app of the test's own, configured as config.celery's: the tests set that one's
    # broker_url to their own Redis database (tests/support/xdist.py), over the settings'.
    settings.CELERY_BROKER_URL = "redis://:redis-secret-5d1e@127.0.0.1:6379/2"
    fresh = Celery("conf-secrets", set_as_current=False)
    fresh.config_from_object(CelerySettings())
    shown = fresh.conf.table()
    assert "redis-secret-5d1e" not in json.dumps(shown, default=str)
    assert shown["broker_url"] == "redis://:********@127.0.0.1:6379/2"
