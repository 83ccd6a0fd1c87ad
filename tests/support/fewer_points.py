"""The heat pump's meter of the tests where a rebuild or the refresh keeps the rows InfluxDB
returns fewer points for (`retention.rollups.fewer`)."""

from retention import models
from tests.retention.conftest import HaDatabase

HOUR = 3600


def heat_pump_meter(ha_db: HaDatabase, readings: int) -> models.Entity:
    """sensor.heat_pump_energy (kWh, official layout), saved: 10.0 at 23:00 the day before T0,
    then `readings` readings at half past each hour of T0's day from 00:30 on, each 0.6 kWh
    more (24: 14.4 kWh in the day)."""
    points = [(h * HOUR + 1800, round(10.0 + 0.6 * (h + 1), 1)) for h in range(readings)]
    return ha_db.saved_entity(
        "official", "sensor.heat_pump_energy", [(-HOUR, 10.0), *points], unit="kWh", kind="energy"
    )
