"""The demo home's areas (motion activity by time of day) and household devices, each a power
trajectory (see retention.demo)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retention.demo.home import Home


# --- areas: motion and temperature -----------------------------------------------------------


def _rate(day: float, evening: float, night: float) -> Callable[[float], float]:
    """Arrivals per hour by time of day: night 0-6:30, day until 18, evening until 23."""

    def activity(h: float) -> float:
        if h < 6.5 or h >= 23.0:
            return night
        return day if h < 18.0 else evening

    return activity


AREA_ACTIVITY = {
    "kitchen": _rate(3.0, 5.0, 0.15),
    "living_room": _rate(1.5, 4.0, 0.05),
    "office": _rate(3.5, 0.6, 0.02),
    "bedroom": _rate(0.4, 1.2, 0.3),
    "hallway": _rate(2.0, 2.5, 0.2),
    "bathroom": _rate(1.2, 2.0, 0.25),
}
AREAS = tuple(AREA_ACTIVITY)
AREA_LABELS = ("Kitchen", "Living room", "Office", "Bedroom", "Hallway", "Bathroom")
ROOMS = ("living_room", "bedroom", "office", "kitchen")
ROOM_LABELS = ("Living room", "Bedroom", "Office", "Kitchen")


# --- devices: a power trajectory each ----------------------------------------------------------


class _Trace:
    """Collects a device's power as samples (time, watts); the power holds until the next one."""

    def __init__(self, home: Home, rng: random.Random, standby: float) -> None:
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


def _daily(home: Home, rng: random.Random, standby: float, session) -> list[tuple[float, float]]:
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


def _fridge(home: Home, rng: random.Random) -> list[tuple[float, float]]:
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


def _oven(home: Home, rng: random.Random) -> list[tuple[float, float]]:
    def cook(trace: _Trace, day: float) -> None:
        meals = [(12.0, 0.35 if home.weekend(day + 43200) else 0.15), (18.5, 0.8)]
        for hour, chance in meals:
            if rng.random() >= chance or not _at(trace, day + (hour + rng.uniform(0, 1.2)) * 3600):
                continue
            trace.runs([(rng.uniform(600.0, 900.0), rng.uniform(2600.0, 3100.0), 40.0, 120.0)])
            # A session still cooking when the history ends stops there (`hold` never draws
            # past the span, so an end beyond it would never be reached).
            end = min(trace.s + rng.uniform(1500.0, 4500.0), home.span)
            while trace.s < end:  # the thermostat cycles the element, fan and light stay on
                trace.runs(
                    [
                        (rng.uniform(60.0, 240.0), rng.uniform(2300.0, 2500.0), 30.0, 60.0),
                        (rng.uniform(120.0, 300.0), rng.uniform(35.0, 45.0), 1.0, 90.0),
                    ]
                )

    return _daily(home, rng, rng.uniform(0.6, 1.0), cook)


def _tv(home: Home, rng: random.Random) -> list[tuple[float, float]]:
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


def _washing_machine(home: Home, rng: random.Random) -> list[tuple[float, float]]:
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


def _dishwasher(home: Home, rng: random.Random) -> list[tuple[float, float]]:
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


def _computer(home: Home, rng: random.Random) -> list[tuple[float, float]]:
    def work(trace: _Trace, day: float) -> None:
        if home.weekend(day + 43200):
            return
        for begin, end in ((8.0 + rng.uniform(0, 1.0), 12.5), (13.3, 17.0 + rng.uniform(0, 2))):
            if _at(trace, day + begin * 3600):
                trace.hold(day + end * 3600, rng.uniform(110.0, 150.0), noise=25.0, gap=30.0)

    return _daily(home, rng, 2.0, work)


@dataclass(frozen=True)
class Device:
    name: str
    label: str
    simulate: Callable[[Home, random.Random], list[tuple[float, float]]]


DEVICES = (
    Device("fridge", "Fridge", _fridge),
    Device("oven", "Oven", _oven),
    Device("tv", "TV", _tv),
    Device("washing_machine", "Washing machine", _washing_machine),
    Device("dishwasher", "Dishwasher", _dishwasher),
    Device("office_computer", "Office computer", _computer),
)
