"""What Home Assistant reads from the broker, as the MQTT tests expect it: a site's entity's
exact discovery config (with its availability topics), and whether a topic was cleared (an
empty retained payload, which makes Home Assistant delete the entity)."""


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
        },
        "origin": {"name": "enrich"},
        **extra,
    }


def cleared(subscriber, topic: str) -> bool:
    return any(t == topic and p == "" for t, p, _ in subscriber.log)
