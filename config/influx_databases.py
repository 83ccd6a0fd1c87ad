"""Home Assistant's InfluxDB database (HA_INFLUXDB_DATABASE), read by config.settings: never
the one enrich writes its own data to (INFLUXDB_DATABASE), as both are on INFLUXDB_URL.

Shared, enrich's start (`manage.py setup_influxdb`) gives that database the retention policy
enrich's data is kept in, `autogen` (INF), as its default: where Home Assistant wrote to
another default policy (a `WITH DURATION 30d` database), its new points land in `autogen`
while the tiers, which read the default policy, no longer see the days left in the old one,
and InfluxDB drops those untiered; where `autogen` itself has a duration, every start stops
on it. The storage figures would count enrich's points as Home Assistant's raw ones too."""

from django.core.exceptions import ImproperlyConfigured

from config.environment import text


def ha_database(enrich_database: str) -> str:
    """HA_INFLUXDB_DATABASE (default home_assistant), refused when it is `enrich_database`."""
    database = text("HA_INFLUXDB_DATABASE", default="home_assistant")
    if database == enrich_database:
        raise ImproperlyConfigured(
            f"HA_INFLUXDB_DATABASE and INFLUXDB_DATABASE both name {database!r} on INFLUXDB_URL: "
            "enrich's own data needs a database of its own (its start would change the default "
            "retention policy Home Assistant writes to); give INFLUXDB_DATABASE another name, "
            "e.g. enrich."
        )
    return database


# Tags enrich itself selects an entity's points by, in either layout.
ENTITY_TAGS = frozenset({"entity_id", "domain", "event_type"})


def ha_tags() -> dict[str, str]:
    """HA_INFLUXDB_TAGS: `key=value` pairs, comma-separated (`instance=house`), the global
    `tags:` of the Home Assistant instance enrich reads, where several write to the database;
    empty: every point of an entity, whatever its other tags."""
    found: dict[str, str] = {}
    for entry in text("HA_INFLUXDB_TAGS").split(","):
        key, _, value = (part.strip() for part in entry.partition("="))
        if not entry.strip():
            continue
        if not (key and value) or key in ENTITY_TAGS:
            raise ImproperlyConfigured(
                f"HA_INFLUXDB_TAGS: {entry.strip()!r} is not a tag of Home Assistant's "
                "InfluxDB integration's tags: option; give key=value pairs, comma-separated, "
                "e.g. HA_INFLUXDB_TAGS=instance=house (not entity_id, domain or event_type)."
            )
        found[key] = value
    return found
