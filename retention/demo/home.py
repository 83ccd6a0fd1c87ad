"""The demo home's clock, outdoor climate and sensor reporting (see retention.demo)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, tzinfo

from enrich.readings import Reading

DAY = 86400.0

# --- the home: clock, outdoor climate, sensor reporting ------------------------------------


class Home:
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
