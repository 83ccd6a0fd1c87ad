"""`mqtt.publish_states`: publish the Home Assistant entities (MQTT_URL set, else a no-op).

Requested after every collection that wrote data and every change of a site or provider
(collectors.ha_mqtt.signals), by beat every minute (so price-slot boundaries, the cheapest
window and the storage diagnostics move on their own), at worker start and after each
reconnect to the MQTT broker. Collection tasks only enqueue it: they never wait on MQTT.
"""

import logging

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_ready
from django.conf import settings
from kombu.exceptions import OperationalError

from collectors.ha_mqtt import owner, publisher
from collectors.ha_mqtt.discovery import Topics
from enrich.mqtt.broker import Broker, current_broker, get_broker
from enrich.redis.client import CONNECTION_ERRORS, RedisUnavailable, get_redis, make_key
from enrich.redis.lock import RunLock
from enrich.redis.outage import redis_outage

log = logging.getLogger("collectors.ha_mqtt")

# How long one run waits for the broker before giving up (the connection keeps trying in the
# background and a reconnect requests a new run).
CONNECT_WAIT_SECONDS = 3.0
# One publication at a time per topic root, so the reconcile step sees a settled set. Its lock
# lapses this long after its process stops renewing it (every quarter of it, for as long as the
# publication runs): a publication killed under it (the hard time limit, out of memory, a
# restart) holds up the next one this long at most, far less than MQTT_OFFLINE_AFTER_SECONDS.
LOCK_TTL_SECONDS = 20.0
# How long a publication waits for the one running for the same topic root: longer than
# LOCK_TTL_SECONDS, so one that waits behind a killed publication publishes after it lapses.
LOCK_WAIT_SECONDS = 30.0
# A publication that could not start within this is dropped: a newer one is always coming.
EXPIRES_SECONDS = 50
_needs_republish: set[int] = set()


def pending_key() -> str:
    topics = publisher.topics_from_settings()
    return make_key("mqtt_publish_pending", topics.discovery_prefix, topics.root)


def request_publish() -> None:
    """Enqueue a publication unless one is already waiting to start (a burst of writes costs
    one); never raises (a down Celery broker or Redis only costs this one request)."""
    if not settings.MQTT_URL:
        return
    try:
        if not get_redis().set(pending_key(), "1", nx=True, ex=EXPIRES_SECONDS + 10):
            return  # the waiting one has not started yet, so it will include this change
        publish_states.apply_async(expires=EXPIRES_SECONDS)
    except (OperationalError, *CONNECTION_ERRORS) as exc:
        log.warning("mqtt: could not request a publication (%s); beat will publish later", exc)


def _on_connect(broker: Broker):
    def connected(reconnected: bool) -> None:
        # After an outage (or a first connect no run waited for) everything is republished.
        if reconnected or id(broker) in _needs_republish:
            _needs_republish.discard(id(broker))
            request_publish()

    return connected


_watched: set[int] = set()


def connection() -> Broker:
    broker = get_broker(settings.MQTT_URL)
    if id(broker) not in _watched:
        _watched.add(id(broker))
        broker.on_connect(_on_connect(broker))
    return broker


def publication_lock(topics: Topics, owner: str) -> RunLock:
    """The lock of the publications under `topics`, one at a time; `manage.py
    mqtt_remove_entities` holds it too while it removes entities and forgets them."""
    return RunLock(
        "mqtt_publish", topics.discovery_prefix, topics.root,
        owner=owner, ttl_seconds=LOCK_TTL_SECONDS,
    )  # fmt: skip


def run() -> dict:
    if not settings.MQTT_URL:
        return {"status": "off"}
    broker = connection()
    if not broker.wait_connected(CONNECT_WAIT_SECONDS):
        _needs_republish.add(id(broker))
        log.warning(
            "mqtt: broker %s unreachable%s; publishing once it is back",
            broker.url,
            broker.unreachable(),
        )
        return {"status": "broker_unavailable"}
    topics = publisher.topics_from_settings()
    try:
        with redis_outage("mqtt", log, "nothing is published this time"):
            get_redis().delete(pending_key())  # changes from now on need a new publication
            lock = publication_lock(topics, "mqtt.publish_states")
            if not lock.acquire(wait_seconds=LOCK_WAIT_SECONDS):
                # Another live process is publishing (a killed one's lock lapsed within the
                # wait): its publication renews enrich's presence once the broker acknowledged it.
                return {"status": "busy"}
            with lock.kept_alive():
                return publisher.publish_all(broker, topics)
    except owner.RootTaken as exc:
        log.error("mqtt: %s", exc)
        return {"status": "root_taken", "detail": str(exc)}
    except RedisUnavailable:  # logged by redis_outage
        return {"status": "redis_unavailable"}


@shared_task(name="mqtt.publish_states", acks_late=True, soft_time_limit=90, time_limit=120)
def publish_states() -> dict:
    return run()


@worker_ready.connect
def _publish_at_start(**_) -> None:
    request_publish()


@worker_process_shutdown.connect
def _leave(**_) -> None:
    # A child recycled (max-tasks-per-child) or a worker stopped says nothing about enrich
    # being offline: other processes may go on publishing (collectors.ha_mqtt.publisher).
    broker = current_broker()
    if broker is not None:
        broker.stop()
