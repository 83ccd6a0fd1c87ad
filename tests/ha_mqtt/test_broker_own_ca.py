"""A broker over mqtts:// with a certificate the home signed itself (Home Assistant's Mosquitto
add-on with the home's own certificates): a private Mosquitto with a TLS listener, its
certificate signed by a CA made for the test. With MQTT_CA_CERT naming that CA, the publication
reaches a subscriber that verifies the broker with the same CA; without it, the publication
says the broker's certificate could not be verified and names MQTT_CA_CERT, as do the commands
and the reads of retained messages."""

import logging
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectors.ha_mqtt import owner, tasks
from enrich.mqtt.broker import Endpoint, current_broker
from enrich.mqtt.retained import BrokerOutOfReach
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import Subscriber
from tests.support.mosquitto import running
from tests.support.tls import OwnCa, own_ca

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENTITIES = 7  # a site without providers: the storage and retention diagnostics
NAMED = "set MQTT_CA_CERT to the PEM file of the certificate authority that signed it"


@pytest.fixture
def home_ca(tmp_path) -> OwnCa:
    return own_ca(tmp_path / "ca")


@pytest.fixture
def tls_broker(topics, settings, home_ca, tmp_path) -> Iterator[str]:
    """The URL of a private broker answering only over TLS, the settings' MQTT_URL."""
    options = (
        f"allow_anonymous true\ncafile {home_ca.ca}\ncertfile {home_ca.certificate}\n"
        f"keyfile {home_ca.key}"
    )
    with running(options, tmp_path) as port:
        settings.MQTT_URL = f"mqtts://localhost:{port}"
        yield settings.MQTT_URL
        broker = current_broker()
        if broker is not None:
            broker.stop()


def test_with_mqtt_ca_cert_the_discovery_reaches_a_subscriber_over_tls(
    tls_broker, topics, settings, home_ca
):
    settings.MQTT_CA_CERT = str(home_ca.ca)
    site = homes.home()
    watcher = Subscriber(
        tls_broker, f"{topics.discovery_prefix}/#", f"{topics.root}/#", ca=str(home_ca.ca)
    )
    try:
        assert tasks.run() == {"status": "ok", "entities": ENTITIES, "removed": 0}
        assert watcher.wait_for(lambda m: m.get(topics.status) == "online")
        configs = [t for t in watcher.messages if t.startswith(f"{topics.discovery_prefix}/")]
        assert len(configs) == ENTITIES
        assert any(f"site_{site.pk}" in topic for topic in configs)
    finally:
        watcher.stop()
    # The reads of retained messages (whose root this is) verify with it too.
    endpoint = Endpoint.parse(tls_broker)
    assert owner.current_owner(endpoint, topics.root)["instance"] == owner.instance_id()


def test_without_mqtt_ca_cert_the_publication_names_it(tls_broker, topics, settings, caplog):
    settings.MQTT_CA_CERT = ""
    homes.home()
    with caplog.at_level(logging.WARNING, logger="collectors.ha_mqtt"):
        assert tasks.run() == {"status": "broker_unavailable"}
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "collectors.ha_mqtt")
    assert "the broker's TLS certificate could not be verified" in said
    assert NAMED in said
    with pytest.raises(BrokerOutOfReach, match=NAMED):
        owner.current_owner(Endpoint.parse(tls_broker), topics.root)
    with pytest.raises(CommandError, match=NAMED):
        call_command("mqtt_take_root")
