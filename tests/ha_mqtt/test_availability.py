"""Home Assistant's entities reflect whether enrich as a whole publishes, not whether one of
its processes lives: real publishing processes (each running what a Celery worker runs for
mqtt.publish_states) on the real broker, killed with SIGKILL one by one, and a real prefork
worker whose child is replaced after each task. What Home Assistant would show is computed
from the messages it would receive (tests.support.ha_discovery.availability_timeline)."""

import json
import time

import pytest

from collectors.ha_mqtt import tasks
from collectors.ha_mqtt.owner import instance_id, owner_topic
from config.celery import app
from enrich.mqtt.broker import current_broker
from enrich.redis.lock import RunLock
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL, Subscriber, process_env
from tests.ha_mqtt.processes import OFFLINE_AFTER, Publisher
from tests.support.ha_discovery import availability_timeline
from tests.support.worker import celery_worker, output

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]

# How long the tests watch after a process dies: a last will of its own would reach Home
# Assistant at once, the shared one after OFFLINE_AFTER seconds; two seconds more for the
# broker and a loaded machine.
WATCH = OFFLINE_AFTER + 2
# One publication, then another killed while it publishes (the hard time limit, out of memory,
# a restart), with the publication lock's expiry given (20 s in use).
HOLDER = """
import sys
import time
import django
django.setup()
from collectors.ha_mqtt import publisher, tasks
tasks.LOCK_TTL_SECONDS = float(sys.argv[1])
print(tasks.run()["status"], flush=True)
def publishing(*args):
    print("publishing", flush=True)
    time.sleep(3600)
publisher.publish_all = publishing
tasks.run()
"""
LOCK_TTL = 1.0


def entity_config(subscriber, topics, site) -> dict:
    node = f"{topics.root}_site_{site.pk}"
    topic = f"{topics.discovery_prefix}/sensor/{node}/carbon_intensity/config"
    assert subscriber.wait_for(lambda m: topic in m)
    return json.loads(subscriber.messages[topic])


def shown_available(config: dict, log: list) -> list[bool]:
    return availability_timeline(config, list(log))


def available_now(config: dict, log: list) -> bool:
    """Whether Home Assistant shows the entity available after the messages of `log` so far
    (not while none of its availability topics has arrived: the config comes first)."""
    return shown_available(config, log)[-1:] == [True]


def restarted_home_assistant_sees(config: dict, topics) -> bool:
    """What a Home Assistant that connects now shows, from the retained messages alone."""
    late = Subscriber(MQTT_TEST_URL, f"{topics.root}/#")
    try:
        wanted = {entry["topic"] for entry in config["availability"]}
        assert late.wait_for(lambda m: wanted <= set(m)), sorted(late.messages)
        return shown_available(config, late.log)[-1]
    finally:
        late.stop()


@pytest.fixture
def site(topics):
    home = homes.home()
    homes.carbon(home)
    return home


@pytest.fixture
def publisher():
    """`publisher(n)` starts n side by side (one by default), once each has published."""
    started: list[Publisher] = []

    def start(count: int = 1) -> list[Publisher]:
        new = [Publisher() for _ in range(count)]
        started.extend(new)
        assert [each.next_outcome() for each in new] == ["ok"] * count
        return new

    yield start
    for each in started:
        each.proc.kill()
        each.proc.wait(10)


def test_entities_stay_available_while_any_process_publishes(topics, subscriber, site, publisher):
    first, second = publisher(2)
    config = entity_config(subscriber, topics, site)
    assert subscriber.wait_for(lambda m: available_now(config, subscriber.log))

    # One process dies (a child at its hard time limit, a worker killed) while another goes
    # on, a new process starts, then the older one dies: Home Assistant never shows the entity
    # unavailable, not even for a moment. Each death is watched WATCH seconds at least (the
    # last one's from its kill, the first one's from before the new process started).
    seen = len(shown_available(config, subscriber.log))
    first.kill()
    [third] = publisher()
    second.kill()
    time.sleep(WATCH)
    assert False not in shown_available(config, subscriber.log)[seen:]
    assert restarted_home_assistant_sees(config, topics) is True
    # Nothing of the dead processes is left on the broker: besides the entities' topics,
    # enrich's only ones are its status and whose the root is (this enrich's, not a process's).
    entities = f"{topics.root}/site_{site.pk}/"
    own = {t for t in subscriber.messages if t.startswith(f"{topics.root}/")}
    assert {t for t in own if not t.startswith(entities)} == {
        topics.status,
        owner_topic(topics.root),
    }
    assert json.loads(subscriber.messages[owner_topic(topics.root)])["instance"] == instance_id()

    # The last one dies: after OFFLINE_AFTER seconds without a publication the broker tells
    # Home Assistant, and one that connects later sees it too (retained).
    third.kill()
    died = time.monotonic()
    assert subscriber.wait_for(lambda m: m.get(topics.status) == "offline", OFFLINE_AFTER + 15)
    assert time.monotonic() - died >= OFFLINE_AFTER - 1
    assert shown_available(config, subscriber.log)[-1] is False
    assert restarted_home_assistant_sees(config, topics) is False

    # enrich comes back: available again.
    publisher()
    assert subscriber.wait_for(lambda m: available_now(config, subscriber.log))


def test_a_worker_child_replaced_after_its_task_leaves_entities_available(
    topics, subscriber, site, publisher
):
    publisher()  # another worker's process, publishing on
    config = entity_config(subscriber, topics, site)
    assert subscriber.wait_for(lambda m: available_now(config, subscriber.log))
    seen = len(shown_available(config, subscriber.log))
    env = process_env(MQTT_OFFLINE_AFTER_SECONDS=str(OFFLINE_AFTER))
    # The publication the site's creation requested would take a child of its own first (one
    # more replacement, and the one most apt to wait out the pool's timer): drop it.
    app.control.purge()
    with celery_worker("recycled", pool="prefork", max_tasks_per_child=1, **env) as worker:
        # Each publication runs in a child that leaves cleanly after it (max-tasks-per-child):
        # the second starts only once the first child has gone.
        for _ in range(2):
            outcome = app.send_task("mqtt.publish_states").get(timeout=60)
            assert outcome["status"] in ("ok", "busy"), output(worker)
    # ... and then the whole worker stopped (a restart), while the other process goes on.
    time.sleep(OFFLINE_AFTER)
    assert False not in shown_available(config, subscriber.log)[seen:]
    assert subscriber.messages[topics.status] == "online"


def test_a_publication_killed_under_its_lock_holds_the_next_one_up_briefly(
    topics, subscriber, site, settings, monkeypatch
):
    """Its lock lapses LOCK_TTL seconds after its process died, not after the longest a
    publication may take: the next publication, from another process, publishes then, and
    the entities stay available throughout."""
    offline_after = 5  # room for the held lock, its lapse and a publication
    monkeypatch.setattr(tasks, "LOCK_TTL_SECONDS", LOCK_TTL)
    settings.MQTT_OFFLINE_AFTER_SECONDS = offline_after
    holder = Publisher(HOLDER, str(LOCK_TTL), offline_after=offline_after)
    try:
        assert holder.proc.stdout.readline() == b"ok\n"
        renewed = time.monotonic()  # enrich's presence, by that publication
        config = entity_config(subscriber, topics, site)
        assert subscriber.wait_for(lambda m: available_now(config, subscriber.log))
        seen = len(shown_available(config, subscriber.log))
        # Alive, a publication keeps its lock however long it takes ...
        assert holder.proc.stdout.readline() == b"publishing\n"
        time.sleep(LOCK_TTL * 1.5)
        lock = RunLock("mqtt_publish", topics.discovery_prefix, topics.root)
        assert lock.holder().startswith("mqtt.publish_states since ")
        # ... killed, it holds up the next one LOCK_TTL seconds at most.
        holder.proc.kill()  # SIGKILL
        holder.proc.wait(10)
        died = time.monotonic()
        assert tasks.run()["status"] == "ok"
        assert time.monotonic() - died < LOCK_TTL + 2  # the lapse, then one publication
        assert time.monotonic() - renewed < offline_after
    finally:
        holder.proc.kill()
        holder.proc.wait(10)
        if current_broker() is not None:
            current_broker().stop()
    time.sleep(max(renewed + offline_after + 2 - time.monotonic(), 0))  # past its will
    assert False not in shown_available(config, subscriber.log)[seen:]
    assert subscriber.messages[topics.status] == "online"
