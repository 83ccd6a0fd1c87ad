"""The aggregation math of the retention tiers: one window of samples -> one `Aggregate`.

Pure Python, no I/O. `retention.tiers.runner` reads samples (`retention.entities.ha_source`), calls
`aggregate_window`/`aggregate_windows`, writes `Aggregate.to_fields()` to InfluxDB, reads them
back with `Aggregate.from_fields` to verify, and builds daily rows with `compose`.

The semantics are Home Assistant's long-term statistics (reference/retention_semantics.md and
`homeassistant/components/sensor/recorder.py`):

- Step function: a sample's value holds until the next sample, no interpolation; the sample
  in force at the window start (carried in from before it) covers the window's first part.
- Gap: a sample with no value, no state and no attributes (HA's unknown/unavailable,
  `Sample(time)`). It stops the previous value from holding: the time until the next sample
  is not covered (no coverage, no mean weight, no on-seconds, no power energy). A sample that
  has no reading usable for the entity's kind (a non-finite value, a numeric entity's text
  state, a negative energy reading) also holds nothing but counts as a sample.
- Duplicate times: samples with the same time are one sample; the later in input order wins
  (as `ha_source` does with points of one entity sharing a time).
- `sample_count` counts the (deduplicated) samples with start <= time < end that are not
  gaps; `gap_count` counts the gaps there, so sample_count + gap_count is the number of raw
  points in the window (what `ha_source.count_samples` counts) and verification can account
  for every point before it is deleted.
- Energy meters (total_increasing): growth is computed pair by pair over consecutive valid
  readings, exactly as HA does: a step `prev -> new` adds `new - prev` when
  `new >= 0.9 * prev` (an increase, or a dip of less than 10 %, which HA treats as noise: it
  is logged and NOT a reset; HA moves its reference to the dipped reading, so the dip counts
  as negative growth that the recovery gives back: 100 -> 95 -> 100.5 grows 0.5), and adds
  `new` when `new < 0.9 * prev` (a reset: the new cycle's zero point is 0). Negative readings
  are skipped with a warning (HA skips them too). Because every step depends only on the pair
  of readings, window growths add up exactly: Σ hourly == daily == the whole range.
- Transitions (binary/text/weather): a sample at t in [start, end) whose state differs from
  the last known state before t counts as one change. Gaps are transparent: on -> gap -> on
  is no change, on -> gap -> off is one; the first state ever known is no change.
- `last_value`/`last_state`: the last known reading/state at or before the window end (the one
  in force at the end unless a gap is in force then); for energy the last valid meter reading.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from retention.entities.samples import Sample

logger = logging.getLogger(__name__)

KINDS = ("power", "energy", "numeric", "binary", "text", "weather")
VALUE_KINDS = frozenset({"power", "energy", "numeric"})
ENERGY_KINDS = frozenset({"power", "energy"})
# homeassistant.helpers.state.state_as_number: the states that count as 1 ("on").
ON_STATES = frozenset({"on", "open", "home", "locked", "above_horizon"})
WATT_SECONDS_PER_KWH = 3.6e6
DIP_FRACTION = 0.9  # HA: 0.9 * prev <= new < prev is noise, below that a meter reset
MEAN_SUFFIX = "_mean"
COVERAGE_SUFFIX = "_coverage_seconds"

FieldValue = int | float | str
T = TypeVar("T")


@dataclass
class Aggregate:
    """One entity's summary of one window [window_start, window_end).

    Fields that do not apply to the kind, or are unknown (no coverage), are None/empty and
    are left out of `to_fields()`: an unknown is never written as 0.
    """

    window_start: datetime
    window_end: datetime
    kind: str
    sample_count: int = 0
    coverage_seconds: float = 0.0
    gap_count: int = 0
    avg_value: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    last_value: float | None = None
    total_energy: float | None = None
    state_changes: int | None = None
    on_seconds: float | None = None
    last_state: str | None = None
    attribute_means: dict[str, float] = field(default_factory=dict)
    attribute_coverage: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        missing = sorted(set(self.attribute_means) - set(self.attribute_coverage))
        if missing:
            raise ValueError(
                f"weather aggregate at {self.window_start.isoformat()}: attribute means "
                f"{missing} have no coverage seconds; every mean needs its coverage so daily "
                "composition stays exact"
            )

    def to_fields(self) -> dict[str, FieldValue]:
        """The InfluxDB fields for this kind: ints for counts, floats for measures, a string
        for last_state; unknown fields omitted."""
        fields: dict[str, FieldValue] = {
            "sample_count": int(self.sample_count),
            "coverage_seconds": float(self.coverage_seconds),
            "gap_count": int(self.gap_count),
        }
        if self.kind in VALUE_KINDS:
            for name in ("avg_value", "min_value", "max_value", "last_value"):
                if (value := getattr(self, name)) is not None:
                    fields[name] = float(value)
            if self.kind in ENERGY_KINDS and self.total_energy is not None:
                fields["total_energy"] = float(self.total_energy)
            return fields
        if self.state_changes is not None:
            fields["state_changes"] = int(self.state_changes)
        if self.last_state is not None:
            fields["last_state"] = str(self.last_state)
        if self.kind == "binary" and self.on_seconds is not None:
            fields["on_seconds"] = float(self.on_seconds)
        if self.kind == "weather":
            for name in sorted(self.attribute_means):
                fields[name + MEAN_SUFFIX] = float(self.attribute_means[name])
                fields[name + COVERAGE_SUFFIX] = float(self.attribute_coverage[name])
        return fields

    @classmethod
    def from_fields(
        cls,
        kind: str,
        window_start: datetime,
        window_end: datetime,
        fields: Mapping[str, object],
    ) -> Aggregate:
        """An Aggregate from fields read back from InfluxDB. None values are absent fields
        (`SELECT *` returns every field key of the measurement); other keys are ignored."""
        check_kind(kind)
        missing = [n for n in ("sample_count", "coverage_seconds") if fields.get(n) is None]
        if missing:
            raise ValueError(
                f"{kind} aggregate at {window_start.isoformat()}: field(s) "
                f"{', '.join(missing)} missing, so this row was not written by enrich's "
                "tiers; delete it and rerun the downsampling for this window"
            )

        def number(name: str) -> float | None:
            value = fields.get(name)
            return None if value is None else _as_float(value, name)

        def count(name: str) -> int | None:
            value = fields.get(name)
            return None if value is None else int(_as_float(value, name))

        aggregate = cls(
            window_start,
            window_end,
            kind,
            sample_count=count("sample_count") or 0,
            coverage_seconds=number("coverage_seconds") or 0.0,
            gap_count=count("gap_count") or 0,
        )
        if kind in VALUE_KINDS:
            aggregate.avg_value = number("avg_value")
            aggregate.min_value = number("min_value")
            aggregate.max_value = number("max_value")
            aggregate.last_value = number("last_value")
            if kind in ENERGY_KINDS:
                aggregate.total_energy = number("total_energy")
            return aggregate
        aggregate.state_changes = count("state_changes")
        last_state = fields.get("last_state")
        aggregate.last_state = None if last_state is None else str(last_state)
        if kind == "binary":
            aggregate.on_seconds = number("on_seconds")
        if kind == "weather":
            for key, value in fields.items():
                if value is None:
                    continue
                if key.endswith(MEAN_SUFFIX):
                    aggregate.attribute_means[key[: -len(MEAN_SUFFIX)]] = _as_float(value, key)
                elif key.endswith(COVERAGE_SUFFIX):
                    name = key[: -len(COVERAGE_SUFFIX)]
                    aggregate.attribute_coverage[name] = _as_float(value, key)
            unmatched = sorted(set(aggregate.attribute_means) - set(aggregate.attribute_coverage))
            if unmatched:
                raise ValueError(
                    f"weather aggregate at {window_start.isoformat()}: means of {unmatched} "
                    f"have no '<attribute>{COVERAGE_SUFFIX}' field; rerun the downsampling "
                    "for this window so daily composition can weight them"
                )
            # Coverage without a mean cannot happen in rows we wrote; keep the pairs only.
            aggregate.attribute_coverage = {
                name: aggregate.attribute_coverage[name] for name in aggregate.attribute_means
            }
        return aggregate


def _as_float(value: object, name: str) -> float:
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"aggregate field {name}={value!r} is not a number")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown entity kind {kind!r}: expected one of {', '.join(KINDS)}")


def is_gap(sample: Sample) -> bool:
    """Unknown/unavailable: nothing known from this time until the next sample."""
    return sample.value is None and sample.state is None and not sample.attributes


# --- One window --------------------------------------------------------------------------
def aggregate_window(
    kind: str,
    samples: Iterable[Sample],
    start: datetime,
    end: datetime,
    *,
    previous_last_value: float | None = None,
    previous_last_state: str | None = None,
    entity_id: str | None = None,
) -> Aggregate | None:
    """Aggregate time-ordered `samples` over [start, end).

    `samples` may begin with samples before `start` (the carried-in one is in force at
    `start`); samples at or after `end` are ignored. `previous_last_value` /
    `previous_last_state` stand for the last known reading/state before the window when no
    sample before `start` has one (e.g. the previous window's `last_value` when the raw data
    before it is gone): the energy reference and the state transitions are counted from it.
    `entity_id` only names the entity in log messages. None when nothing is in force inside
    the window and no point lies in it.
    """
    check_kind(kind)
    start, end = _utc_window(start, end)
    timeline, inside, sample_count, gap_count = _timeline(samples, start, end)
    if kind in VALUE_KINDS:
        aggregate = _aggregate_values(
            kind, timeline, inside, start, end, previous_last_value, entity_id or kind
        )
    else:
        aggregate = _aggregate_states(kind, timeline, inside, start, end, previous_last_state)
    if aggregate.coverage_seconds == 0 and sample_count == 0 and gap_count == 0:
        return None
    aggregate.sample_count = sample_count
    aggregate.gap_count = gap_count
    return aggregate


def aggregate_windows(
    kind: str,
    samples: Iterable[Sample],
    windows: Sequence[tuple[datetime, datetime]],
    *,
    previous_last_value: float | None = None,
    previous_last_state: str | None = None,
    entity_id: str | None = None,
) -> list[Aggregate | None]:
    """`aggregate_window` for each of the ascending, non-overlapping `windows` over one
    time-ordered stream of samples (e.g. a day read at once, split into hours). Each window
    gets the sample in force at its start and the last known reading before it, so the
    windows' results compose exactly into the aggregate of the whole range."""
    timeline = [_in_utc(sample) for sample in samples]
    _check_order(timeline)
    results: list[Aggregate | None] = []
    position = 0  # first sample at or after the current window's start
    last_known: Sample | None = None  # last sample before it with a usable reading
    previous_end: datetime | None = None
    for window in windows:
        window_start, window_end = _utc_window(*window)
        if previous_end is not None and window_start < previous_end:
            raise ValueError(
                f"windows must be ascending and must not overlap: {window_start.isoformat()} "
                f"starts before the previous window ends ({previous_end.isoformat()})"
            )
        previous_end = window_end
        while position < len(timeline) and timeline[position].time < window_start:
            sample = timeline[position]
            overwritten = (
                position + 1 < len(timeline) and timeline[position + 1].time == sample.time
            )
            if not overwritten and _has_reading(kind, sample):
                last_known = sample
            position += 1
        stop = position
        while stop < len(timeline) and timeline[stop].time < window_end:
            stop += 1
        head: list[Sample] = []
        carried = timeline[position - 1] if position else None
        if last_known is not None and last_known is not carried:
            head.append(last_known)
        if carried is not None:
            head.append(carried)
        results.append(
            aggregate_window(
                kind,
                head + timeline[position:stop],
                window_start,
                window_end,
                previous_last_value=previous_last_value,
                previous_last_state=previous_last_state,
                entity_id=entity_id,
            )
        )
    return results


def _utc_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise ValueError(f"window {name} {moment!r} has no timezone; pass UTC times")
    # In UTC: Python subtracts two times of the same zone by wall clock, which is wrong
    # across a DST change (a Berlin day would always last 24 h).
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ValueError(
            f"empty window: end {end.isoformat()} is not after start {start.isoformat()}"
        )
    return start, end


def _in_utc(sample: Sample) -> Sample:
    if sample.time.tzinfo is UTC:
        return sample
    return replace(sample, time=sample.time.astimezone(UTC))


def _check_order(samples: Sequence[Sample]) -> None:
    for before, after in zip(samples, samples[1:], strict=False):
        if after.time < before.time:
            raise ValueError(_order_message(before.time, after.time))


def _order_message(before: datetime, after: datetime) -> str:
    return (
        f"samples must be in time order: {after.isoformat()} comes after "
        f"{before.isoformat()}; sort them by time first"
    )


def _timeline(
    samples: Iterable[Sample], start: datetime, end: datetime
) -> tuple[list[Sample], int, int, int]:
    """Samples before `end`, one per time (the later wins); the index of the first one at or
    after `start`; the counts of samples and gaps inside the window."""
    timeline: list[Sample] = []
    previous: datetime | None = None
    for sample in map(_in_utc, samples):
        moment = sample.time
        if previous is not None and moment < previous:
            raise ValueError(_order_message(previous, moment))
        previous = moment
        if moment >= end:
            break
        if timeline and timeline[-1].time == moment:
            timeline[-1] = sample
        else:
            timeline.append(sample)
    inside = len(timeline)
    while inside > 0 and timeline[inside - 1].time >= start:
        inside -= 1
    gaps = sum(1 for sample in timeline[inside:] if is_gap(sample))
    return timeline, inside, len(timeline) - inside - gaps, gaps


def _in_force(
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


def _reading(kind: str, sample: Sample) -> float | None:
    """The sample's numeric reading for a value kind, None when it has no usable one."""
    value = sample.value
    if value is None or not math.isfinite(value):
        return None
    if kind == "energy" and value < 0:
        return None  # HA skips negative meter readings
    return float(value)


def _state(kind: str, sample: Sample) -> str | None:
    """The sample's state for a state kind, None when unknown."""
    if sample.state is not None:
        return sample.state
    if kind == "weather" or sample.value is None or not math.isfinite(sample.value):
        return None
    if kind == "binary":
        return "on" if sample.value else "off"
    value = float(sample.value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _is_on(sample: Sample) -> bool:
    # The numeric 1/0 is HA's own mapping of the state; the state set covers samples without.
    if sample.value is not None and math.isfinite(sample.value):
        return sample.value > 0
    return sample.state is not None and sample.state.lower() in ON_STATES


def _has_reading(kind: str, sample: Sample) -> bool:
    if kind in VALUE_KINDS:
        return _reading(kind, sample) is not None
    return _state(kind, sample) is not None


def _aggregate_values(
    kind: str,
    timeline: list[Sample],
    inside: int,
    start: datetime,
    end: datetime,
    previous_last_value: float | None,
    label: str,
) -> Aggregate:
    weighted = 0.0
    coverage = 0.0
    low: float | None = None
    high: float | None = None
    for sample, seconds in _in_force(timeline, inside, start, end):
        value = _reading(kind, sample)
        if value is None:
            continue
        coverage += seconds
        weighted += value * seconds
        if low is None or value < low:
            low = value
        if high is None or value > high:
            high = value
    aggregate = Aggregate(
        start, end, kind, coverage_seconds=coverage, min_value=low, max_value=high
    )
    if coverage > 0:
        aggregate.avg_value = _clamp(weighted / coverage, low, high)
        if kind == "power":
            aggregate.total_energy = weighted / WATT_SECONDS_PER_KWH
    if kind == "energy":
        reference = _last_reading(kind, timeline, inside, previous_last_value)
        aggregate.total_energy, aggregate.last_value = _growth(timeline, inside, reference, label)
    else:
        aggregate.last_value = _last_reading(kind, timeline, len(timeline), previous_last_value)
    return aggregate


def _last_reading(
    kind: str, timeline: list[Sample], stop: int, fallback: float | None
) -> float | None:
    for index in range(stop - 1, -1, -1):
        if (value := _reading(kind, timeline[index])) is not None:
            return value
    return None if fallback is None else float(fallback)


def _growth(
    timeline: list[Sample], inside: int, reference: float | None, label: str
) -> tuple[float | None, float | None]:
    """Meter growth inside the window and the last valid reading (HA's total_increasing)."""
    growth = None if reference is None else 0.0
    for sample in timeline[inside:]:
        value = sample.value
        if value is None or not math.isfinite(value):
            continue
        if value < 0:
            logger.warning(
                "%s: negative energy meter reading %s at %s skipped (a total_increasing "
                "meter cannot be negative; Home Assistant skips it too)",
                label,
                value,
                sample.time.isoformat(),
            )
            continue
        if reference is None or growth is None:
            reference, growth = value, 0.0  # the first reading ever is the zero point
            continue
        if value >= DIP_FRACTION * reference:
            if value < reference:
                logger.warning(
                    "%s: energy meter reading dipped from %s to %s at %s (less than 10 %%): "
                    "treated as noise, not as a meter reset, as Home Assistant does",
                    label,
                    reference,
                    value,
                    sample.time.isoformat(),
                )
            growth += value - reference
        else:
            logger.info(
                "%s: energy meter reset from %s to %s at %s: new cycle counted from 0",
                label,
                reference,
                value,
                sample.time.isoformat(),
            )
            growth += value
        reference = value
    return growth, reference


def _aggregate_states(
    kind: str,
    timeline: list[Sample],
    inside: int,
    start: datetime,
    end: datetime,
    previous_last_state: str | None,
) -> Aggregate:
    coverage = 0.0
    on_seconds = 0.0
    attribute_sums: dict[str, float] = {}
    attribute_coverage: dict[str, float] = {}
    for sample, seconds in _in_force(timeline, inside, start, end):
        if kind == "weather":
            attributes = {k: v for k, v in sample.attributes.items() if math.isfinite(v)}
            if sample.state is None and not attributes:
                continue
            for name, value in attributes.items():
                attribute_sums[name] = attribute_sums.get(name, 0.0) + value * seconds
                attribute_coverage[name] = attribute_coverage.get(name, 0.0) + seconds
        elif _state(kind, sample) is None:
            continue
        elif kind == "binary" and _is_on(sample):
            on_seconds += seconds
        coverage += seconds

    last_state = previous_last_state
    for index in range(inside - 1, -1, -1):
        if (state := _state(kind, timeline[index])) is not None:
            last_state = state
            break
    changes = 0
    for sample in timeline[inside:]:
        state = _state(kind, sample)
        if state is None:
            continue
        if last_state is not None and state != last_state:
            changes += 1
        last_state = state

    aggregate = Aggregate(start, end, kind, coverage_seconds=coverage)
    aggregate.state_changes = changes
    aggregate.last_state = last_state
    if kind == "binary":
        aggregate.on_seconds = on_seconds
    if kind == "weather":
        aggregate.attribute_means = {
            name: attribute_sums[name] / seconds
            for name, seconds in attribute_coverage.items()
            if seconds > 0
        }
        aggregate.attribute_coverage = {
            name: attribute_coverage[name] for name in aggregate.attribute_means
        }
    return aggregate


def _clamp(mean: float, low: float | None, high: float | None) -> float:
    # Mathematically low <= mean <= high; float rounding of the weighted sum can step an ulp
    # outside (0.1 held everywhere averages to 0.10000000000000002).
    if low is not None and mean < low:
        return low
    if high is not None and mean > high:
        return high
    return mean


# --- Composition (hourly -> daily) ------------------------------------------------------
def compose(
    kind: str, aggregates: Sequence[Aggregate], start: datetime, end: datetime
) -> Aggregate | None:
    """The exact aggregate of [start, end) from the aggregates of finer windows inside it
    (e.g. the day's hourly rows): coverage-weighted means, min of mins, max of maxes, sums of
    counts, coverage, energy and on-seconds, the last known last_value/last_state. Windows
    without a row had nothing in force and no point. None when there are no aggregates."""
    check_kind(kind)
    start, end = _utc_window(start, end)
    parts = sorted(aggregates, key=lambda part: part.window_start)
    if not parts:
        return None
    previous_end = start
    for part in parts:
        if part.kind != kind:
            raise ValueError(
                f"cannot compose a {part.kind} aggregate ({part.window_start.isoformat()}) "
                f"into a {kind} window"
            )
        if part.window_start < previous_end or part.window_end > end:
            raise ValueError(
                f"aggregate window {part.window_start.isoformat()}–"
                f"{part.window_end.isoformat()} overlaps another one or lies outside "
                f"{start.isoformat()}–{end.isoformat()}: pass each finer window once"
            )
        previous_end = part.window_end

    result = Aggregate(
        start,
        end,
        kind,
        sample_count=sum(part.sample_count for part in parts),
        coverage_seconds=sum(part.coverage_seconds for part in parts),
        gap_count=sum(part.gap_count for part in parts),
    )
    if kind in VALUE_KINDS:
        result.min_value = _known_min(part.min_value for part in parts)
        result.max_value = _known_max(part.max_value for part in parts)
        result.avg_value = _weighted_mean((part.avg_value, part.coverage_seconds) for part in parts)
        if result.avg_value is not None:
            result.avg_value = _clamp(result.avg_value, result.min_value, result.max_value)
        result.last_value = _last_known(part.last_value for part in parts)
        if kind in ENERGY_KINDS:
            result.total_energy = _known_sum(part.total_energy for part in parts)
        return result
    changes = _known_sum(part.state_changes for part in parts)
    result.state_changes = None if changes is None else int(changes)
    result.last_state = _last_known(part.last_state for part in parts)
    if kind == "binary":
        result.on_seconds = _known_sum(part.on_seconds for part in parts)
    if kind == "weather":
        names = sorted({name for part in parts for name in part.attribute_means})
        for name in names:
            pairs = [
                (part.attribute_means[name], part.attribute_coverage[name])
                for part in parts
                if name in part.attribute_means
            ]
            mean = _weighted_mean(pairs)
            if mean is not None:
                result.attribute_means[name] = mean
                result.attribute_coverage[name] = sum(seconds for _, seconds in pairs)
    return result


def _weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    total = 0.0
    weight = 0.0
    for mean, seconds in pairs:
        if mean is not None and seconds > 0:
            total += mean * seconds
            weight += seconds
    return total / weight if weight > 0 else None


def _known_sum(values: Iterable[float | int | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _known_min(values: Iterable[float | None]) -> float | None:
    return min((value for value in values if value is not None), default=None)


def _known_max(values: Iterable[float | None]) -> float | None:
    return max((value for value in values if value is not None), default=None)


def _last_known(values: Iterable[T | None]) -> T | None:
    last = None
    for value in values:
        if value is not None:
            last = value
    return last


# --- Windows (UTC) ------------------------------------------------------------------------
def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour containing `moment`."""
    _require_aware(moment)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    """The start of the UTC day containing `moment`."""
    return floor_hour(moment).replace(hour=0)


def hour_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The UTC hours [h, h + 1 h) from `start` to `end`, both on UTC hour boundaries."""
    return _windows(start, end, timedelta(hours=1), floor_hour, "hour")


def day_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The UTC days [d, d + 1 d) from `start` to `end`, both at UTC midnight."""
    return _windows(start, end, timedelta(days=1), floor_day, "day")


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass UTC times")


def _windows(
    start: datetime,
    end: datetime,
    step: timedelta,
    floor: Callable[[datetime], datetime],
    unit: str,
) -> list[tuple[datetime, datetime]]:
    for name, moment in (("start", start), ("end", end)):
        _require_aware(moment)
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
