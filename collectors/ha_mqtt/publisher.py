"""Publish every site's entities: retained discovery configs, states, attributes, availability.

Each run publishes the full current picture (configs are idempotent and retained, states are
recomputed), so a run after a broker outage loses nothing. A run the broker acknowledged
renews enrich's `online` status (enrich.mqtt.presence), which turns `offline` when no process
has published for MQTT_OFFLINE_AFTER_SECONDS. Removal is a reconcile step: the
config topics published are kept in Redis (added before a run hands them to the broker, so a
run killed or cut off midway leaves none unknown; with that record lost, the configs the broker
retains under the root stand in for it, collectors.ha_mqtt.found); those no longer wanted (site deleted or
disabled, provider removed or disabled, a circuit gone, a flexible load deleted or disabled)
get an empty retained config, which makes Home Assistant remove the entity, and the next
publication clears their retained state topics (kept in Redis meanwhile, `clear_key`): Home
Assistant unsubscribes from an entity's topics only once it has handled its empty config, so
clears sent in the same burst would reach it and each be logged as a bad message. A meter's circuit or phantom load without a value now, while the meter
itself is still published, is not gone yet (Home Assistant's sensor unavailable for a poll, a
Vue channel missing from an answer): it stays, unavailable, until it has had no value for
GONE_AFTER (the time each entity was last published with a value is kept beside the set). The
starts published are kept beside that set, so the next publication can hold a run's start
while running now is best (`collectors.ha_mqtt.held`).
"""

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings

from collectors.ha_mqtt import found, owner
from collectors.ha_mqtt.discovery import OFFLINE, ONLINE, Topics, config_payload
from collectors.ha_mqtt.entities import site_states
from collectors.ha_mqtt.held import HeldStarts
from collectors.ha_mqtt.kept import kept_unit, retained_config
from collectors.ha_mqtt.loads import load_states
from collectors.ha_mqtt.storage import storage_states
from enrich.api import influx_down
from enrich.models import Site
from enrich.mqtt import presence
from enrich.mqtt.broker import Broker
from enrich.mqtt.retained import RetainedReadError
from enrich.public_url import status_page_url
from enrich.redis.cache import ResponseCache
from enrich.redis.client import get_redis, make_key
from enrich.wording import counted

log = logging.getLogger("collectors.ha_mqtt")

FLUSH_SECONDS = 10.0
# A meter's circuit (or phantom load) without a value for this long is gone: its entity is
# removed. Shorter gaps (a sensor unavailable, a device offline overnight) show it unavailable.
GONE_AFTER = timedelta(hours=24)
METER_KEYS = ("circuit_", "phantom_load_")
STATE_PARTS = ("state", "attributes", "availability")


def topics_from_settings() -> Topics:
    return Topics(settings.MQTT_DISCOVERY_PREFIX, settings.MQTT_TOPIC_ROOT)


def published_key(topics: Topics) -> str:
    """Redis hash: config topic -> the entity's topic base, of what was published last."""
    return make_key("mqtt_published", topics.discovery_prefix, topics.root)


def seen_key(topics: Topics) -> str:
    """Redis hash: config topic -> when the entity was last published with a value (ISO)."""
    return make_key("mqtt_seen", topics.discovery_prefix, topics.root)


def meter_gaps(
    topics: Topics, missing: dict[str, str], wanted: dict[str, str], seen: dict[str, str],
    now: datetime,
) -> dict[str, str]:  # fmt: skip
    """The `missing` entities (config topic -> base) that are a meter's circuits or phantom
    loads whose meter is still published (its site's `power` entity) and that had a value
    less than GONE_AFTER ago: they stay, unavailable. One never seen with a value is as seen
    now (published before this was recorded)."""
    bases = set(wanted.values())
    kept = {}
    for topic, base in missing.items():
        site, _, key = base.removeprefix(f"{topics.root}/").partition("/")
        if not key.startswith(METER_KEYS) or f"{topics.root}/{site}/power" not in bases:
            continue
        last = datetime.fromisoformat(seen[topic]) if topic in seen else now
        if now - last < GONE_AFTER:
            kept[topic] = base
    return kept


def forget(topics: Topics, config_topics: list[str]) -> None:
    """Drop entities removed from the broker from the record of what was published under
    `topics`: a circuit removed while its day's grace runs (GONE_AFTER) would otherwise be
    published again, unavailable, by the next publication."""
    if config_topics:
        redis = get_redis()
        redis.hdel(published_key(topics), *config_topics)
        redis.hdel(seen_key(topics), *config_topics)


def clear_key(topics: Topics) -> str:
    """Redis set: the topic bases of the entities the last publication removed, whose state,
    attributes and availability topics the next one clears (lost with Redis's data, they stay
    retained, harmless: no config names them)."""
    return make_key("mqtt_clear_next", topics.discovery_prefix, topics.root)


def held_starts_key(topics: Topics) -> str:
    """Redis hash: `<site id>/<entity key>` -> the start published last time (held)."""
    return make_key("mqtt_starts", topics.discovery_prefix, topics.root)


def desired_messages(
    topics: Topics,
    now: datetime,
    held: HeldStarts | None = None,
    kept: Callable[[str], dict[str, Any] | None] | None = None,
) -> tuple[dict[str, str], list[tuple[str, str]], set[int]]:
    """({config topic: entity topic base}, [(topic, payload), ...], ids of the sites whose
    meter could not be read now) for every enabled site; `held` gets the starts published.
    An entity whose config cannot be made now (EntityState.keep_config) is made with the unit
    of the config `kept` finds retained (collectors.ha_mqtt.kept), left out where none is,
    and published without a config where `kept` cannot read it or is None."""
    cache = ResponseCache()
    diagnostics = storage_states()
    wanted: dict[str, str] = {}
    messages: list[tuple[str, str]] = []
    unread: set[int] = set()
    link = status_page_url()
    for site in Site.objects.filter(enabled=True).order_by("id"):
        states, problem = site_states(
            site,
            cache,
            now,
            window_hours=settings.MQTT_CHEAPEST_WINDOW_HOURS,
            meter_stale_after=2 * settings.CACHE_TTL_SECONDS["smart_meter"],
            diagnostics=diagnostics,
            held=held,
        )
        if problem is not None:
            # Its meter's circuits and phantom loads cannot be read: what the site had stays
            # (publish_all shows those unavailable), the rest is published as for any site.
            if not influx_down.kept(problem):
                log.warning(
                    "mqtt: site %s keeps its meter's entities (InfluxDB: %s)", site.pk, problem
                )
            unread.add(site.pk)
            if held is not None:
                held.keep_site(site.pk)
        states += load_states(site, now, held)
        for entity in states:
            config_topic = topics.config(site.pk, entity.spec)
            if config_topic in wanted:
                continue  # one key twice (meter names that slug alike are kept distinct)
            spec, made = entity.spec, not entity.keep_config
            if entity.keep_config and kept is not None:
                retained = _retained(kept, config_topic)
                if retained is None:
                    continue  # Home Assistant has no such entity: nothing to keep or hide
                if unit := kept_unit(retained):
                    spec, made = replace(spec, unit=unit), True
            wanted[config_topic] = topics.base(site.pk, spec.key)
            state, attributes, availability = topics.entity_topics(site.pk, spec.key)
            if made:
                config = config_payload(topics, site.pk, site.name, spec, link)
                messages.append((config_topic, _json(config)))
            messages.append((attributes, _json(entity.attributes)))
            if entity.state is not None:
                messages.append((state, entity.state))
            messages.append((availability, OFFLINE if entity.state is None else ONLINE))
    return wanted, messages, unread


def _retained(
    kept: Callable[[str], dict[str, Any] | None], config_topic: str
) -> dict[str, Any] | None:
    """The config retained at `config_topic`; {} when it cannot be read (Home Assistant may
    have the entity: it is published unavailable, without a config)."""
    try:
        return kept(config_topic)
    except RetainedReadError as exc:
        log.warning("mqtt: %s cannot be read, so it stays as it is: %s", config_topic, exc)
        return {}


def unread_key(topics: Topics) -> str:
    """Redis: the kind of error the publications last met reading InfluxDB (none: they read it)."""
    return make_key("mqtt_influx_unread", topics.discovery_prefix, topics.root)


def say_unread(topics: Topics, problems: list[Exception]) -> None:
    """Log it once when the publications cannot read InfluxDB (again when the kind of error
    changes), and once when they read it again: each publication meets the error once per
    load, site and source, every minute; the entities say why in Home Assistant meanwhile."""
    turn = influx_down.turned(unread_key(topics), problems[0] if problems else None)
    if turn == influx_down.BACK:
        log.info("mqtt: InfluxDB answers again; the entities show its data")
    elif turn == influx_down.DOWN:
        log.error(
            "mqtt: InfluxDB cannot be read: %s. Until it answers again the entities that need "
            "it show why (state unknown or unavailable, a `reason` attribute), and this is not "
            "logged again (%d reads failed in this publication)",
            problems[0],
            len(problems),
        )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def publish_all(broker: Broker, topics: Topics, now: datetime | None = None) -> dict[str, Any]:
    """One full publication; the published set is saved only once the broker acknowledged it.
    Raises owner.RootTaken, publishing nothing, when another enrich owns the topic root."""
    mine = owner.check(broker.endpoint, topics)
    now = now or datetime.now(UTC)
    redis = get_redis()
    held = HeldStarts(redis.hgetall(held_starts_key(topics)))
    before = redis.hgetall(published_key(topics))
    if not before and mine is not None and Site.objects.filter(enabled=True).exists():
        # No record (Redis lost its data, or nothing was published yet): the entities the
        # broker retains under this enrich's root were published, and reconcile like any.
        before = found.published_under(broker.endpoint, topics)
    with influx_down.gathered() as problems:
        wanted, messages, unread = desired_messages(
            topics, now, held, partial(retained_config, broker.endpoint)
        )
    say_unread(topics, problems)
    # A site whose meter could not be read keeps what it had, the entities that cannot be
    # read now unavailable (their last values would pass for current ones).
    kept = tuple(topics.base(site_id, "") for site_id in unread)
    unreadable = {
        topic: base
        for topic, base in before.items()
        if kept and base.startswith(kept) and topic not in wanted
    }
    wanted |= unreadable
    seen = redis.hgetall(seen_key(topics))
    stamp = now.astimezone(UTC).isoformat()
    # Published without a value now (a circuit missing from the meter's newest answer): not seen.
    offline = {
        t.removesuffix("/availability") for t, p in messages
        if p == OFFLINE and t.endswith("/availability")
    }  # fmt: skip
    valueless = [topic for topic, base in wanted.items() if base in offline]
    seen_now = {topic: stamp for topic in wanted if topic not in unreadable}
    missing = {topic: base for topic, base in before.items() if topic not in wanted}
    gaps = meter_gaps(topics, missing, wanted, seen, now)
    wanted |= gaps
    seen_now |= {topic: seen.get(topic, stamp) for topic in (*unreadable, *gaps, *valueless)}
    messages += [(f"{base}/availability", OFFLINE) for base in (unreadable | gaps).values()]
    removed = {topic: base for topic, base in before.items() if topic not in wanted}
    # Only the configs of the entities removed now: Home Assistant still reads their state
    # topics until it has handled the empty config. Those of the entities the last publication
    # removed are cleared now (one it removes again, its clear lost with a cut connection, waits).
    later = set(removed.values())
    states = sorted(redis.smembers(clear_key(topics)) - later)
    clearing = [(topic, "") for topic in sorted(removed)]
    clearing += [(f"{base}/{part}", "") for base in states for part in STATE_PARTS]
    if wanted:
        # Recorded before the broker gets any of it: a publication killed or cut off once some
        # of its configs reached the broker must leave them known, so a later one removes them
        # once they are no longer wanted (else they stay in Home Assistant for good).
        redis.hset(published_key(topics), mapping=wanted)
    if mine is not None:  # the root is this enrich's: say so before anything else
        clearing.insert(0, (owner.owner_topic(topics.root), owner.claim(mine)))
    handed_over = [broker.publish(topic, payload) for topic, payload in clearing + messages]
    if not all(handed_over) or not broker.flush(FLUSH_SECONDS):
        log.warning(
            "mqtt: publication interrupted (broker connection lost); it is redone on reconnect"
        )
        return {"status": "interrupted", "entities": len(wanted), "removed": 0}
    pipe = redis.pipeline(transaction=True)
    pipe.delete(published_key(topics))
    if wanted:
        pipe.hset(published_key(topics), mapping=wanted)
    pipe.delete(seen_key(topics))
    if seen_now:
        pipe.hset(seen_key(topics), mapping=seen_now)
    pipe.delete(clear_key(topics))
    if later:
        pipe.sadd(clear_key(topics), *later)
    pipe.delete(held_starts_key(topics))
    if held.published:
        pipe.hset(held_starts_key(topics), mapping=held.published)
    pipe.execute()
    presence.renew(broker.endpoint, topics.status, settings.MQTT_OFFLINE_AFTER_SECONDS)
    if removed:
        names = ", ".join(sorted(removed))
        log.info("mqtt: removed %s: %s", counted(len(removed), "entity", "entities"), names)
    return {"status": "ok", "entities": len(wanted), "removed": len(removed)}
