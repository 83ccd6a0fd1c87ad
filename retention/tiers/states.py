"""The aggregation of the state kinds (binary, text, weather) over one window: coverage,
on-seconds, transitions, the last state and weather attribute means.

Pure Python, no I/O; the rules (step function, gaps, transitions) are those of
`retention.tiers.stepwise` (its module docstring), which calls `aggregate_states`.
"""

from __future__ import annotations

from datetime import datetime

from retention.entities.points import binary_on
from retention.entities.samples import Sample
from retention.tiers.aggregate import Aggregate
from retention.tiers.timeline import in_force, is_on, state_of, usable


def same_state(kind: str, state: str, other: str) -> bool:
    """Whether two states are one: a change of spelling alone ("ON"/"on", "Detected"/"detected")
    is none; a binary state is what it means, on or off (`binary_on`, as for on_seconds and the
    views' room activity), so its changes alternate on/off."""
    if kind == "binary":
        return binary_on(state) == binary_on(other)
    return state.casefold() == other.casefold()


def aggregate_states(
    kind: str,
    timeline: list[Sample],
    inside: int,
    start: datetime,
    end: datetime,
    previous_last_state: str | None,
) -> Aggregate:
    """The aggregate of a state kind over [start, end) (`stepwise.aggregate_window`'s)."""
    coverage = 0.0
    on_seconds = 0.0
    attribute_sums: dict[str, float] = {}
    attribute_coverage: dict[str, float] = {}
    for sample, seconds in in_force(timeline, inside, start, end):
        if kind == "weather":
            attributes = {k: v for k, v in sample.attributes.items() if usable(v)}
            if sample.state is None and not attributes:
                continue
            for name, value in attributes.items():
                attribute_sums[name] = attribute_sums.get(name, 0.0) + value * seconds
                attribute_coverage[name] = attribute_coverage.get(name, 0.0) + seconds
        elif state_of(kind, sample) is None:
            continue
        elif kind == "binary" and is_on(sample):
            on_seconds += seconds
        coverage += seconds

    last_state = previous_last_state
    for index in range(inside - 1, -1, -1):
        if (state := state_of(kind, timeline[index])) is not None:
            last_state = state
            break
    changes = 0
    for sample in timeline[inside:]:
        state = state_of(kind, sample)
        if state is None:
            continue
        if last_state is not None and not same_state(kind, state, last_state):
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
