"""The best split set of slots when interruptions cost something (see `windows`' docstring).

An exact dynamic programme over the slots in time order: the state is (units used, runs so
far, whether the previous slot was taken), so the number of back-to-back runs is known for
every candidate and the penalty, which depends on the set's own total, is applied at the end
per run count. For a fixed run count the judged value grows with the total while the penalty
stays below 100 % of it, so keeping the lowest total per state is exact.
"""

import math
from collections.abc import Sequence
from typing import Protocol

EPSILON = 1e-9


class _Slot(Protocol):
    @property
    def start(self): ...
    @property
    def end(self): ...
    @property
    def price(self) -> float: ...


def most_windows(share: float, max_windows: int | None, capacity: int) -> int:
    """The most runs a set may have: `max_windows`, and fewer than 1 + 1/share (beyond that
    the interruptions would cost the whole plan again)."""
    limit = capacity if max_windows is None else min(max_windows, capacity)
    if share > 0:
        limit = min(limit, 1 + math.floor((1 - 1e-12) / share))
    return max(limit, 1)


def best_split(
    usable: Sequence[_Slot],
    sizes: Sequence[int],
    capacity: int,
    sign: float,
    share: float,
    max_windows: int | None,
) -> list[_Slot] | None:
    """The slots (time order) of `capacity` units with the lowest judged total (ties: fewer
    runs, then later slots); None when no set fits."""
    runs_allowed = most_windows(share, max_windows, capacity)
    width = 2 * (runs_allowed + 1)  # a state is units * width + runs * 2 + (previous taken)
    # state -> (signed total, -sum of start stamps); steps[i][state] = (previous state, taken)
    states: dict[int, tuple[float, float]] = {0: (0.0, 0.0)}
    steps: list[dict[int, tuple[int, bool]]] = []
    for index, (slot, size) in enumerate(zip(usable, sizes, strict=True)):
        cost, stamp = sign * slot.price * size, slot.start.timestamp()
        joins = index > 0 and usable[index - 1].end == slot.start
        following: dict[int, tuple[float, float]] = {}
        came_from: dict[int, tuple[int, bool]] = {}
        room = (capacity - size) * width  # states below this have room for the slot
        for state, value in states.items():
            skipped = state & ~1  # leaving this slot out
            held = following.get(skipped)
            # inlined `_better` (this loop runs a million times for long split plans)
            if (
                held is None
                or value[0] < held[0] - EPSILON
                or (value[0] <= held[0] + EPSILON and value[1] < held[1])
            ):
                following[skipped] = value
                came_from[skipped] = (state, False)
            if state >= room + width:
                continue
            runs = (state % width) >> 1
            same_run = joins and state & 1
            if not same_run and runs == runs_allowed:
                continue
            took = state + size * width + (0 if same_run else 2) | 1  # taking it
            total, later = value[0] + cost, value[1] - stamp
            held = following.get(took)
            if (
                held is None
                or total < held[0] - EPSILON
                or (total <= held[0] + EPSILON and later < held[1])
            ):
                following[took] = (total, later)
                came_from[took] = (state, True)
        steps.append(came_from)
        states = following
    finals = []
    for state, (total, later) in states.items():
        runs = (state % width) >> 1
        if state // width == capacity and runs >= 1:
            finals.append((total + (runs - 1) * share * abs(total), runs, later, state))
    if not finals:
        return None
    best = finals[0]
    for candidate in finals[1:]:
        if candidate[0] < best[0] - EPSILON or (
            abs(candidate[0] - best[0]) <= EPSILON and candidate[1:3] < best[1:3]
        ):
            best = candidate
    chosen, state = [], best[3]
    for index in range(len(usable) - 1, -1, -1):
        state, took = steps[index][state]
        if took:
            chosen.append(usable[index])
    return chosen[::-1]
