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

from collectors.pricing.pieces import Cut, Priced, ordered, pieces_from, seconds

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
    no such window is priced. Each whole slot is cut once (`_Run`): a candidate costs its two
    end parts, the slots between them a difference of running sums."""
    known, edges = ordered(known), set(edges)
    ends = {s.end for s in known} | {limit} | edges
    starts = sorted({s.start for s in known} | edges | {end - duration for end in ends})
    run = _Run(known, cut)
    best: datetime | None = None
    best_score = math.inf
    for start in starts:
        if start < now or start + duration > limit:
            continue
        cost = run.cost(start, start + duration)
        if cost is None:
            continue  # a gap in the prices
        score = sign * cost / duration.total_seconds()
        if score <= best_score + EPSILON:
            best, best_score = start, min(score, best_score)
    return None if best is None else run.parts(best, duration)


class _Run:
    """Time-ordered slots as `best_run` scores its candidates: each whole slot cut once, the
    running sums of their cost (price x seconds), of the whole slots `cut` prices nothing and
    of the breaks (a slot starting after the one before ends)."""

    def __init__(self, known: Sequence[Priced], cut: Cut):
        self.known, self.cut = known, cut
        self.begins = [s.start for s in known]
        self.whole = [cut(s, s.start, s.end) for s in known]
        self.costs, self.unpriced, self.breaks = [0.0], [0], [0]
        for index, part in enumerate(self.whole):
            self.costs.append(self.costs[-1] + (0.0 if part is None else _cost(part)))
            self.unpriced.append(self.unpriced[-1] + (part is None))
            broken = index > 0 and known[index].start != known[index - 1].end
            self.breaks.append(self.breaks[-1] + broken)

    def cost(self, start: datetime, end: datetime) -> float | None:
        """Price x seconds over [start, end), as the parts `cut` makes of the slots; None when
        part of that time has no price."""
        first = bisect.bisect_right(self.begins, start) - 1
        last = bisect.bisect_left(self.begins, end) - 1
        if first < 0 or self.known[first].end <= start or self.known[last].end < end:
            return None  # no slot at the start, or none up to the end
        if self.breaks[last + 1] - self.breaks[first + 1]:
            return None
        if first == last:
            part = self._part(first, start, end)
            return None if part is None else _cost(part)
        head = self._part(first, start, self.known[first].end)
        tail = self._part(last, self.known[last].start, end)
        if head is None or tail is None or self.unpriced[last] - self.unpriced[first + 1]:
            return None
        return _cost(head) + (self.costs[last] - self.costs[first + 1]) + _cost(tail)

    def parts(self, start: datetime, duration: timedelta) -> list[Priced] | None:
        """The parts of the window [start, start + duration), as `pieces_from` makes them."""
        first = max(bisect.bisect_right(self.begins, start) - 1, 0)
        last = bisect.bisect_left(self.begins, start + duration)
        return pieces_from(self.known[first:last], start, duration, self.cut)

    def _part(self, index: int, start: datetime, end: datetime) -> Priced | None:
        slot = self.known[index]
        if (start, end) == (slot.start, slot.end):
            return self.whole[index]
        return self.cut(slot, start, end)


def _cost(part: Priced) -> float:
    return part.price * seconds(part)


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
