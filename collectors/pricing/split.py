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
    # (units, runs, previous taken) -> (signed total, -sum of start stamps)
    states: dict[tuple[int, int, bool], tuple[float, float]] = {(0, 0, False): (0.0, 0.0)}
    steps: list[dict[tuple[int, int, bool], tuple[tuple[int, int, bool], bool]]] = []
    for index, (slot, size) in enumerate(zip(usable, sizes, strict=True)):
        cost, stamp = sign * slot.price * size, slot.start.timestamp()
        joins = index > 0 and usable[index - 1].end == slot.start
        following: dict[tuple[int, int, bool], tuple[float, float]] = {}
        came_from: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], bool]] = {}
        for key, (total, later) in states.items():
            units, runs, taken = key
            skipped = (units, runs, False)  # leaving this slot out
            held = following.get(skipped)
            if held is None or _better(total, later, held):
                following[skipped] = (total, later)
                came_from[skipped] = (key, False)
            runs_after = runs if (taken and joins) else runs + 1
            if units + size > capacity or runs_after > runs_allowed:
                continue
            took = (units + size, runs_after, True)  # taking it
            new_total, new_later = total + cost, later - stamp
            held = following.get(took)
            if held is None or _better(new_total, new_later, held):
                following[took] = (new_total, new_later)
                came_from[took] = (key, True)
        steps.append(came_from)
        states = following
    finals = [
        (total + (key[1] - 1) * share * abs(total), key[1], later, key)
        for key, (total, later) in states.items()
        if key[0] == capacity and key[1] >= 1
    ]
    if not finals:
        return None
    best = finals[0]
    for candidate in finals[1:]:
        if candidate[0] < best[0] - EPSILON or (
            abs(candidate[0] - best[0]) <= EPSILON and candidate[1:3] < best[1:3]
        ):
            best = candidate
    chosen, key = [], best[3]
    for index in range(len(usable) - 1, -1, -1):
        key, took = steps[index][key]
        if took:
            chosen.append(usable[index])
    return chosen[::-1]


def _better(total: float, later: float, than: tuple[float, float]) -> bool:
    if total < than[0] - EPSILON:
        return True
    return abs(total - than[0]) <= EPSILON and later < than[1]
