"""How much InfluxDB stores of Home Assistant's and the tier database (`storage_bytes`), which a
tier run measures before and after its work (retention.tiers.runner)."""

import time

from django.conf import settings

from enrich.influx import get_timeseries

SIZE_SETTLE_SECONDS = 5.0
SIZE_POLL_SECONDS = 0.5


def storage_bytes(settle: bool = False) -> int:
    """Bytes of Home Assistant's and the tier database, by InfluxDB's own accounting. With
    `settle`, measured once no cache snapshot or compaction runs or waits in their shards (the
    sizes change when one ends), polled every 0.5 s for at most 5 s; where the server does not
    report compactions (InfluxDB 2.x), polled until two reads agree."""
    databases = {settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE}
    timeseries = get_timeseries()

    def total() -> int:
        sizes = timeseries.sizes()
        return sum(size for (db, _), size in sizes.items() if db in databases)

    def busy() -> int | None:
        running = timeseries.compactions()
        if running is None:
            return None
        return sum(n for (db, _), n in running.items() if db in databases)

    value = total()
    if not settle:
        return value
    deadline = time.monotonic() + SIZE_SETTLE_SECONDS
    while time.monotonic() < deadline:
        running = busy()
        if running == 0:
            return total()  # what every snapshot and compaction that ended left
        time.sleep(SIZE_POLL_SECONDS)
        again = total()
        if running is None and again == value:
            break
        value = again
    return value
