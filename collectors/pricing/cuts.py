"""Windows the whole price slots cannot make (1.5 h or 45 min from hourly prices): they start
or end inside a slot and use that part of it at the slot's price (see `windows`' docstring).

With piecewise-constant prices, the average of a window of fixed length changes linearly
while neither end crosses a slot boundary, so the best window starts now, at a slot start, or
ends at a slot end or at the limit: those are the unbroken candidates. A split set is best
with at most one end inside a slot: whole slots and one part of another slot, at its start or
its end, as long as the duration minus those whole slots; the split rules choose among all
such sets.
"""

import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import reduce

from collectors.pricing.pieces import Cut, Priced, average, pieces_from, seconds

EPSILON = 1e-9


def common_width(slots: Sequence[Priced]) -> int:
    """The largest width (seconds) that every slot's width is a multiple of; 0 for none."""
    return reduce(math.gcd, [round(seconds(s)) for s in slots], 0)


def whole(usable: Sequence[Priced], wanted: float) -> bool:
    """Whether `wanted` seconds can be a number of whole slots: a multiple of their common
    width (then only whole slots are used, as always)."""
    unit = common_width(usable)
    return unit > 0 and abs(wanted / unit - round(wanted / unit)) <= 1e-6


def best_run(
    known: Sequence[Priced],
    duration: timedelta,
    now: datetime,
    limit: datetime,
    sign: float,
    cut: Cut,
) -> list[Priced] | None:
    """The best unbroken window of `duration` within [now, limit] that starts at a slot start,
    ends at a slot end or at the limit (running now is the caller's); its parts made by `cut`. The lowest
    signed average wins, a later start winning ties; None when no such window is priced."""
    ends = {s.end for s in known} | {limit}
    starts = sorted({s.start for s in known} | {end - duration for end in ends})
    best: list[Priced] | None = None
    best_score = math.inf
    for start in starts:
        if start < now or start + duration > limit:
            continue
        parts = pieces_from(known, start, duration, cut)
        if parts is None:
            continue  # a gap in the prices
        score = sign * average(parts)
        if score <= best_score + EPSILON:
            best, best_score = parts, min(score, best_score)
    return best


def split_choices(usable: Sequence[Priced], wanted: float, cut: Cut) -> Iterator[list[Priced]]:
    """The usable slots with one of them replaced by a part of it at its start or at its end:
    every part of p seconds a split set of `wanted` seconds may use (p = wanted minus whole
    slots: wanted modulo the slots' common width, plus multiples of that width, shorter than
    the slot), made by `cut`."""
    unit = common_width(usable)
    rest = round(wanted) % unit
    for index, slot in enumerate(usable):
        for length in range(rest, round(seconds(slot)), unit):
            part = timedelta(seconds=length)
            for start in (slot.start, slot.end - part):
                chosen = cut(slot, start, start + part)
                if chosen is not None:
                    yield [*usable[:index], chosen, *usable[index + 1 :]]
