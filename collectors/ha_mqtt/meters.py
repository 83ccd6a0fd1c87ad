"""Smart meter entities read back from InfluxDB: phantom load per device, power per circuit.

The cached answer (what /api/enrichment/current serves) carries only whole-home values; the
phantom load is written later by the after-write hook and circuits are separate points, so
both are the newest stored values of the meter's devices, read per InfluxDB series as
collectors.smart_meter writes them: tags `provider`, `site` (the site whose config collected
the answer: two homes' meters both called "home" are two series), `device`, `device_gid`
(Emporia: two devices of one name are two series) and `circuit`. The meter's devices are those
with a value in the hour before its newest data (`recent_devices`), not only those of the
newest answer: a poll without a device's whole-home value removes none of its entities. A
circuit the newest answer lists in its `circuit_states` (Home Assistant's meter: a sensor HA
gave a value for at that poll) is read back from the time of its state however old that is:
HA's state holds until it changes (`held`), so an oven at 0 W all day keeps its entity.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collectors.base import ConfigError
from collectors.smart_meter import home_assistant
from collectors.smart_meter.common import CIRCUIT_MEASUREMENT, CIRCUIT_STATES, MEASUREMENT
from collectors.smart_meter.watch import window_over
from enrich.influx import quote_ident, stored_rows

# Measured back from the newest answer's data time: the circuits of that answer (a poll covers
# a few minutes), and the phantom load, computed once a day, of the last week.
CIRCUIT_LOOK_BACK = timedelta(hours=1)
PHANTOM_LOOK_BACK = timedelta(days=7)
DEVICE = '"device", "device_gid"'  # one physical device: Emporia's gid, where it has one


@dataclass(frozen=True)
class MeterValue:
    device: str
    circuit: str  # "" for the whole device
    watts: float
    time: datetime
    gid: str = ""  # Emporia's device_gid; "" for meters without one


# The (device, device_gid) series of the meter (recent_devices).
Devices = set[tuple[str, str]]
# (device, circuit) -> the time of the state the meter still has for it (held)
Held = dict[tuple[str, str], datetime]


def held(answer: Mapping[str, Any]) -> Held:
    """The circuits of a meter's answer whose state its source still has (CIRCUIT_STATES),
    each with the time of that state; none for a meter whose answer does not list them."""
    found: Held = {}
    for state in answer.get(CIRCUIT_STATES) or []:
        key = (str(state["device"]), str(state["circuit"]))
        found[key] = datetime.fromisoformat(state["time"])
    return found


def _newest(field: str, measurement: str, group: str, provider: str, site: str, since: datetime):
    influxql = (
        f"SELECT last({quote_ident(field)}) AS {quote_ident(field)} FROM {quote_ident(measurement)} "
        f'WHERE "provider" = $provider AND "site" = $site AND time >= $since GROUP BY {group}'
    )
    return list(stored_rows(influxql, {"provider": provider, "site": site, "since": since}))


def _values(rows, field: str, devices: Devices) -> list[MeterValue]:
    """The values of the `devices`' series, a device with a gid's under each of its names (an
    Emporia device renamed in its app: collectors.ha_mqtt.renames shows the newest)."""
    gids = {gid for _, gid in devices if gid}
    found = []
    for row in rows:
        device, gid = row.tags.get("device", ""), row.tags.get("device_gid", "")
        watts = row.values.get(field)
        mine = (device, gid) in devices or gid in gids
        if mine and watts is not None and row.time is not None:
            circuit = row.tags.get("circuit", "")
            found.append(MeterValue(device, circuit, float(watts), row.time, gid))
    # Lowest gid first: where two devices share a name, the older one claims its keys first.
    return sorted(found, key=lambda v: (v.device, v.circuit, v.gid.zfill(20)))


def phantom_loads(provider: str, site: str, devices: Devices, newest: datetime) -> list[MeterValue]:
    """The newest phantom load of each device of `provider` stored under `site` (of an Emporia
    device renamed in its app, the old name's stays its last until the next night's)."""
    since = newest - PHANTOM_LOOK_BACK
    rows = _newest("phantom_load_w", MEASUREMENT, DEVICE, provider, site, since)
    return _values(rows, "phantom_load_w", devices)


def circuit_powers(
    provider: str, site: str, devices: Devices, newest: datetime, held: Held | None = None
) -> list[MeterValue]:
    """The newest power of each circuit of each device of `provider` stored under `site`:
    within CIRCUIT_LOOK_BACK of `newest`, or, for a `held` circuit, since its state's time."""
    held = held or {}
    recent = newest - CIRCUIT_LOOK_BACK
    since = min([recent, *held.values()])

    def _held(row) -> datetime:
        return held.get((row.tags.get("device", ""), row.tags.get("circuit", "")), recent)

    rows = _newest("power_w", CIRCUIT_MEASUREMENT, f'{DEVICE}, "circuit"', provider, site, since)
    kept = [row for row in rows if row.time is not None and row.time >= min(recent, _held(row))]
    return _values(kept, "power_w", devices)


def configured_circuits(configs: Iterable[Any]) -> dict[str, set[str]]:
    """{device: the circuits its meter is set to read} of the Home Assistant meters among
    `configs` (options.circuits); other meters read every circuit their answers list."""
    found: dict[str, set[str]] = {}
    for config in configs:
        if config.provider != home_assistant.PROVIDER:
            continue
        try:
            device, circuits = home_assistant.circuits_read(config.options or {})
        except ConfigError:  # not collected either: its last values are what there is
            continue
        found.setdefault(device, set()).update(circuits)
    return found


def recent_devices(provider: str, site: str, newest: datetime, held: Held | None = None) -> Devices:
    """(device, device_gid) of the devices of `provider` stored under `site` with a whole-home
    or circuit value within CIRCUIT_LOOK_BACK of `newest`: the meter's devices. One answer
    lacking a device (Home Assistant's whole-home sensor unavailable for a poll, a Vue offline
    for a few minutes) leaves it the meter's, as a circuit without a value for a while is;
    so does a `held` circuit, however old its state."""
    since = newest - CIRCUIT_LOOK_BACK
    rows = [
        *_newest("total_power_w", MEASUREMENT, DEVICE, provider, site, since),
        *_newest("power_w", CIRCUIT_MEASUREMENT, DEVICE, provider, site, since),
    ]
    found = {(row.tags.get("device", ""), row.tags.get("device_gid", "")) for row in rows}
    return found | {(device, "") for device, _ in held or {}}  # Home Assistant's: no gid


def device_names(provider: str, site: str, gid: str) -> set[str]:
    """Every name (`device` tag) the series of the device `gid` of `provider` stored under
    `site` have had: an Emporia device renamed in its app had each."""
    sources = f"{quote_ident(MEASUREMENT)}, {quote_ident(CIRCUIT_MEASUREMENT)}"
    influxql = (
        f'SHOW TAG VALUES FROM {sources} WITH KEY = "device" WHERE "provider" = $provider '
        'AND "site" = $site AND "device_gid" = $gid'
    )
    rows = stored_rows(influxql, {"provider": provider, "site": site, "gid": gid})
    return {str(row.values["value"]) for row in rows if row.values.get("value")}


def phantom_stale(value: MeterValue, now: datetime, stale_after: float, zone: ZoneInfo) -> bool:
    """Whether a phantom load is stale: it is figured once a night and stamped 03:30 site time
    (collectors.smart_meter.watch), so it is stale once the next night's is `stale_after`
    seconds overdue (due once the next night's 03:30 is over: the second one where the clock
    goes back across it, window_over)."""
    night = value.time.astimezone(zone).date() + timedelta(days=1)
    return now.astimezone(UTC) > window_over(night, zone) + timedelta(seconds=stale_after)
