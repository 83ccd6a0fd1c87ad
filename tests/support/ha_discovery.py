"""What Home Assistant reads from the broker, as the MQTT tests expect it: a site's entity's
exact discovery config (with its availability topics), whether a topic was cleared (an empty
retained payload, which makes Home Assistant delete the entity), and whether it shows an
entity available."""

from enrich.version import VERSION


def availability(topics, key: str, site_id: int) -> list[dict]:
    return [
        {"topic": topics.status, "payload_available": "online", "payload_not_available": "offline"},
        {
            "topic": f"{topics.root}/site_{site_id}/{key}/availability",
            "payload_available": "online",
            "payload_not_available": "offline",
        },
    ]


def expected_config(topics, site, key: str, name: str, **extra) -> dict:
    node = f"{topics.root}_site_{site.pk}"
    base = f"{topics.root}/site_{site.pk}/{key}"
    return {
        "name": name,
        "unique_id": f"{node}_{key}",
        "state_topic": f"{base}/state",
        "json_attributes_topic": f"{base}/attributes",
        "availability": availability(topics, key, site.pk),
        "availability_mode": "all",
        "device": {
            "identifiers": [node],
            "name": "Home",
            "manufacturer": "enrich",
            "model": "Site",
            "sw_version": VERSION,
        },
        "origin": {"name": "enrich"},
        **extra,
    }


def cleared(subscriber, topic: str) -> bool:
    return any(t == topic and p == "" for t, p, _ in subscriber.log)


def availability_timeline(config: dict, log: list[tuple[str, str, bool]]) -> list[bool]:
    """Whether Home Assistant shows the entity of discovery `config` available after each
    message of `log` (the broker's messages in order: topic, payload, retained) on one of its
    availability topics, as its MQTT integration computes it (mqtt/entity.py,
    MqttAvailabilityMixin): each topic counts as not available until a payload equal to its
    `payload_available` or `payload_not_available` arrives (any other payload, an empty one
    included, changes nothing); `availability_mode` `all`, `any` or (the default) `latest`
    combines them."""
    entries = {entry["topic"]: entry for entry in config["availability"]}
    available = dict.fromkeys(entries, False)
    latest = False
    mode = config.get("availability_mode", "latest")
    timeline = []
    for topic, payload, _ in log:
        entry = entries.get(topic)
        if entry is None or payload not in (
            entry["payload_available"],
            entry["payload_not_available"],
        ):
            continue
        available[topic] = latest = payload == entry["payload_available"]
        combined = {"all": all(available.values()), "any": any(available.values())}
        timeline.append(combined.get(mode, latest))
    return timeline
