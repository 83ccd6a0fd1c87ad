"""The best split set of parts of slots (`windows`), the running slot's rest among them.

The slots that start from now on share a common width (the unit of the split programmes:
`split`, `split_grid`); the rest of the running slot, from now to its end or to the first
edge of the carbon forecast inside it (`cuts.running_rest`), is of any length (40 minutes at
13:20 over hourly prices, 39 min 23 s at 13:20:37). Counting in units of a common width with it would
make the unit a minute and the programme sixty times larger, so it is the `lead` instead: a
set leaves it out, uses a part of it (then no other part: `cuts`' rule of one part), or
takes it whole and makes the rest of the duration from the other slots, joining the run
that starts at its end (the one part then takes now's seconds: 13:20:37-14:00:37 for 40
minutes, as running now ends at 14:00:37). Where the runs do not count (no penalty, no
`max_windows`) the cheapest pieces are simply taken in order. The first two are one pass with the lead as a slot that gives only
parts, the last one pass that starts with the lead taken; the better set wins (ties: fewer
runs, then the later start).
"""

from collections.abc import Sequence
from datetime import timedelta

from collectors.pricing import cuts, split
from collectors.pricing.pieces import Priced, average, judged, runs, seconds

EPSILON = 1e-9


def best_split_set(usable, wanted, lead, cut, rules, divided) -> list[Priced] | None:
    """The slots (time order) of the best split set of `wanted` seconds made of `usable`
    (slots of one common width, or sub-slots: `divided`) and `lead` (a piece before them, or
    None), whole and at most one part of one, made by `cut`; `rules`: (sign, share,
    max_windows). None when no set fits."""
    from collectors.pricing import split_grid  # numpy: imported where used, not at every start

    unit = cuts.common_width(usable)
    step, duration = timedelta(seconds=unit), timedelta(seconds=wanted)
    sizes = [round(seconds(s)) // unit for s in usable]
    finder = split_grid.best_split_grid if divided else split.best_split_with_part
    rest, parts = cuts.split_parts(usable, duration, cut)
    capacity = duration // step
    if lead is None:
        return finder(usable, sizes, parts, capacity, rules, bool(rest))
    if not rules[1] and rules[2] is None:  # runs do not count
        return _cheapest([lead, *usable], duration, rules[0], cut)
    # the lead left out or a part of it: a slot whose whole (capacity + 1 units) never fits
    _, own = cuts.split_parts([lead], duration, cut, unit)
    found = [finder([lead, *usable], [capacity + 1, *sizes], [*own, *parts], capacity, rules,
                    bool(rest))]  # fmt: skip
    length = lead.end - lead.start
    # the lead whole (as long as `wanted` alone, it is an unbroken window), unless even the
    # cheapest minutes besides it, interruptions free, judge no better than the set found
    cheapest = _cheapest(usable, duration - length, rules[0], cut) if length < duration else None
    if cheapest is not None and not (
        found[0] and rules[0] * average([lead, *cheapest]) > _judged(found[0], rules) + EPSILON
    ):
        rest, parts = cuts.split_parts(usable, duration - length, cut)
        taken = finder(usable, sizes, parts, (duration - length) // step, rules, bool(rest),
                       lead=(lead, length / step))  # fmt: skip
        found.append(None if taken is None else [lead, *taken])
    return _better(found, rules)


def _cheapest(pieces: Sequence[Priced], duration: timedelta, sign: float, cut):
    """With no penalty and no `max_windows` the runs do not matter: the cheapest pieces whole
    (ties: the later), then the part of the next that ends with it; the optimum of any
    minutes, so of the sets the programmes choose among too. None when they are too few."""
    chosen, left = [], duration
    for piece in sorted(pieces, key=lambda p: (sign * p.price, -p.start.timestamp())):
        length = piece.end - piece.start
        part = piece if length <= left else cut(piece, piece.end - left, piece.end)
        if part is not None:
            chosen.append(part)
            left -= part.end - part.start
        if not left:
            return sorted(chosen, key=lambda p: p.start)
    return None


def _judged(slots: Sequence[Priced], rules: tuple) -> float:
    return judged(slots, rules[0], rules[1])


def _better(found: Sequence[list[Priced] | None], rules: tuple):
    """The best of the sets found (None: none fits): the lowest judged average, then fewer
    runs, then the later start."""
    best, best_key = None, None
    for slots in found:
        if not slots:
            continue
        key = (_judged(slots, rules), len(runs(slots)), -slots[0].start.timestamp())
        if (
            best_key is None
            or key[0] < best_key[0] - EPSILON
            or (abs(key[0] - best_key[0]) <= EPSILON and key[1:] < best_key[1:])
        ):
            best, best_key = slots, key
    return best
