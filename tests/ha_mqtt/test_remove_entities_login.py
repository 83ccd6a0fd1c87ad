"""manage.py mqtt_remove_entities on a broker that asks a login, with no password on its
command line (which every user of the machine reads in `ps`): `--url` names the user, the
password comes from MQTT_PASSWORD. A password given in `--url` all the same is used, with a
warning on stderr."""

from io import StringIO

import pytest
from django.core.management import call_command

from collectors.ha_mqtt.publisher import publish_all
from enrich.mqtt.broker import Broker, Endpoint
from enrich.mqtt.retained import retained_messages
from tests.ha_mqtt import homes
from tests.support.mosquitto import PASSWORD, acl_file_broker

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENTITIES = 7  # a site without providers: the storage and retention diagnostics
WARNING = "Warning: --url holds a password, which every user of this machine can read"


def published(port: int, topics) -> Endpoint:
    """enrich's entities published on the broker at `port` by user enrich; its endpoint."""
    login = f"mqtt://enrich:{PASSWORD}@127.0.0.1:{port}"
    broker = Broker(login).start()
    try:
        assert broker.wait_connected(10)
        assert publish_all(broker, topics)["entities"] == ENTITIES
    finally:
        broker.stop()
    return Endpoint.parse(login)


def remove(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("mqtt_remove_entities", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("login", ["enrich", "enrich:"])  # "enrich:": an empty password
def test_the_password_comes_from_mqtt_password_not_the_command_line(
    topics, settings, tmp_path, login
):
    homes.home()
    settings.MQTT_PASSWORD = PASSWORD
    with acl_file_broker({"enrich": ["topic readwrite #"]}, tmp_path) as port:
        endpoint = published(port, topics)

        said, warned = remove("--all", "--url", f"mqtt://{login}@127.0.0.1:{port}")

        assert f"Removed {ENTITIES} entities" in said and warned == ""
        assert retained_messages(endpoint, f"{topics.discovery_prefix}/#", 10) == {}


def test_a_password_in_the_url_is_used_with_a_warning(topics, settings, tmp_path):
    homes.home()
    settings.MQTT_PASSWORD = ""
    with acl_file_broker({"enrich": ["topic readwrite #"]}, tmp_path) as port:
        published(port, topics)

        said, warned = remove(
            "--dry-run", "--all", "--url", f"mqtt://enrich:{PASSWORD}@127.0.0.1:{port}"
        )

    assert said.startswith(f"{ENTITIES} entities of enrich under "), said
    assert warned.startswith(WARNING) and "set MQTT_PASSWORD" in warned
    assert PASSWORD not in said + warned
