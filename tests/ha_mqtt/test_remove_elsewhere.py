"""manage.py mqtt_remove_entities --url <another broker>: the entities an old broker still holds
(enrich moved to the broker of MQTT_URL) are removed there, with Redis out of reach too, and
what it prints names that broker (host and port: two brokers on one host are told apart) and
says nothing untrue about Redis: what enrich recorded of its publications is about MQTT_URL's
broker, never this one, so there is nothing in it to forget."""

from io import StringIO

import pytest
from django.core.management import call_command

from collectors.ha_mqtt.publisher import publish_all
from enrich.mqtt.broker import Broker, Endpoint
from enrich.mqtt.retained import retained_messages
from tests.ha_mqtt import homes
from tests.support.mosquitto import running
from tests.support.ports import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENTITIES = 7  # a site without providers: the storage and retention diagnostics


def test_all_on_another_broker_with_redis_out_of_reach(topics, settings, tmp_path):
    homes.home()
    with running("allow_anonymous true", tmp_path) as port:
        url = f"mqtt://127.0.0.1:{port}"
        old = Broker(url).start()
        assert old.wait_connected(10)
        assert publish_all(old, topics)["entities"] == ENTITIES
        old.stop()
        endpoint = Endpoint.parse(url)
        assert len(retained_messages(endpoint, f"{topics.discovery_prefix}/#", 10)) == ENTITIES
        redis, settings.REDIS_URL = settings.REDIS_URL, f"redis://127.0.0.1:{free_port()}/0"
        out, err = StringIO(), StringIO()
        try:
            call_command("mqtt_remove_entities", "--url", url, "--all", stdout=out, stderr=err)
        finally:
            settings.REDIS_URL = redis  # the test's own storage is cleaned up through it

        said = out.getvalue()
        assert said.startswith(
            f"{ENTITIES} entities of enrich under {topics.discovery_prefix}/ on 127.0.0.1:{port}, "
            f"{ENTITIES} to remove (--all).\n"
        ), said  # it read "…, 7 all."
        assert f"Removed {ENTITIES} entities" in said
        assert err.getvalue() == ""
        assert retained_messages(endpoint, f"{topics.discovery_prefix}/#", 10) == {}
        assert retained_messages(endpoint, f"{topics.root}/#", 10) == {}
