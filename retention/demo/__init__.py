"""A synthetic home in the official Home Assistant InfluxDB layout, for trying enrich without HA.

`generate_demo_home` yields the points Home Assistant's InfluxDB integration would have written
for a small home (see reference/ha_influx_schema.md):

- power sensors (measurement ``W``) of household devices with a daily rhythm: a cycling fridge,
  an oven at meal times, a TV in the evening, washing machine and dishwasher runs, an office
  computer on weekdays;
- energy meters (``kWh``, total_increasing) that integrate the power of their device, so the
  growth of a meter equals the energy its power sensor shows; the first meter resets to 0 once
  (as a smart plug does after a power cut or firmware update);
- motion sensors in areas (measurement = the full entity id, ``state`` on/off and ``value``
  1/0), active mostly during waking hours;
- indoor temperature sensors (``°C``) when there are enough entities;
- one weather entity (measurement ``weather.home``: it has no unit) with temperature following a
  daily curve, humidity, pressure and wind speed as fields and the condition as ``state``.

Like Home Assistant, a point is written only when a state changes (power by more than a
threshold), so timestamps are irregular. Everything is drawn from a seeded random generator:
the same arguments give the same points.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from enrich.readings import Reading
from retention.demo.devices import AREA_ACTIVITY, AREA_LABELS, AREAS, DEVICES, ROOM_LABELS, ROOMS
from retention.demo.home import DAY, Home

MIN_ENTITIES = 4  # one of each required kind: power, energy, motion, weather

# Kinds handed out after the first power sensor, energy meter and motion sensor, in turn.
_EXTRA_KINDS = ("power", "energy", "temperature", "motion")


@dataclass(frozen=True)
class DemoPlan:
    """How many entities of each kind a demo home of `entities` entities has."""

    power: int
    energy: int
    motion: int
    temperature: int
    weather: int = 1

    @property
    def total(self) -> int:
        return self.power + self.energy + self.motion + self.temperature + self.weather


def plan_entities(entities: int) -> DemoPlan:
    """Distribute `entities` over the kinds: at least one of each, energy meters ≤ power sensors."""
    if entities < MIN_ENTITIES:
        raise ValueError(
            f"a demo home needs at least {MIN_ENTITIES} entities (one power sensor, one energy "
            f"meter, one motion sensor and the weather entity); got {entities}"
        )
    counts = {"power": 1, "energy": 1, "motion": 1, "temperature": 0}
    for i in range(entities - MIN_ENTITIES):
        counts[_EXTRA_KINDS[i % len(_EXTRA_KINDS)]] += 1
    return DemoPlan(**counts)


def generate_demo_home(days: int, entities: int, end: datetime, seed: int) -> Iterator[Reading]:
    """Yield the points of `entities` entities over the `days` days before `end`, entity by entity.

    Every timestamp t satisfies end - days < t <= end; within one entity they strictly increase.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1; got {days}")
    if end.tzinfo is None:
        raise ValueError(f"end {end!r} needs a timezone (e.g. 2024-05-01T00:00:00+00:00)")
    plan = plan_entities(entities)
    # Days of 24 h counted in UTC, so a DST change inside the window cannot push points past end.
    home = Home(end.astimezone(UTC) - timedelta(days=days), end.tzinfo, days * DAY, seed)

    for i in range(plan.power):
        device = DEVICES[i % len(DEVICES)]
        name, label = _numbered(device.name, device.label, i // len(DEVICES))
        samples = device.simulate(home, home.rng(f"device:{name}"))
        yield from home.power_sensor(name, label, samples)
        if i < plan.energy:
            yield from home.energy_meter(name, label, samples, resets=i == 0)
    for i in range(plan.motion):
        area, label = _numbered(AREAS[i % len(AREAS)], AREA_LABELS[i % len(AREAS)], i // len(AREAS))
        yield from home.motion_sensor(area, label, AREA_ACTIVITY[AREAS[i % len(AREAS)]])
    for i in range(plan.temperature):
        area, label = _numbered(ROOMS[i % len(ROOMS)], ROOM_LABELS[i % len(ROOMS)], i // len(ROOMS))
        yield from home.temperature_sensor(area, label)
    yield from home.weather()


def _numbered(name: str, label: str, n: int) -> tuple[str, str]:
    # "fridge", "fridge_2", ...: the number goes before the kind word in the friendly name,
    # because HA would also write a numeric field for a string attribute ending in digits.
    if n == 0:
        return name, label
    return f"{name}_{n + 1}", f"{label} {n + 1}"
