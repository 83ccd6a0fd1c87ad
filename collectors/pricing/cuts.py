"""Windows the whole price slots cannot make (1.5 h or 45 min from hourly prices), or not
the best of (over mixed widths): they start or end inside a slot and use that part of it at
the slot's price (see `windows`' docstring).

With piecewise-constant prices, the average of a window of fixed length changes linearly
while neither end crosses a slot boundary (or an edge where a part's own price changes: a
carbon forecast's slot), so the best window starts now, at a slot start or an edge, or ends at
a slot end, an edge or the limit: those are the unbroken candidates. A split set is best
with at most one end inside a slot: whole slots and one part of another slot, at its start or
its end, as long as the duration minus those whole slots; the split rules choose among all
such sets.
"""

import bisect
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import reduce

from collectors.pricing.pieces import Cut, Priced, average, ordered, pieces_from, seconds

EPSILON = 1e-9


def common_width(slots: Sequence[Priced]) -> int:
    """The largest width (seconds) that every slot's width is a multiple of; 0 for none."""
    return reduce(math.gcd, [round(seconds(s)) for s in slots], 0)


def whole(usable: Sequence[Priced], wanted: float) -> bool:
    """Whether the best window of `wanted` seconds is made of whole slots: the slots are all
    of one width and `wanted` is a multiple of it. Over mixed widths (hourly, then quarter
    hours) a window starting inside an hour may be better, even when the quarter hours make
    its length a whole number of slots: then parts of slots are considered too."""
    unit = common_width(usable)
    one_width = len({round(seconds(s)) for s in usable}) == 1
    return one_width and abs(wanted / unit - round(wanted / unit)) <= 1e-6


def whole_minute(moment: datetime) -> datetime:
    """`moment` without its seconds: where a split set's part before a deadline ends."""
    return moment.replace(second=0, microsecond=0)


def running_rest(
    known: Sequence[Priced], now: datetime, limit: datetime, cut: Cut, edges: Iterable[datetime]
) -> list[Priced]:
    """The rest of the slot running at `now` that a split set may use, as `sub_slots` cuts
    the later ones: from now to the slot's end or the limit, cut at each of `edges` inside
    it; [] when none is left."""
    for slot in known:
        if slot.start < now < slot.end:
            end = min(slot.end, limit)
            if now >= end:
                return []  # the limit's whole minute (13:20 before 13:20:45) is past
            return _cut_between(slot, now, end, sorted(set(edges)), cut)
    return []


def inside(usable: Sequence[Priced], edges: Iterable[datetime]) -> bool:
    """Whether one of `edges` lies inside a slot (not at its start or end)."""
    moments = sorted(edges)
    for slot in usable:
        index = bisect.bisect_right(moments, slot.start)
        if index < len(moments) and moments[index] < slot.end:
            return True
    return False


def best_run(
    known: Sequence[Priced],
    duration: timedelta,
    now: datetime,
    limit: datetime,
    sign: float,
    cut: Cut,
    edges: Iterable[datetime] = (),
) -> list[Priced] | None:
    """The best unbroken window of `duration` within [now, limit] that starts at a slot start
    or at one of `edges` (where the score changes inside a slot: the carbon forecast's slots),
    ends at a slot end, at one of `edges` or at the limit (running now is the caller's); its
    parts made by `cut`. The lowest signed average wins, a later start winning ties; None when
    no such window is priced."""
    known, edges = ordered(known), set(edges)
    begins = [s.start for s in known]  # to hand each candidate only the slots it overlaps
    ends = {s.end for s in known} | {limit} | edges
    starts = sorted({s.start for s in known} | edges | {end - duration for end in ends})
    best: list[Priced] | None = None
    best_score = math.inf
    for start in starts:
        if start < now or start + duration > limit:
            continue
        first = max(bisect.bisect_right(begins, start) - 1, 0)
        last = bisect.bisect_left(begins, start + duration)
        parts = pieces_from(known[first:last], start, duration, cut)
        if parts is None:
            continue  # a gap in the prices
        score = sign * average(parts)
        if score <= best_score + EPSILON:
            best, best_score = parts, min(score, best_score)
    return best


def split_parts(
    usable: Sequence[Priced], wanted: timedelta, cut: Cut, width: int = 0
) -> tuple[timedelta, list[list[tuple[Priced, int, float, bool]]]]:
    """The parts of the usable slots a split set of `wanted` may use, made by `cut`: per slot,
    each part of length p at its start or at its end (p = wanted minus whole slots: the rest
    of wanted modulo `width` seconds, by default the slots' common width, plus k of that
    width, shorter than the slot) as (part, k, p in widths, at the start). Returns the rest
    too (with seconds when `wanted` has them: what the running slot's rest leaves)."""
    step = timedelta(seconds=width or common_width(usable))
    rest = wanted % step
    parts = []
    for slot in usable:
        found = []
        length = rest or step
        while length < slot.end - slot.start:
            for start in (slot.start, slot.end - length):
                chosen = cut(slot, start, start + length)
                if chosen is not None:
                    found.append((chosen, (length - rest) // step, length / step,
                                  start == slot.start))  # fmt: skip
            length += step
        parts.append(found)
    return rest, parts


def sub_slots(
    known: Sequence[Priced], now: datetime, limit: datetime, cut: Cut, edges: Iterable[datetime]
) -> list[Priced]:
    """The slots a split set may use, cut once at each of `edges` inside them (where the
    score changes: a carbon forecast's slots) and at the limit (a deadline inside a slot: the
    part before it may be used): slots that start at or after now, up to the limit. Whole
    sub-slots and one part of one are then all a split set needs (see the module docstring),
    as over slots of mixed widths."""
    moments = sorted({*edges, limit})
    found: list[Priced] = []
    for slot in known:
        if slot.start < now or slot.start >= limit:
            continue
        end = min(slot.end, limit)
        first, last = bisect.bisect_right(moments, slot.start), bisect.bisect_left(moments, end)
        if end == slot.end and first == last:
            found.append(slot)  # no edge inside: the slot as scored
            continue
        found += _cut_between(slot, slot.start, end, moments, cut)
    return found


def _cut_between(
    slot: Priced, start: datetime, end: datetime, moments: Sequence[datetime], cut: Cut
) -> list[Priced]:
    """The pieces of `slot` from `start` to `end`, cut at each of the sorted `moments` strictly
    between them (a piece `cut` makes nothing of left out)."""
    first, last = bisect.bisect_right(moments, start), bisect.bisect_left(moments, end)
    bounds = [start, *moments[first:last], end]
    pieces = (cut(slot, left, right) for left, right in zip(bounds, bounds[1:], strict=False))
    return [piece for piece in pieces if piece is not None]


def merged(chosen: Sequence[Priced], known: Sequence[Priced], cut: Cut) -> list[Priced]:
    """The chosen sub-slots (and part), back-to-back ones of one price slot joined again into
    one part of it (as an unbroken window lists them)."""
    begins = [s.start for s in known]
    groups: list[tuple[Priced, list[Priced]]] = []
    for item in chosen:
        slot = known[bisect.bisect_right(begins, item.start) - 1]
        if groups and groups[-1][0] is slot and groups[-1][1][-1].end == item.start:
            groups[-1][1].append(item)
        else:
            groups.append((slot, [item]))
    return [
        items[0] if len(items) == 1 else cut(slot, items[0].start, items[-1].end)
        for slot, items in groups
    ]
