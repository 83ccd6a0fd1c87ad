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

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from enrich.readings import Reading

DAY = 86400.0
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
    home = _Home(end.astimezone(UTC) - timedelta(days=days), end.tzinfo, days * DAY, seed)

    for i in range(plan.power):
        device = _DEVICES[i % len(_DEVICES)]
        name, label = _numbered(device.name, device.label, i // len(_DEVICES))
        samples = device.simulate(home, home.rng(f"device:{name}"))
        yield from home.power_sensor(name, label, samples)
        if i < plan.energy:
            yield from home.energy_meter(name, label, samples, resets=i == 0)
    for i in range(plan.motion):
        area, label = _numbered(
            _AREAS[i % len(_AREAS)], _AREA_LABELS[i % len(_AREAS)], i // len(_AREAS)
        )
        yield from home.motion_sensor(area, label, _AREA_ACTIVITY[_AREAS[i % len(_AREAS)]])
    for i in range(plan.temperature):
        area, label = _numbered(
            _ROOMS[i % len(_ROOMS)], _ROOM_LABELS[i % len(_ROOMS)], i // len(_ROOMS)
        )
        yield from home.temperature_sensor(area, label)
    yield from home.weather()


def _numbered(name: str, label: str, n: int) -> tuple[str, str]:
    # "fridge", "fridge_2", ...: the number goes before the kind word in the friendly name,
    # because HA would also write a numeric field for a string attribute ending in digits.
    if n == 0:
        return name, label
    return f"{name}_{n + 1}", f"{label} {n + 1}"


# --- the home: clock, outdoor climate, sensor reporting ------------------------------------


class _Home:
    def __init__(self, start: datetime, tz: tzinfo, span: float, seed: int) -> None:
        # Arithmetic in UTC (a DST change must not shift points); daily rhythms in local time.
        self.start = start
        self.tz = tz
        self.span = span
        self.seed = seed
        # Daily outdoor mean temperatures (one per day, plus margins for interpolation).
        rng = self.rng("climate")
        season = rng.uniform(4.0, 20.0)
        self._day_means = [season + rng.gauss(0.0, 2.5) for _ in range(int(span // DAY) + 3)]
        self._day_swings = [rng.uniform(3.0, 7.0) for _ in self._day_means]

    def rng(self, purpose: str) -> random.Random:
        # String seeds are hashed with SHA-512 by `random`, so this is stable across runs.
        return random.Random(f"enrich-demo:{self.seed}:{purpose}")

    def hour(self, s: float) -> float:
        """Local hour of day (0-24) at `s` seconds after the start, in the end's timezone."""
        t = (self.start + timedelta(seconds=s)).astimezone(self.tz)
        return t.hour + t.minute / 60 + t.second / 3600

    def weekend(self, s: float) -> bool:
        return (self.start + timedelta(seconds=s)).astimezone(self.tz).weekday() >= 5

    def day_starts(self) -> Iterator[float]:
        """Seconds (relative to start) of each local midnight from the one before the start."""
        first = self.start.astimezone(self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        for n in range(int(self.span // DAY) + 2):
            yield (first + timedelta(days=n) - self.start).total_seconds()

    def outdoor(self, s: float) -> float:
        """Outdoor temperature: a daily mean drifting day to day, warmest around 15:00."""
        d = s / DAY
        i = int(d)
        f = d - i
        mean = self._day_means[i] * (1 - f) + self._day_means[i + 1] * f
        swing = self._day_swings[i] * (1 - f) + self._day_swings[i + 1] * f
        return mean + swing * math.cos(2 * math.pi * (self.hour(s) - 15.0) / 24)

    def at(self, s: float) -> datetime:
        return self.start + timedelta(microseconds=round(s * 1e6))

    def times(self, rng: random.Random, mean_gap: float, first: float = 0.0) -> Iterator[float]:
        """Irregular sample times in (first, span]: exponential gaps, at least 1 s apart."""
        s = first
        while True:
            s += 1.0 + rng.expovariate(1.0 / mean_gap)
            if s > self.span:
                return
            yield s

    # --- entity writers, one per kind ------------------------------------------------------

    def power_sensor(
        self, name: str, label: str, samples: list[tuple[float, float]]
    ) -> Iterator[Reading]:
        attrs = {
            "friendly_name_str": f"{label} power",
            "device_class_str": "power",
            "state_class_str": "measurement",
        }
        tags = {"domain": "sensor", "entity_id": f"{name}_power"}
        last: float | None = None
        for s, watts in samples:
            value = round(watts, 1)
            # Plugs report a change of more than 2 % (and at least 0.5 W), like HA's sensors.
            if last is None or abs(value - last) > max(0.5, 0.02 * abs(last)):
                last = value
                yield Reading("W", {"value": value, **attrs}, self.at(s), tags)

    def energy_meter(
        self, name: str, label: str, samples: list[tuple[float, float]], resets: bool
    ) -> Iterator[Reading]:
        rng = self.rng(f"meter:{name}")
        attrs = {
            "friendly_name_str": f"{label} energy",
            "device_class_str": "energy",
            "state_class_str": "total_increasing",
        }
        tags = {"domain": "sensor", "entity_id": f"{name}_energy"}
        total = rng.uniform(20.0, 900.0)  # the plug has been metering for a while
        reset_at = self.span * rng.uniform(0.35, 0.65) if resets else None
        reported: float | None = None
        # Energy accrues at the power held since the previous sample (piecewise constant).
        for (s, watts), (s_next, _) in zip(samples, samples[1:] + [(self.span, 0.0)], strict=True):
            if reset_at is not None and s >= reset_at:
                reset_at = None
                total = 0.0
                reported = 0.0
                yield Reading("kWh", {"value": 0.0, **attrs}, self.at(s), tags)
            value = round(total, 3)
            # Meters report in steps of 0.01 kWh (and their first state on start-up).
            if reported is None or value - reported >= 0.01:
                reported = value
                yield Reading("kWh", {"value": value, **attrs}, self.at(s), tags)
            total += watts * (s_next - s) / 3.6e6

    def motion_sensor(
        self, area: str, label: str, activity: Callable[[float], float]
    ) -> Iterator[Reading]:
        rng = self.rng(f"motion:{area}")
        tags = {"domain": "binary_sensor", "entity_id": f"{area}_motion"}
        measurement = f"binary_sensor.{area}_motion"
        attrs = {"friendly_name_str": f"{label} motion", "device_class_str": "motion"}

        def point(s: float, on: bool) -> Reading:
            state = "on" if on else "off"
            return Reading(
                measurement, {"state": state, "value": float(on), **attrs}, self.at(s), tags
            )

        yield point(rng.uniform(1.0, 60.0), False)
        # Arrivals follow the area's hourly rate (thinning a Poisson process at the peak rate).
        s = 61.0
        peak = max(activity(h) for h in range(24))
        while True:
            s += rng.expovariate(peak / 3600.0)
            if s > self.span:
                return
            if rng.random() > activity(self.hour(s)) / peak:
                continue
            # Someone stays a while: the sensor holds "on" until no motion for its cool-down.
            duration = 30.0 + rng.expovariate(1.0 / 240.0)
            off = s + duration
            if off > self.span:
                return
            yield point(s, True)
            yield point(off, False)
            s = off + 5.0

    def temperature_sensor(self, room: str, label: str) -> Iterator[Reading]:
        rng = self.rng(f"temperature:{room}")
        tags = {"domain": "sensor", "entity_id": f"{room}_temperature"}
        attrs = {
            "friendly_name_str": f"{label} temperature",
            "device_class_str": "temperature",
            "state_class_str": "measurement",
        }
        comfort = rng.uniform(20.0, 22.0)
        inside = comfort - 1.0
        reported: float | None = None
        s_prev = 0.0
        for s in self.times(rng, 300.0):
            h = self.hour(s)
            setpoint = comfort if 6.5 <= h < 22.5 else comfort - 3.0  # night setback
            # The room drifts towards the setpoint, pulled a little by the outdoor temperature.
            target = setpoint + 0.08 * (self.outdoor(s) - 12.0)
            inside += (target - inside) * (1 - math.exp(-(s - s_prev) / 5400.0))
            s_prev = s
            value = round(inside + rng.gauss(0.0, 0.04), 1)
            if value != reported:
                reported = value
                yield Reading("°C", {"value": value, **attrs}, self.at(s), tags)

    def weather(self) -> Iterator[Reading]:
        rng = self.rng("weather")
        tags = {"domain": "weather", "entity_id": "home"}
        units = {
            "friendly_name_str": "Home",
            "temperature_unit_str": "°C",
            "pressure_unit_str": "hPa",
            "wind_speed_unit_str": "km/h",
        }
        sky = rng.choice(_SKY)
        pressure = rng.uniform(1005.0, 1022.0)
        wind = rng.uniform(3.0, 15.0)
        last: tuple | None = None
        s_prev = 0.0
        # The forecast service is polled about every half hour; HA writes when anything changed.
        for s in self.times(rng, 1800.0, first=-1.0):
            hours = (s - s_prev) / 3600.0
            s_prev = s
            if rng.random() < 0.12:
                sky = rng.choice(_SKY_NEXT[sky])
            h = self.hour(s)
            night = h < 6.0 or h >= 21.0
            state = "clear-night" if sky == "sunny" and night else sky
            temperature = round(self.outdoor(s) - (1.5 if sky == "rainy" else 0.0), 1)
            humidity = 55.0 - 2.0 * (temperature - 12.0) + (25.0 if sky == "rainy" else 0.0)
            humidity = round(min(99.0, max(25.0, humidity + rng.gauss(0.0, 3.0))))
            pressure += rng.gauss(-0.4 if sky == "rainy" else 0.1, 0.5) * hours
            pressure = min(1040.0, max(980.0, pressure))
            # Wind changes gradually: a new draw only moves it part of the way.
            wind = 0.6 * wind + 0.4 * rng.gammavariate(2.0, 9.0 if sky == "rainy" else 5.0)
            values = (state, temperature, float(humidity), round(pressure, 1), round(wind, 1))
            if values == last:
                continue
            last = values
            fields = {
                "state": state,
                "temperature": temperature,
                "humidity": float(humidity),
                "pressure": round(pressure, 1),
                "wind_speed": round(wind, 1),
                **units,
            }
            yield Reading("weather.home", fields, self.at(s), tags)


_SKY = ("sunny", "partlycloudy", "cloudy", "rainy")
_SKY_NEXT = {
    "sunny": ("partlycloudy",),
    "partlycloudy": ("sunny", "cloudy"),
    "cloudy": ("partlycloudy", "rainy"),
    "rainy": ("cloudy",),
}


# --- areas: motion and temperature -----------------------------------------------------------


def _rate(day: float, evening: float, night: float) -> Callable[[float], float]:
    """Arrivals per hour by time of day: night 0-6:30, day until 18, evening until 23."""

    def activity(h: float) -> float:
        if h < 6.5 or h >= 23.0:
            return night
        return day if h < 18.0 else evening

    return activity


_AREA_ACTIVITY = {
    "kitchen": _rate(3.0, 5.0, 0.15),
    "living_room": _rate(1.5, 4.0, 0.05),
    "office": _rate(3.5, 0.6, 0.02),
    "bedroom": _rate(0.4, 1.2, 0.3),
    "hallway": _rate(2.0, 2.5, 0.2),
    "bathroom": _rate(1.2, 2.0, 0.25),
}
_AREAS = tuple(_AREA_ACTIVITY)
_AREA_LABELS = ("Kitchen", "Living room", "Office", "Bedroom", "Hallway", "Bathroom")
_ROOMS = ("living_room", "bedroom", "office", "kitchen")
_ROOM_LABELS = ("Living room", "Bedroom", "Office", "Kitchen")


# --- devices: a power trajectory each ----------------------------------------------------------


class _Trace:
    """Collects a device's power as samples (time, watts); the power holds until the next one."""

    def __init__(self, home: _Home, rng: random.Random, standby: float) -> None:
        self.home, self.rng, self.standby = home, rng, standby
        self.samples: list[tuple[float, float]] = []
        self.s = 0.0

    def hold(self, until: float, watts: float, noise: float = 0.0, gap: float = 60.0) -> None:
        """Draw at `watts` (± noise, re-drawn at irregular gaps) until `until`."""
        until = min(until, self.home.span)
        s = self.s
        while s < until:
            value = max(0.0, self.rng.gauss(watts, noise)) if noise else watts
            self.samples.append((s, value))
            s += 1.0 + self.rng.expovariate(1.0 / gap)
        self.s = max(self.s, until)

    def idle(self, until: float) -> None:
        self.hold(until, self.standby, 0.03 * self.standby, gap=900.0)

    def runs(self, cycles: list[tuple[float, float, float, float]]) -> None:
        """Run phases back to back: (seconds, watts, noise, sample gap)."""
        for seconds, watts, noise, gap in cycles:
            self.hold(self.s + seconds, watts, noise, gap)

    def result(self) -> list[tuple[float, float]]:
        self.idle(self.home.span)
        # The integration's first write comes right after start-up, not exactly at the start.
        first = self.rng.uniform(1.0, 30.0)
        kept = [(max(s, first), w) for s, w in self.samples if s < self.home.span]
        deduped: list[tuple[float, float]] = []
        for s, w in kept:
            if deduped and s <= deduped[-1][0] + 1e-3:
                deduped[-1] = (deduped[-1][0], w)  # a later phase starting at once wins
            else:
                deduped.append((s, w))
        return deduped


def _daily(home: _Home, rng: random.Random, standby: float, session) -> list[tuple[float, float]]:
    """A device idle at standby except for sessions: `session(trace, day_start)` per day."""
    trace = _Trace(home, rng, standby)
    for day in home.day_starts():
        session(trace, day)
    return trace.result()


def _at(trace: _Trace, start: float) -> bool:
    """Idle until `start`; False when the session would begin before the trace's current end."""
    if start < trace.s or start >= trace.home.span:
        return False
    trace.idle(start)
    return True


def _fridge(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    trace = _Trace(home, rng, standby=rng.uniform(1.5, 3.0))
    trace.idle(rng.uniform(60.0, 1800.0))
    while trace.s < home.span:
        night = not 7.0 <= home.hour(trace.s) < 23.0
        # The compressor starts with a short inrush, then runs until the thermostat is satisfied.
        trace.runs(
            [
                (rng.uniform(2.0, 6.0), rng.uniform(350.0, 450.0), 0.0, 10.0),
                (rng.uniform(600.0, 1300.0), rng.uniform(85.0, 115.0), 4.0, 180.0),
            ]
        )
        off = rng.uniform(2400.0, 4200.0) if night else rng.uniform(1500.0, 3300.0)
        trace.idle(trace.s + off)
    return trace.result()


def _oven(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    def cook(trace: _Trace, day: float) -> None:
        meals = [(12.0, 0.35 if home.weekend(day + 43200) else 0.15), (18.5, 0.8)]
        for hour, chance in meals:
            if rng.random() >= chance or not _at(trace, day + (hour + rng.uniform(0, 1.2)) * 3600):
                continue
            trace.runs([(rng.uniform(600.0, 900.0), rng.uniform(2600.0, 3100.0), 40.0, 120.0)])
            end = trace.s + rng.uniform(1500.0, 4500.0)
            while trace.s < end:  # the thermostat cycles the element, fan and light stay on
                trace.runs(
                    [
                        (rng.uniform(60.0, 240.0), rng.uniform(2300.0, 2500.0), 30.0, 60.0),
                        (rng.uniform(120.0, 300.0), rng.uniform(35.0, 45.0), 1.0, 90.0),
                    ]
                )

    return _daily(home, rng, rng.uniform(0.6, 1.0), cook)


def _tv(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    def watch(trace: _Trace, day: float) -> None:
        starts = [19.0 + rng.uniform(0, 1.5)]
        if home.weekend(day + 43200) and rng.random() < 0.6:
            starts.insert(0, 14.0 + rng.uniform(0, 2.0))
        for hour in starts:
            if _at(trace, day + hour * 3600):
                trace.hold(
                    trace.s + rng.uniform(3600.0, 12600.0),
                    rng.uniform(75.0, 110.0),
                    noise=9.0,
                    gap=45.0,
                )

    return _daily(home, rng, 0.5, watch)


def _washing_machine(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    def wash(trace: _Trace, day: float) -> None:
        if rng.random() < 0.45 and _at(trace, day + rng.uniform(8.0, 19.0) * 3600):
            trace.runs(
                [
                    (300.0, 12.0, 2.0, 60.0),  # fill
                    (rng.uniform(900.0, 1300.0), rng.uniform(1900.0, 2150.0), 25.0, 90.0),
                    (rng.uniform(2100.0, 3000.0), 180.0, 60.0, 40.0),  # tumbling
                    (rng.uniform(480.0, 720.0), rng.uniform(380.0, 520.0), 40.0, 30.0),
                ]
            )

    return _daily(home, rng, 1.2, wash)


def _dishwasher(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    def rinse(trace: _Trace, day: float) -> None:
        if rng.random() < 0.75 and _at(trace, day + rng.uniform(20.0, 22.5) * 3600):
            trace.runs(
                [
                    (rng.uniform(900.0, 1200.0), rng.uniform(1750.0, 1950.0), 20.0, 120.0),
                    (rng.uniform(1800.0, 2700.0), 95.0, 15.0, 60.0),
                    (rng.uniform(600.0, 900.0), rng.uniform(1750.0, 1950.0), 20.0, 120.0),
                    (1800.0, 8.0, 1.0, 300.0),
                ]
            )  # drying with the fan

    return _daily(home, rng, 0.9, rinse)


def _computer(home: _Home, rng: random.Random) -> list[tuple[float, float]]:
    def work(trace: _Trace, day: float) -> None:
        if home.weekend(day + 43200):
            return
        for begin, end in ((8.0 + rng.uniform(0, 1.0), 12.5), (13.3, 17.0 + rng.uniform(0, 2))):
            if _at(trace, day + begin * 3600):
                trace.hold(day + end * 3600, rng.uniform(110.0, 150.0), noise=25.0, gap=30.0)

    return _daily(home, rng, 2.0, work)


@dataclass(frozen=True)
class _Device:
    name: str
    label: str
    simulate: Callable[[_Home, random.Random], list[tuple[float, float]]]


_DEVICES = (
    _Device("fridge", "Fridge", _fridge),
    _Device("oven", "Oven", _oven),
    _Device("tv", "TV", _tv),
    _Device("washing_machine", "Washing machine", _washing_machine),
    _Device("dishwasher", "Dishwasher", _dishwasher),
    _Device("office_computer", "Office computer", _computer),
)
