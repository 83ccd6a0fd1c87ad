"""The best split set of slots when interruptions cost something, or when it may use a part of
a slot (see `windows`' docstring).

An exact dynamic programme over the slots in time order: the state is (units used, runs so
far, whether the part of a slot is used, whether the previous slot was taken up to its end),
so a set with one part of a slot is found in the same pass as the sets of whole slots (not
one pass per possible part: 96 for 23.5 h over 48 hourly slots), and the number of
back-to-back runs is known for
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
    # A share so small (penalty_percent=1e-320) that 1/share is infinite bounds nothing.
    if share > 0 and (bound := (1 - 1e-12) / share) < limit:
        limit = 1 + math.floor(bound)
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
    runs, then later slots); None when no set fits: `best_split_with_part` without parts."""
    return best_split_with_part(usable, sizes, [()] * len(usable), capacity,
                                (sign, share, max_windows), need_part=False)  # fmt: skip


def best_split_with_part(
    usable: Sequence[_Slot],
    sizes: Sequence[int],
    parts: Sequence[Sequence[tuple[_Slot, int, float, bool]]],
    capacity: int,
    rules: tuple[float, float, int | None],
    need_part: bool,
    lead: tuple[_Slot, float] | None = None,
) -> list[_Slot] | None:
    """The best split set of `capacity` units (the slots' common width; `sizes` per slot)
    made of whole slots and at most one part of another (exactly one when `need_part`), in one
    pass: the state also says whether the part is used, so the sets with each possible part are
    not each solved again. `parts[i]` are the parts slot i may give: (part, the whole units it
    adds, its length in units, whether it lies at the slot's start): a part of 1.5 units when
    the load lasts 23.5 units adds 1 to the 23 whole ones counted, the half being the part's
    own. `lead`: a slot before all of them, taken whole, and its length in units (not counted
    in `capacity`): the running slot's rest (`split_lead`). A part at a slot's start may join the run before it but ends the run; one at its end
    starts a run the next slot may join. With no penalty and no `max_windows` the runs are not
    counted (any number is allowed). Ties: fewer runs, then later slots."""
    sign, share, max_windows = rules
    counting = share > 0 or max_windows is not None
    # the part may be a run of its own without adding a whole unit
    runs_allowed = most_windows(share, max_windows, capacity + 1 + bool(lead)) if counting else 0
    width = 4 * (runs_allowed + 1)  # state = units * width + runs * 4 + part used * 2 + taken
    states: dict[int, tuple[float, float]] = {0: (0.0, 0.0)}
    if lead is not None:  # taken, one run
        states = {4 * counting + 1: (sign * lead[0].price * lead[1], -lead[0].start.timestamp())}
    steps: list[dict[int, tuple[int, _Slot | None]]] = []
    for index, (slot, size) in enumerate(zip(usable, sizes, strict=True)):
        before = usable[index - 1] if index else lead and lead[0]
        joins = before is not None and before.end == slot.start
        following: dict[int, tuple[float, float]] = {}
        came_from: dict[int, tuple[int, _Slot | None]] = {}
        # (item, its units * width, its signed cost, its start, is a part, joins before,
        # open end): the whole slot, then its parts
        whole = (slot, size * width, sign * slot.price * size, slot.start.timestamp(), 0, 1, 1)
        pieces = [
            (part, units * width, sign * part.price * widths, part.start.timestamp(), 2,
             int(start), int(not start))
            for part, units, widths, start in parts[index]
        ]  # fmt: skip
        room = capacity * width + width  # a state at or past this has too many units
        every, alone = (whole, *pieces), (whole,)
        for state, value in states.items():
            skipped = state & ~1  # leaving this slot out (inlined `_offer`, as below)
            held = following.get(skipped)
            if (
                held is None
                or value[0] < held[0] - EPSILON
                or (value[0] <= held[0] + EPSILON and value[1] < held[1])
            ):
                following[skipped] = value
                came_from[skipped] = (state, None)
            base = state & ~3  # units and runs
            runs = (state % width) >> 2
            for item, added_units, cost, stamp, part, joins_before, open_end in (
                alone if state & 2 else every
            ):
                if base + added_units >= room:
                    continue
                if joins and state & 1 and joins_before or not counting:
                    added = 0
                elif runs == runs_allowed:
                    continue
                else:
                    added = 4
                took = base + added_units + added + (part or state & 2) + open_end
                value_ = (value[0] + cost, value[1] - stamp)
                held = following.get(took)
                if (  # inlined `_offer` (this loop runs a million times for long plans)
                    held is None
                    or value_[0] < held[0] - EPSILON
                    or (value_[0] <= held[0] + EPSILON and value_[1] < held[1])
                ):
                    following[took] = value_
                    came_from[took] = (state, item)
        steps.append(came_from)
        states = following
    finals = []
    for state, (total, later) in states.items():
        runs = (state % width) >> 2
        if state // width != capacity or (need_part and not state & 2):
            continue
        if counting and runs < 1:
            continue
        finals.append((total + max(runs - 1, 0) * share * abs(total), runs, later, state))
    return _chosen(finals, steps)


def _chosen(finals: list[tuple], steps: list[dict]) -> list | None:
    """The items of the best final state (judged total, runs, later; lowest wins), followed
    back through `steps` (state -> (previous state, the item taken or None)); None when no
    state is final."""
    if not finals:
        return None
    best = finals[0]
    for candidate in finals[1:]:
        if candidate[0] < best[0] - EPSILON or (
            abs(candidate[0] - best[0]) <= EPSILON and candidate[1:3] < best[1:3]
        ):
            best = candidate
    chosen, state = [], best[3]
    for came_from in reversed(steps):
        state, item = came_from[state]
        if item is not None:
            chosen.append(item)
    return chosen[::-1]
