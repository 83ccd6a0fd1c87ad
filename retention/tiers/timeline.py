"""Time in the tiers: UTC windows, and samples as Home Assistant's step function over one.

A sample's value holds until the next sample; `window_timeline` keeps one sample per time (the
later wins) and counts the samples and gaps inside a window, `in_force` yields how long each
sample holds inside it, `reading_of`/`state_of` what a sample says for an entity kind. The
rules are `retention.tiers.stepwise`'s (its module docstring); pure Python, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from retention.entities.points import binary_on
from retention.entities.samples import Sample
from retention.timeutil import floor_day, floor_hour, require_aware

# The state class whose meter may decrease and go negative (HA's SensorStateClass.TOTAL); any
# other (total_increasing, none written) is read as total_increasing.
TOTAL = "total"
# A reading beyond this (HA stores any finite float, up to 1.8e308) is no usable reading: a
# window's value x seconds, and sums of a year of those, must stay finite (a mean of inf/inf
# is NaN, which InfluxDB cannot store: the day could never be written).
READING_LIMIT = 1e300


def usable(value: float) -> bool:
    """Whether a finite reading within +-READING_LIMIT (False for NaN and +-inf too)."""
    return -READING_LIMIT <= value <= READING_LIMIT


# --- Windows (UTC) ------------------------------------------------------------------------
def hour_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The UTC hours [h, h + 1 h) from `start` to `end`, both on UTC hour boundaries."""
    return _windows(start, end, timedelta(hours=1), floor_hour, "hour")


def day_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The UTC days [d, d + 1 d) from `start` to `end`, both at UTC midnight."""
    return _windows(start, end, timedelta(days=1), floor_day, "day")


def _windows(
    start: datetime,
    end: datetime,
    step: timedelta,
    floor: Callable[[datetime], datetime],
    unit: str,
) -> list[tuple[datetime, datetime]]:
    for name, moment in (("start", start), ("end", end)):
        require_aware(moment)
        if floor(moment) != moment:
            raise ValueError(
                f"{name} {moment.isoformat()} is not on a UTC {unit} boundary; tiers use UTC "
                f"{unit}s (round with floor_{unit}())"
            )
    current, stop = start.astimezone(UTC), end.astimezone(UTC)
    if stop < current:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    windows = []
    while current < stop:
        windows.append((current, current + step))
        current += step
    return windows


# --- Samples in a window ---------------------------------------------------------------------
def utc_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC; ValueError when a bound has no timezone or the window is empty."""
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} {moment!r} needs a time zone (e.g. UTC)")
    # In UTC: Python subtracts two times of the same zone by wall clock, which is wrong
    # across a DST change (a Berlin day would always last 24 h).
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ValueError(
            f"empty window: end {end.isoformat()} must be after start {start.isoformat()}"
        )
    return start, end


def in_utc(sample: Sample) -> Sample:
    if sample.time.tzinfo is UTC:
        return sample
    return replace(sample, time=sample.time.astimezone(UTC))


def check_order(samples: Sequence[Sample]) -> None:
    for before, after in zip(samples, samples[1:], strict=False):
        if after.time < before.time:
            raise ValueError(_order_message(before.time, after.time))


def _order_message(before: datetime, after: datetime) -> str:
    return (
        f"samples must be in time order: {after.isoformat()} comes after "
        f"{before.isoformat()}; sort them by time first"
    )


def window_timeline(
    samples: Iterable[Sample], start: datetime, end: datetime
) -> tuple[list[Sample], int, int, int]:
    """Samples before `end`, one per time (the later wins); the index of the first one at or
    after `start`; the counts of samples and gaps inside the window (the raw points: a gap
    Home Assistant's recorder holds, `Sample.recorded`, counts in neither)."""
    timeline: list[Sample] = []
    previous: datetime | None = None
    for sample in map(in_utc, samples):
        moment = sample.time
        if previous is not None and moment < previous:
            raise ValueError(_order_message(previous, moment))
        previous = moment
        if moment >= end:
            break
        if timeline and timeline[-1].instant == sample.instant:
            timeline[-1] = sample
        else:
            timeline.append(sample)
    inside = len(timeline)
    while inside > 0 and timeline[inside - 1].time >= start:
        inside -= 1
    gap_samples = [sample for sample in timeline[inside:] if is_gap(sample)]
    recorded = sum(1 for sample in gap_samples if sample.recorded)
    gaps = len(gap_samples) - recorded
    return timeline, inside, len(timeline) - inside - gaps - recorded, gaps


def in_force(
    timeline: list[Sample], inside: int, start: datetime, end: datetime
) -> Iterator[tuple[Sample, float]]:
    """(sample, seconds it holds inside the window) for the carried-in sample and each
    sample in the window; a sample holds until the next one or the window end."""
    last = len(timeline) - 1
    for index in range(max(inside - 1, 0), last + 1):
        sample = timeline[index]
        held_from = sample.time if sample.time > start else start
        held_to = timeline[index + 1].time if index < last else end
        seconds = (held_to - held_from).total_seconds()
        if seconds > 0:
            yield sample, seconds


def is_gap(sample: Sample) -> bool:
    """Unknown/unavailable: nothing known from this time until the next sample."""
    return sample.value is None and sample.state is None and not sample.attributes


def reading_of(kind: str, sample: Sample) -> float | None:
    """The sample's numeric reading for a value kind, None when it has no usable one."""
    value = sample.value
    if value is None or not usable(value):
        return None
    if kind == "energy" and value < 0 and sample.state_class != TOTAL:
        return None  # HA skips negative total_increasing readings; a total may be negative
    return float(value)


def state_of(kind: str, sample: Sample) -> str | None:
    """The sample's state for a state kind, None when unknown."""
    if sample.state is not None:
        return sample.state
    if kind == "weather" or sample.value is None or not math.isfinite(sample.value):
        return None
    if kind == "binary":
        return "on" if sample.value else "off"
    value = float(sample.value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def is_on(sample: Sample) -> bool:
    # The numeric 1/0 is HA's own mapping of the state; the state covers samples without.
    if sample.value is not None and math.isfinite(sample.value):
        return sample.value > 0
    return sample.state is not None and binary_on(sample.state)
