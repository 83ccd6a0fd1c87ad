"""The aggregation math of the retention tiers: one window of samples -> one `Aggregate`.

Pure Python, no I/O. The hourly tier (`retention.tiers.hourly`) reads samples
(`retention.entities.ha_source`), calls `aggregate_windows` and writes `Aggregate.to_fields()`
(`retention.tiers.aggregate`, where `compose` builds daily rows from hourly ones); late points
and the views call `aggregate_window`. Windows and the step function: `retention.tiers.timeline`.

The semantics are Home Assistant's long-term statistics (reference/retention_semantics.md and
`homeassistant/components/sensor/recorder.py`):

- Step function: a sample's value holds until the next sample, no interpolation; the sample
  in force at the window start (carried in from before it) covers the window's first part.
- Gap: a sample with no value, no state and no attributes (HA's unknown/unavailable,
  `Sample(time)`). It stops the previous value from holding: the time until the next sample
  is not covered (no coverage, no mean weight, no on-seconds, no power energy). A sample that
  has no reading usable for the entity's kind (a non-finite value or one beyond +-1e300,
  `timeline.READING_LIMIT`; a numeric entity's text state; a negative reading of an energy
  meter that is not `total`) also holds nothing but counts as a sample.
- Duplicate times: samples with the same time (to the nanosecond, `Sample.instant`) are one
  sample; the later in input order wins (as `ha_source` does with points of one entity
  sharing a time). Two within one microsecond are two samples; the earlier holds 0 s.
- `sample_count` counts the (deduplicated) samples with start <= time < end that are not
  gaps; `gap_count` counts the gaps there, so sample_count + gap_count is the number of raw
  points in the window (what `ha_source.count_samples` counts) and verification can account
  for every point before it is deleted. A gap Home Assistant's recorder holds and InfluxDB
  has no point of (`Sample.recorded`, `retention.entities.recorded_gaps`) stops the value like
  a gap and counts in neither; a window it lies in has an aggregate even when nothing else
  does, so the tiers' row says nothing holds at its end.
- Energy meters: growth is computed pair by pair over consecutive valid readings, exactly as
  HA does, by the state class written with the new reading (`Sample.state_class`, read from
  the points: official `state_class_str`, ingestor attribute `state_class`):
  - `total_increasing`, and any reading without a state class:
    a step `prev -> new` adds `new - prev` when `new >= 0.9 * prev` (an increase, or a dip
    of less than 10 %, which HA treats as noise: it is logged and NOT a reset; HA moves its
    reference to the dipped reading, so the dip counts as negative growth that the recovery
    gives back: 100 -> 95 -> 100.5 grows 0.5), and adds `new` when `new < 0.9 * prev` (a
    reset: the new cycle's zero point is 0). Negative readings are skipped with a warning
    (HA skips them too).
  - `total` (a net grid meter, a daily or monthly meter): every step adds `new - prev`, a
    decrease too (12 -> 2 is -10), and negative readings are valid. Only a change of
    `last_reset` (official `last_reset_str`, ingestor attribute `last_reset`; compared in
    UTC, `points.last_reset_of`) starts a new cycle: that reading counts in full from 0,
    whether it dropped, dipped or rose. A reading without last_reset keeps the cycle; a
    `total` meter without last_reset never resets.
  The cycle (the last last_reset that started one) is carried like the reference reading:
  the last_reset of the reading a window starts from, else the previous window's
  `Aggregate.last_reset` (stored in the rows as `last_reset`; `previous_last_reset`:
  `aggregate_windows` hands it on, the hourly tier takes it from the previous hourly row, the
  carried-in reading from its `carry_*` fields), so a change exactly at a window boundary
  counts in the window it lies in, once. Because every step depends only on the pair of readings and the cycle
  before it, window growths add up exactly: Σ hourly == daily == the whole range.
- Transitions (binary/text/weather, `retention.tiers.states`): a sample at t in [start, end)
  whose state differs from the last known state before t counts as one change. Gaps are
  transparent: on -> gap -> on is no change, on -> gap -> off is one; the first state ever
  known is no change.
- `last_value`/`last_state`: the last known reading/state at or before the window end (the one
  in force at the end unless a gap is in force then); for energy the last valid meter reading,
  and `last_reset` the meter's cycle then.
- `first_reading_time`: an energy meter's first reading ever (no reading known before it: none
  carried in, no previous last_value), on the window it lies in, so a meter's day counts from
  it once its raw points are gone (`retention.rollups.meter_power`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from retention.entities.samples import Sample
from retention.tiers.aggregate import (
    VALUE_KINDS,
    WATT_SECONDS_PER_KWH,
    Aggregate,
    check_kind,
    clamp,
)
from retention.tiers.states import aggregate_states
from retention.tiers.timeline import (
    TOTAL,
    check_order,
    in_force,
    in_utc,
    reading_of,
    state_of,
    usable,
    utc_window,
    window_timeline,
)

logger = logging.getLogger(__name__)

DIP_FRACTION = 0.9  # HA: 0.9 * prev <= new < prev is noise, below that a meter reset


def aggregate_window(
    kind: str,
    samples: Iterable[Sample],
    start: datetime,
    end: datetime,
    *,
    previous_last_value: float | None = None,
    previous_last_state: str | None = None,
    previous_last_reset: str | None = None,
    entity_id: str | None = None,
) -> Aggregate | None:
    """Aggregate time-ordered `samples` over [start, end).

    `samples` may begin with samples before `start` (the carried-in one is in force at
    `start`); samples at or after `end` are ignored. `previous_last_value` /
    `previous_last_state` stand for the last known reading/state before the window when no
    sample before `start` has one (e.g. the previous window's `last_value` when the raw data
    before it is gone): the energy reference and the state transitions are counted from it.
    `previous_last_reset` is an energy meter's cycle before the window (the previous window's
    `last_reset`), taken when the `total` reading the growth starts from has no last_reset.
    `entity_id` only names the entity in log messages. None when nothing is in force inside
    the window and no point lies in it.
    """
    check_kind(kind)
    start, end = utc_window(start, end)
    timeline, inside, sample_count, gap_count = window_timeline(samples, start, end)
    if kind in VALUE_KINDS:
        previous = (previous_last_value, previous_last_reset)
        aggregate = _aggregate_values(
            kind, timeline, inside, start, end, previous, entity_id or kind
        )
    else:
        aggregate = aggregate_states(kind, timeline, inside, start, end, previous_last_state)
    if aggregate.coverage_seconds == 0 and sample_count == 0 and gap_count == 0:
        # Nothing to say, unless a recorded gap lies inside: its row says nothing holds then.
        if not any(sample.recorded for sample in timeline[inside:]):
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
    previous_last_reset: str | None = None,
    entity_id: str | None = None,
) -> list[Aggregate | None]:
    """`aggregate_window` for each of the ascending, non-overlapping `windows` over one
    time-ordered stream of samples (e.g. a day read at once, split into hours). Each window
    gets the sample in force at its start and the last known reading before it, so the
    windows' results compose exactly into the aggregate of the whole range; an energy meter's
    cycle (`last_reset`) is handed on from window to window."""
    timeline = [in_utc(sample) for sample in samples]
    check_order(timeline)
    results: list[Aggregate | None] = []
    position = 0  # first sample at or after the current window's start
    last_known: Sample | None = None  # last sample before it with a usable reading
    previous_end: datetime | None = None
    for window in windows:
        window_start, window_end = utc_window(*window)
        if previous_end is not None and window_start < previous_end:
            raise ValueError(
                f"windows must be ascending and must not overlap: {window_start.isoformat()} "
                f"starts before the previous window ends ({previous_end.isoformat()})"
            )
        previous_end = window_end
        passed = position
        while position < len(timeline) and timeline[position].time < window_start:
            position += 1
        # The newest of the samples passed now with a usable reading, if any (one overwritten
        # by the next sample at the same time does not count), else the one known before.
        for index in range(position - 1, passed - 1, -1):
            sample = timeline[index]
            overwritten = (
                index + 1 < len(timeline) and timeline[index + 1].instant == sample.instant
            )
            if not overwritten and _has_reading(kind, sample):
                last_known = sample
                break
        stop = position
        while stop < len(timeline) and timeline[stop].time < window_end:
            stop += 1
        head: list[Sample] = []
        carried = timeline[position - 1] if position else None
        if last_known is not None and last_known is not carried:
            head.append(last_known)
        if carried is not None:
            head.append(carried)
        result = aggregate_window(
            kind,
            head + timeline[position:stop],
            window_start,
            window_end,
            previous_last_value=previous_last_value,
            previous_last_state=previous_last_state,
            previous_last_reset=previous_last_reset,
            entity_id=entity_id,
        )
        if result is not None and result.last_reset is not None:
            previous_last_reset = result.last_reset
        results.append(result)
    return results


def _has_reading(kind: str, sample: Sample) -> bool:
    if kind in VALUE_KINDS:
        return reading_of(kind, sample) is not None
    return state_of(kind, sample) is not None


def _aggregate_values(
    kind: str,
    timeline: list[Sample],
    inside: int,
    start: datetime,
    end: datetime,
    previous: tuple[float | None, str | None],
    label: str,
) -> Aggregate:
    previous_last_value, previous_last_reset = previous
    coverage, weighted, low, high = step_sums(
        (reading_of(kind, sample), seconds)
        for sample, seconds in in_force(timeline, inside, start, end)
    )
    aggregate = Aggregate(
        start, end, kind, coverage_seconds=coverage, min_value=low, max_value=high
    )
    if coverage > 0:
        aggregate.avg_value = clamp(weighted / coverage, low, high)
        if kind == "power":
            aggregate.total_energy = weighted / WATT_SECONDS_PER_KWH
    if kind == "energy":
        meter = _growth(timeline, inside, (previous_last_value, previous_last_reset), label)
        aggregate.total_energy, aggregate.last_value, aggregate.last_reset = meter
        aggregate.first_reading_time = _first_reading(timeline, inside, previous_last_value)
    else:
        aggregate.last_value = _last_reading(kind, timeline, len(timeline), previous_last_value)
    return aggregate


def step_sums(
    pieces: Iterable[tuple[float | None, float]],
) -> tuple[float, float, float | None, float | None]:
    """The step function over one window from its pieces in time order, (reading, seconds it
    holds in the window): seconds covered, the sum of reading x seconds, the lowest and the
    highest reading. A piece with no reading (a gap, or one not `usable`: beyond
    READING_LIMIT) or no time covers nothing.

    The one place of this arithmetic: the tiers (`_aggregate_values`) and the energy view's
    fast path (`retention.rollups.power`) both sum here, in the same order, so their results
    are equal float for float. It takes a window's whole run of pieces, not one per call."""
    coverage = weighted = 0.0
    low: float | None = None
    high: float | None = None
    for value, seconds in pieces:
        if value is None or seconds <= 0 or not usable(value):
            continue
        coverage += seconds
        weighted += value * seconds
        if low is None or value < low:
            low = value
        if high is None or value > high:
            high = value
    return coverage, weighted, low, high


def _last_reading(
    kind: str, timeline: list[Sample], stop: int, fallback: float | None
) -> float | None:
    sample = _last_with_reading(kind, timeline, stop)
    if sample is not None:
        return reading_of(kind, sample)
    return None if fallback is None else float(fallback)


def _last_with_reading(kind: str, timeline: list[Sample], stop: int) -> Sample | None:
    for index in range(stop - 1, -1, -1):
        if reading_of(kind, timeline[index]) is not None:
            return timeline[index]
    return None


def _first_reading(
    timeline: list[Sample], inside: int, previous_last_value: float | None
) -> float | None:
    """The time (seconds since the epoch) of a meter's first reading ever when it lies in the
    window: no reading known before it (none before `inside`, no `previous_last_value`)."""
    if (
        previous_last_value is not None
        or _last_with_reading("energy", timeline, inside) is not None
    ):
        return None
    first = next((s for s in timeline[inside:] if reading_of("energy", s) is not None), None)
    return None if first is None else first.time.timestamp()


def _meter_start(
    timeline: list[Sample], inside: int, previous: tuple[float | None, str | None]
) -> tuple[Sample | None, float | None, str | None]:
    """(the last reading before `inside`, None: none; the reference reading, else `previous`'s;
    the cycle's last_reset: `previous`'s unless the reading it starts from says the cycle)."""
    start_from = _last_with_reading("energy", timeline, inside)
    reference = previous[0] if start_from is None else reading_of("energy", start_from)
    cycle = previous[1]
    if start_from is not None and start_from.state_class == TOTAL and start_from.last_reset:
        cycle = start_from.last_reset
    return start_from, reference, cycle


def _growth(
    timeline: list[Sample], inside: int, previous: tuple[float | None, str | None], label: str
) -> tuple[float | None, float | None, str | None]:
    """Meter growth inside the window from the reading before it (else `previous`: the
    reference reading and the cycle's last_reset), the last valid reading and the cycle at
    the end (`meter_steps`)."""
    _, reference, cycle = _meter_start(timeline, inside, previous)
    growth = None if reference is None else 0.0
    for _, sample, step, after in meter_steps(timeline, inside, previous, label):
        growth = (growth or 0.0) + (step or 0.0)
        reference, cycle = sample.value, after
    return growth, reference, cycle


def meter_steps(
    timeline: list[Sample],
    inside: int,
    previous: tuple[float | None, str | None],
    label: str | None,
) -> Iterator[tuple[Sample | None, Sample, float | None, str | None]]:
    """(the reading before, None: only `previous` or nothing; the reading; the growth it
    counts, None for the first reading ever, the zero point; the cycle after it) for each
    valid meter reading of timeline[inside:], each step by the state class of its new reading
    (the module docstring), from the reading before `inside` (else `previous`). Resets, dips
    and skipped readings are logged naming `label`; None for a second walk over readings
    another already logged (a view's cost)."""

    def note(level: int, message: str, *args: object) -> None:
        if label is not None:
            logger.log(level, message, label, *args)

    before, reference, cycle = _meter_start(timeline, inside, previous)
    for sample in timeline[inside:]:
        value = sample.value
        if value is None or not usable(value):
            continue
        total = sample.state_class == TOTAL
        if value < 0 and not total:
            note(
                logging.WARNING,
                "%s: negative energy meter reading %s at %s skipped (a total_increasing "
                "meter cannot be negative; Home Assistant skips it too)",
                value,
                sample.time.isoformat(),
            )
            continue
        new_cycle = total and sample.last_reset is not None and sample.last_reset != cycle
        if new_cycle:
            cycle = sample.last_reset
        if reference is None:
            reference = value  # the first reading ever is the zero point
            yield before, sample, None, cycle
            before = sample
            continue
        if new_cycle:
            note(
                logging.INFO,
                "%s: energy meter last_reset changed to %s at %s: new cycle counted from 0",
                cycle,
                sample.time.isoformat(),
            )
            step = value
        elif total or value >= DIP_FRACTION * reference:
            if value < reference and not total:
                note(
                    logging.WARNING,
                    "%s: energy meter reading dipped from %s to %s at %s (less than 10 %%): "
                    "treated as noise, not as a meter reset, as Home Assistant does",
                    reference,
                    value,
                    sample.time.isoformat(),
                )
            step = value - reference
        else:
            note(
                logging.INFO,
                "%s: energy meter reset from %s to %s at %s: new cycle counted from 0",
                reference,
                value,
                sample.time.isoformat(),
            )
            step = value
        reference = value
        yield before, sample, step, cycle
        before = sample
