"""A broker whose access control list (ACL) keeps enrich from reading what it must read
(docs/home_assistant.md, "What enrich may do on the broker"), on private Mosquitto brokers
with users: its ACL file (`acl_file`) grants the subscription and then delivers nothing; its
dynamic security plugin refuses the subscription in the SUBACK (0x80, MQTT 3.1.1). Either way
enrich names the topic the broker keeps from it and what to grant, and never takes a read it
was refused for "nothing retained": no root looks free, no cleanup finds nothing."""

import json
import logging
from collections.abc import Callable
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectors.ha_mqtt import found, owner
from collectors.ha_mqtt.publisher import publish_all
from collectors.management.commands import mqtt_remove_entities
from enrich.errors import Permanent
from enrich.mqtt.broker import Broker, Endpoint
from enrich.mqtt.retained import BrokerRefused, retained_messages
from tests.ha_mqtt import homes
from tests.support.doc_pages import ROOT
from tests.support.mosquitto import PASSWORD, acl_file_broker, dynsec_broker

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENTITIES = 7  # a site without providers: the storage and retention diagnostics
OTHER = {"host": "nas", "instance": "another-enrich"}


def url(port: int, user: str) -> str:
    return f"mqtt://{user}:{PASSWORD}@127.0.0.1:{port}"


def as_user(port: int, user: str, action: Callable[[Broker], object]) -> object:
    """`action` done with a connection of `user` (the broker's `admin` reads and writes
    everything)."""
    broker = Broker(url(port, user)).start()
    try:
        assert broker.wait_connected(10)
        return action(broker)
    finally:
        broker.stop()


def publish_as_enrich(port: int, topics, caplog) -> list[str]:
    """One publication by enrich's user, of every entity; what it warned about."""
    with caplog.at_level(logging.WARNING, logger="collectors.ha_mqtt"):
        outcome = as_user(port, "enrich", lambda broker: publish_all(broker, topics))
    assert outcome["entities"] == ENTITIES
    return [r.getMessage() for r in caplog.records if r.name == "collectors.ha_mqtt"]


def another_enrichs_root(port: int, root: str) -> None:
    def claim(broker: Broker) -> None:
        broker.publish(owner.owner_topic(root), json.dumps(OTHER))
        assert broker.flush(5)

    as_user(port, "admin", claim)


def admin(port: int) -> Endpoint:
    return Endpoint.parse(url(port, "admin"))


def docs_page() -> str:
    """docs/home_assistant.md, each run of whitespace one space (quotes wrap across lines)."""
    return " ".join((ROOT / "docs" / "home_assistant.md").read_text().split())


def acl_file(tmp_path, enrich: list[str]):
    return acl_file_broker({"admin": ["topic readwrite #"], "enrich": enrich}, tmp_path)


def dynsec(tmp_path, enrich: list[tuple[str, str]]):
    everything = [("publishClientSend", "#"), ("subscribePattern", "#")]
    return dynsec_broker({"admin": everything, "enrich": enrich}, tmp_path)


def test_the_access_the_docs_ask_for_is_enough(topics, tmp_path, caplog):
    granted = [f"topic readwrite {topics.root}/#", f"topic readwrite {topics.discovery_prefix}/#"]
    homes.home()
    with acl_file(tmp_path, granted) as port:
        publish_as_enrich(port, topics, caplog)
        assert owner.current_owner(admin(port), topics.root)["instance"] == owner.instance_id()
        out = StringIO()
        call_command("mqtt_remove_entities", "--dry-run", "--url", url(port, "enrich"), stdout=out)
        assert out.getvalue().startswith(f"{ENTITIES} entities of enrich under ")


# enrich may publish its configs under the discovery prefix but not read them; all under its root.
@pytest.mark.parametrize(
    ("kind", "rules"),
    [
        (
            acl_file,
            lambda t: [f"topic readwrite {t.root}/#", f"topic write {t.discovery_prefix}/#"],
        ),
        (
            dynsec,
            lambda t: [
                ("publishClientSend", f"{t.root}/#"),
                ("publishClientSend", f"{t.discovery_prefix}/#"),
                ("subscribePattern", f"{t.root}/#"),
            ],
        ),
    ],
    ids=["acl_file", "dynamic_security"],
)
def test_a_cleanup_that_may_not_read_the_configs_says_so_and_removes_nothing(
    kind, rules, topics, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(mqtt_remove_entities, "READ_SECONDS", 3.0)
    # The publication, finding no record in Redis, reads the configs the same way first.
    monkeypatch.setattr(found, "READ_SECONDS", 3.0)
    homes.home()
    prefix = topics.discovery_prefix
    with kind(tmp_path, rules(topics)) as port:
        publish_as_enrich(port, topics, caplog)
        configs = retained_messages(admin(port), f"{prefix}/#")
        assert len(configs) == ENTITIES

        with pytest.raises(CommandError) as refused:
            call_command("mqtt_remove_entities", "--all", "--url", url(port, "enrich"))

        said = str(refused.value)
        assert f"MQTT broker 127.0.0.1:{port} " in said
        assert "access control list (ACL)" in said
        assert "Nothing was read." in said
        assert f"Let user 'enrich' subscribe and publish to {prefix}/# in the broker's ACL" in said
        assert f"`topic readwrite {prefix}/#`" in said
        if kind is dynsec:
            assert f"refused to let user 'enrich' subscribe to {prefix}/# (reason code 0x80" in said
            # docs/home_assistant.md quotes it for the defaults.
            default = said.replace(f"127.0.0.1:{port}", "homeassistant.local:1883")
            assert default.replace(prefix, "homeassistant") in docs_page()
        else:
            assert "did not deliver enrich's own marker message" in said
        # Not one config was taken for gone, nor removed.
        assert retained_messages(admin(port), f"{prefix}/#") == configs


def test_a_root_enrich_may_only_publish_to_is_never_taken_for_free(
    topics, tmp_path, monkeypatch, caplog
):
    """Mosquitto's ACL file: the subscription to <root>/instance granted, nothing delivered."""
    # The publication's read of the owner waits the 2 s this test's own read waits, not its
    # READ_SECONDS (5 s) for the marker the ACL never delivers.
    monkeypatch.setattr(owner, "current_owner", partial(owner.current_owner, timeout=2))
    homes.home()
    root = topics.root
    rules = [f"topic write {root}/#", f"topic readwrite {topics.discovery_prefix}/#"]
    with acl_file(tmp_path, rules) as port:
        another_enrichs_root(port, root)
        endpoint = Endpoint.parse(url(port, "enrich"))
        with pytest.raises(BrokerRefused) as refused:
            owner.current_owner(endpoint, root, timeout=2)
        assert isinstance(refused.value, Permanent)
        said = str(refused.value)
        assert "did not deliver enrich's own marker message" in said
        assert f"does not let user 'enrich' read {root}/#" in said
        assert f"`topic readwrite {root}/#`" in said

        warned = publish_as_enrich(port, topics, caplog)
        assert owner.current_owner(admin(port), root) == OTHER  # not claimed
    said = next((m for m in warned if m.startswith(f"mqtt: could not read {root}/instance")), "")
    assert "publishing without claiming it" in said and "does not let user 'enrich' read" in said
    # docs/home_assistant.md quotes its start for the default root.
    start = said[: said.index(" MQTT broker ")].replace(root, "enrich")
    assert f"`{start}`" in docs_page()


def test_a_refused_subscription_to_the_owner_is_never_taken_for_free(topics, tmp_path, caplog):
    """The dynamic security plugin refuses the subscription to <root>/instance (SUBACK 0x80)
    while it lets the read's marker under the root through: the old read then found "no
    owner" and the publication claimed another enrich's root."""
    homes.home()
    root = topics.root
    rules = [
        ("publishClientSend", f"{root}/#"),
        ("subscribePattern", f"{root}/scan/#"),
        ("publishClientSend", f"{topics.discovery_prefix}/#"),
        ("subscribePattern", f"{topics.discovery_prefix}/#"),
    ]
    with dynsec(tmp_path, rules) as port:
        another_enrichs_root(port, root)
        warned = publish_as_enrich(port, topics, caplog)
        assert owner.current_owner(admin(port), root) == OTHER  # still the other enrich's
    assert any(
        f"refused to let user 'enrich' subscribe to {root}/instance (reason code 0x80" in m
        and "without claiming" in m
        for m in warned
    ), warned


def test_a_cleanup_whose_login_the_broker_refuses_says_so(topics, tmp_path):
    """A wrong password: the broker refuses the connection, not a subscription. It read
    "MQTT broker 127.0.0.1: could not subscribe (Not authorized)", without the port (two
    brokers on one host) and blaming a subscription."""
    with acl_file(tmp_path, ["topic readwrite #"]) as port:
        wrong = f"mqtt://enrich:not-the-password@127.0.0.1:{port}"
        with pytest.raises(CommandError) as refused:
            call_command("mqtt_remove_entities", "--dry-run", "--url", wrong)
    said = str(refused.value)
    assert said.startswith(f"MQTT broker 127.0.0.1:{port} refused the login of user 'enrich' ("), (
        said
    )
    assert "subscribe" not in said
