"""The best split set over many small slots: price slots cut at each edge of a carbon forecast
(WattTime's 5 minutes: 576 sub-slots in 48 h of hourly prices) or at a deadline.

The same programme as `split.best_split` (whole slots, the runs counted when interruptions
cost something or `max_windows` caps them, the penalty applied at the end per run count, ties
to fewer runs, then later slots), with its states as numpy arrays over (taken, units, runs):
each slot is one set of array operations, so 576 slots x 72 units x 17 runs costs what 48
hourly slots cost the dictionary programme, where a state per Python step made it seconds.
"""

from collections.abc import Sequence

import numpy as np

from collectors.pricing.split import EPSILON, most_windows


def _better(total, later, than_total, than_later):
    """Where (total, later) beats (than_total, than_later): lower total, then lower later."""
    return (total < than_total - EPSILON) | ((total <= than_total + EPSILON) & (later < than_later))


def best_split_grid(
    usable: Sequence,
    sizes: Sequence[int],
    capacity: int,
    sign: float,
    share: float,
    max_windows: int | None,
) -> list | None:
    """The slots (time order) of `capacity` units with the lowest judged total; None when no
    set fits (see the module docstring)."""
    counting = share > 0 or max_windows is not None
    runs = most_windows(share, max_windows, capacity) + 1 if counting else 1
    units = capacity + 1
    # total[t, u, r]: the lowest signed cost of u units in r runs, the last slot taken (t=1)
    # or not; later: minus the sum of the slots' start times (lower: later slots)
    total = np.full((2, units, runs), np.inf)
    later = np.zeros((2, units, runs))
    total[0, 0, 0] = 0.0
    steps = []  # per slot: where each state came from (skipped: t; taken: t + 2 x new run)
    for index, (slot, size) in enumerate(zip(usable, sizes, strict=True)):
        joins = index > 0 and usable[index - 1].end == slot.start
        skip_from = _better(total[1], later[1], total[0], later[0]).astype(np.int8)
        new_total = np.where(skip_from, total[1], total[0])[None].repeat(2, axis=0)
        new_later = np.where(skip_from, later[1], later[0])[None].repeat(2, axis=0)
        new_total[1], new_later[1] = np.inf, 0.0
        take_from = np.zeros((units, runs), np.int8)
        if size < units:
            cost, stamp = sign * slot.price * size, slot.start.timestamp()
            # a new run: from a state not taken, or taken when this slot does not join it
            start_from = np.zeros((units, runs), np.int8)
            if not joins:
                start_from = _better(total[1], later[1], total[0], later[0]).astype(np.int8)
            base_total = np.where(start_from, total[1], total[0])
            base_later = np.where(start_from, later[1], later[0])
            cand_total = np.full((units, runs), np.inf)
            cand_later = np.zeros((units, runs))
            code = np.zeros((units, runs), np.int8)
            if counting:  # r runs from r - 1
                cand_total[size:, 1:] = base_total[: units - size, :-1] + cost
                cand_later[size:, 1:] = base_later[: units - size, :-1] - stamp
                code[size:, 1:] = start_from[: units - size, :-1] + 2
                if joins:  # joining the run before: r runs from r
                    join_total = total[1, : units - size] + cost
                    join_later = later[1, : units - size] - stamp
                    wins = _better(join_total, join_later, cand_total[size:], cand_later[size:])
                    cand_total[size:] = np.where(wins, join_total, cand_total[size:])
                    cand_later[size:] = np.where(wins, join_later, cand_later[size:])
                    code[size:] = np.where(wins, 1, code[size:])
            else:  # runs not counted: from either state
                either = _better(total[1], later[1], total[0], later[0]).astype(np.int8)
                cand_total[size:] = np.where(either, total[1], total[0])[: units - size] + cost
                cand_later[size:] = np.where(either, later[1], later[0])[: units - size] - stamp
                code[size:] = either[: units - size]
            new_total[1], new_later[1], take_from = cand_total, cand_later, code
        steps.append((skip_from, take_from, size))
        total, later = new_total, new_later
    return _traced(usable, steps, _final(total, later, share, counting))


def _final(total, later, share: float, counting: bool) -> tuple[int, int, int] | None:
    """The best full state (t, capacity, r): the lowest judged total (the penalty per run),
    then fewer runs, then later slots; None when none is reachable."""
    best, best_key = None, None
    for taken in (0, 1):
        for runs, (value, stamps) in enumerate(
            zip(total[taken, -1], later[taken, -1], strict=True)
        ):
            if not np.isfinite(value) or (counting and runs < 1):
                continue
            judged = value + max(runs - 1, 0) * share * abs(value)
            key = (judged, runs, stamps)
            if (
                best_key is None
                or judged < best_key[0] - EPSILON
                or (abs(judged - best_key[0]) <= EPSILON and key[1:] < best_key[1:])
            ):
                best, best_key = (taken, total.shape[1] - 1, runs), key
    return best


def _traced(usable: Sequence, steps: list, state: tuple[int, int, int] | None) -> list | None:
    """The slots of the final `state`, followed back through each slot's choices."""
    if state is None:
        return None
    taken, units, runs = state
    chosen = []
    for slot, (skip_from, take_from, size) in zip(reversed(usable), reversed(steps), strict=True):
        if taken:
            code = int(take_from[units, runs])
            chosen.append(slot)
            taken, units, runs = code & 1, units - size, runs - (code >> 1)
        else:
            taken = int(skip_from[units, runs])
    return chosen[::-1]
