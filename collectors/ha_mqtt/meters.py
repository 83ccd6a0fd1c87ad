"""Smart meter entities read back from InfluxDB: phantom load per device, power per circuit.

The cached answer (what /api/enrichment/current serves) carries only whole-home values; the
phantom load is written later by the after-write hook and circuits are separate points, so
both are the newest stored values of the meter's devices (tags `provider`, `device`,
`circuit`, as collectors.smart_meter writes them).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collectors.smart_meter.common import CIRCUIT_MEASUREMENT, MEASUREMENT
from enrich.influx import quote_ident, stored_rows

# Measured back from the newest answer's data time: the circuits of that answer (a poll covers
# a few minutes), and the phantom load, computed once a day, of the last week.
CIRCUIT_LOOK_BACK = timedelta(hours=1)
PHANTOM_LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True)
class MeterValue:
    device: str
    circuit: str  # "" for the whole device
    watts: float
    time: datetime


def _newest(field: str, measurement: str, group: str, provider: str, since: datetime):
    influxql = (
        f"SELECT last({quote_ident(field)}) AS {quote_ident(field)} FROM {quote_ident(measurement)} "
        f'WHERE "provider" = $provider AND time >= $since GROUP BY {group}'
    )
    return list(stored_rows(influxql, {"provider": provider, "since": since}))


def _values(rows, field: str, devices: set[str]) -> list[MeterValue]:
    found = []
    for row in rows:
        device, watts = row.tags.get("device", ""), row.values.get(field)
        if device in devices and watts is not None and row.time is not None:
            found.append(MeterValue(device, row.tags.get("circuit", ""), float(watts), row.time))
    return sorted(found, key=lambda v: (v.device, v.circuit))


def phantom_loads(provider: str, devices: set[str], newest: datetime) -> list[MeterValue]:
    rows = _newest("phantom_load_w", MEASUREMENT, '"device"', provider, newest - PHANTOM_LOOK_BACK)
    return _values(rows, "phantom_load_w", devices)


def circuit_powers(provider: str, devices: set[str], newest: datetime) -> list[MeterValue]:
    rows = _newest(
        "power_w", CIRCUIT_MEASUREMENT, '"device", "circuit"', provider, newest - CIRCUIT_LOOK_BACK
    )
    return _values(rows, "power_w", devices)


def age_seconds(value: MeterValue, now: datetime) -> int:
    return max(0, round((now.astimezone(UTC) - value.time).total_seconds()))
