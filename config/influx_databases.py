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
