"""How much InfluxDB stores of Home Assistant's and the tier database (`storage_bytes`), which a
tier run measures before and after its work (retention.tiers.runner)."""

import time

from django.conf import settings

from enrich.influx import get_timeseries

SIZE_SETTLE_SECONDS = 5.0


def storage_bytes(settle: bool = False) -> int:
    """Bytes of Home Assistant's and the tier database, by InfluxDB's own accounting; with
    `settle`, polled until two reads agree (1.x updates shard sizes lazily) or 5 s pass."""
    databases = {settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE}

    def total() -> int:
        sizes = get_timeseries().sizes()
        return sum(size for (db, _), size in sizes.items() if db in databases)

    value = total()
    if not settle:
        return value
    deadline = time.monotonic() + SIZE_SETTLE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        again = total()
        if again == value:
            break
        value = again
    return value
