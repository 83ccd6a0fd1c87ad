"""A sparse home for bench.storage: entities that change rarely, in the official layout.

Home Assistant writes a state when it changes, so most entities of a real home write few
points: door and window contacts a few times a day, motion sensors on every change while
someone is around, a thermostat every 15-60 minutes, a weather entity every hour, a power
sensor a few times an hour, an energy meter a few times an hour (with one reset, as a smart
plug's counter after a power cut). Everything is drawn from a seeded generator, so the same
arguments give the same points. Not a benchmark itself (the name starts with `_`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from bench._tiers import Spec

MINUTE = timedelta(minutes=1)


def plan() -> list[Spec]:
    return [
        Spec("binary_sensor.front_door", "binary", "", "binary_sensor.front_door"),
        Spec("binary_sensor.bedroom_window", "binary", "", "binary_sensor.bedroom_window"),
        Spec("binary_sensor.hall_motion", "binary", "", "binary_sensor.hall_motion"),
        Spec("binary_sensor.kitchen_motion", "binary", "", "binary_sensor.kitchen_motion"),
        Spec("sensor.living_room_thermostat", "numeric", "°C", "°C"),
        Spec("weather.home", "weather", "", "weather.home"),
        Spec("sensor.heat_pump_power", "power", "W", "W"),
        Spec("sensor.main_meter_energy", "energy", "kWh", "kWh"),
    ]


def _moments(rng: random.Random, day_start: datetime, mean_minutes: float,
             low: float = 0, high: float = 1440) -> list[datetime]:  # fmt: skip
    """Times of a Poisson process with the given mean gap, in [low, high) minutes of the day,
    to the second."""
    moments, minute = [], low + rng.expovariate(1 / mean_minutes)
    while minute < high:
        moment = day_start + timedelta(seconds=round(minute * 60))
        if not moments or moment > moments[-1]:  # one state per second at most
            moments.append(moment)
        minute += rng.expovariate(1 / mean_minutes)
    return moments


def _toggles(rng: random.Random, day_start: datetime, changes: int, low: int, high: int,
             hold: tuple[float, float]) -> list[tuple[datetime, bool]]:  # fmt: skip
    """`changes // 2` on/off pairs (on for `hold` minutes) starting in [low, high) minutes."""
    events: list[tuple[datetime, bool]] = []
    starts = sorted(rng.uniform(low, high) for _ in range(changes // 2))
    free = float(low)
    for start in starts:
        start = max(start, free + 1)
        end = start + rng.uniform(*hold)
        if end >= 1440:
            break
        events += [(day_start + timedelta(seconds=round(start * 60)), True),
                   (day_start + timedelta(seconds=round(end * 60)), False)]  # fmt: skip
        free = end
    return events


def sparse_home(specs: list[Spec], start: datetime, days: int, seed: int = 11) -> Iterator:
    """Readings (official layout) of the sparse home from `start` for `days` days."""
    from enrich.readings import Reading

    rng = random.Random(seed)
    meter = 1200.0
    level = 20.5
    reset_day = days // 2
    for day in range(days):
        day_start = start + timedelta(days=day)
        for spec in specs:
            domain, object_id = spec.entity_id.split(".", 1)
            tags = {"domain": domain, "entity_id": object_id}
            name = spec.entity_id
            if spec.kind == "binary":
                if "door" in name:
                    events = _toggles(rng, day_start, 2 * rng.randint(1, 4), 360, 1380, (0.2, 3))
                elif "window" in name:
                    events = _toggles(rng, day_start, 2 * rng.randint(0, 2), 420, 1320, (5, 240))
                else:  # motion: on while someone is there, off two minutes later
                    events = _toggles(rng, day_start, 2 * rng.randint(12, 30), 390, 1410, (2, 9))
                for moment, on in events:
                    fields = {"state": "on" if on else "off", "value": 1.0 if on else 0.0}
                    yield Reading(spec.measurement, fields, moment, tags)
            elif spec.kind == "numeric":  # thermostat: every 15-60 minutes
                minute = rng.uniform(0, 60)
                while minute < 1440:
                    level = min(23.0, max(18.0, level + rng.choice((-0.5, 0.0, 0.5))))
                    moment = day_start + timedelta(seconds=round(minute * 60))
                    yield Reading(spec.measurement, {"value": level}, moment, tags)
                    minute += rng.uniform(15, 60)
            elif spec.kind == "weather":  # hourly
                for hour in range(24):
                    outside = 8 + 6 * math.sin(2 * math.pi * (hour - 9) / 24) + rng.gauss(0, 0.5)
                    fields = {
                        "state": rng.choice(("cloudy", "cloudy", "sunny", "rainy")),
                        "temperature": round(outside, 1),
                        "humidity": float(rng.randint(55, 95)),
                        "pressure": float(rng.randint(995, 1030)),
                    }
                    yield Reading(spec.measurement, fields, day_start + hour * 60 * MINUTE, tags)
            elif spec.kind == "power":  # a few changes an hour
                for moment in _moments(rng, day_start, 20):
                    watts = rng.choice((0.0, 0.0, 850.0, 1600.0)) + round(rng.uniform(0, 40), 1)
                    yield Reading(spec.measurement, {"value": watts}, moment, tags)
            else:  # energy meter: a reading every 10-30 minutes, reset once
                minute = rng.uniform(0, 30)
                while minute < 1440:
                    meter += rng.uniform(0.02, 0.3)
                    if day == reset_day and 600 <= minute < 630:
                        meter = 0.0  # the counter restarts (e.g. after a power cut)
                    moment = day_start + timedelta(seconds=round(minute * 60))
                    yield Reading(spec.measurement, {"value": round(meter, 3)}, moment, tags)
                    minute += rng.uniform(10, 30)
