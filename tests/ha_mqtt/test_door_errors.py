"""The MQTT door's errors are `Transient` or `Permanent` like every other door's
(docs/architecture.md, enrich/errors.py): a broker out of reach may answer later; an MQTT_URL
that is no URL will not, whatever is retried."""

import pytest

from enrich.errors import Permanent, Transient
from enrich.mqtt.broker import BadMqttUrl, Endpoint
from enrich.mqtt.retained import RetainedReadError, retained_messages
from tests.support.ports import free_port


def test_a_broker_out_of_reach_is_transient():
    endpoint = Endpoint.parse(f"mqtt://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(RetainedReadError) as failed:
        retained_messages(endpoint, "homeassistant/#", timeout=5)
    assert isinstance(failed.value, Transient) and not isinstance(failed.value, Permanent)
    assert "Connection refused" in str(failed.value)


@pytest.mark.parametrize("url", ["http://broker:1883", "mqtt://broker:port"])
def test_an_mqtt_url_that_is_none_is_permanent(url):
    with pytest.raises(BadMqttUrl) as refused:
        Endpoint.parse(url)
    assert isinstance(refused.value, Permanent) and not isinstance(refused.value, Transient)
