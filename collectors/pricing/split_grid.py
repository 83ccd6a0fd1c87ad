"""The best split set over many small slots: price slots cut at each edge of a carbon forecast
(WattTime's 5 minutes: 576 sub-slots in 48 h of hourly prices) or at a deadline.

The same programme as `split.best_split_with_part` (whole slots and at most one part of
another, the runs counted when interruptions cost something or `max_windows` caps them, the
penalty applied at the end per run count, ties to fewer runs, then later slots), with its
states as numpy arrays over (taken, part used, units, runs): each slot is one set of array
operations, so 576 slots x 72 units x 17 runs costs about what 48 hourly slots cost the
dictionary programme, where a Python step per state makes it seconds.
"""

from collections.abc import Sequence

import numpy as np

from collectors.pricing.split import EPSILON, most_windows


def _better(total, later, than_total, than_later):
    """Where (total, later) beats (than_total, than_later): lower total, then lower later."""
    return (total < than_total - EPSILON) | ((total <= than_total + EPSILON) & (later < than_later))


class _Step:
    """The states after one slot, built from the states before it; `code` says where each
    came from: item x 4 + new run x 2 + taken before (item 0: skipped, 1: the whole slot,
    2 + m: its part m)."""

    def __init__(self, total, later, counting: bool):
        self.before_total, self.before_later, self.counting = total, later, counting
        self.total = np.full_like(total, np.inf)
        self.later = np.zeros_like(later)
        self.code = np.zeros(total.shape, np.int16)

    def offer(self, into: tuple[int, int], source: tuple[int, int], move: tuple, item: int):
        """The states `source` (taken, part) moved by (units, cost, stamp, new run) into
        `into` (taken, part), where better than what is there."""
        units, cost, stamp, new_run = move
        size, count = self.total.shape[2:]
        if units >= size or (new_run and not self.counting):
            return
        runs = 1 if new_run else 0
        total = self.before_total[source][: size - units, : count - runs] + cost
        later = self.before_later[source][: size - units, : count - runs] - stamp
        held_total = self.total[into][units:, runs:]  # views: written in place
        held_later = self.later[into][units:, runs:]
        wins = _better(total, later, held_total, held_later)
        np.copyto(held_total, total, where=wins)
        np.copyto(held_later, later, where=wins)
        np.copyto(self.code[into][units:, runs:], item * 4 + runs * 2 + source[0], where=wins)


def best_split_grid(
    usable: Sequence,
    sizes: Sequence[int],
    parts: Sequence[Sequence[tuple]],
    capacity: int,
    rules: tuple[float, float, int | None],
    need_part: bool,
    lead: tuple | None = None,
) -> list | None:
    """The slots (time order) of `capacity` units with the lowest judged total, at most one
    of them a part (exactly one when `need_part`; `parts` as `split.best_split_with_part`
    takes them, `lead` as it takes it); None when no set fits (see the module docstring)."""
    sign, share, max_windows = rules
    counting = share > 0 or max_windows is not None
    runs = most_windows(share, max_windows, capacity + 1 + bool(lead)) + 1 if counting else 1
    total = np.full((2, 2, capacity + 1, runs), np.inf)  # [taken, part used, units, runs]
    later = np.zeros_like(total)  # minus the sum of the slots' start times: lower is later
    total[0, 0, 0, 0] = 0.0
    if lead is not None:  # taken whole before the slots: one run
        total[0, 0, 0, 0] = np.inf
        total[1, 0, 0, int(counting)] = sign * lead[0].price * lead[1]
        later[1, 0, 0, int(counting)] = -lead[0].start.timestamp()
    steps, uses = [], (0, 1) if any(parts) else (0,)  # whether a part is used: no parts, no
    for index, (slot, size) in enumerate(zip(usable, sizes, strict=True)):
        before = usable[index - 1] if index else lead and lead[0]
        joins = before is not None and before.end == slot.start
        step = _Step(total, later, counting)
        whole = (slot, size, sign * slot.price * size, True, True)
        items = [whole] + [(part, units, sign * part.price * widths, at_start, not at_start)
                           for part, units, widths, at_start in parts[index]]  # fmt: skip
        for used in uses:
            for taken in (0, 1):
                step.offer((0, used), (taken, used), (0, 0.0, 0.0, False), 0)
        for number, (item, units, cost, joins_before, open_end) in enumerate(items, start=1):
            stamp = item.start.timestamp()
            for used in uses if number == 1 else (0,):
                into = (int(open_end), used if number == 1 else 1)
                for taken in (0, 1):
                    joined = joins and taken and joins_before
                    if joined or not counting:
                        step.offer(into, (taken, used), (units, cost, stamp, False), number)
                    else:
                        step.offer(into, (taken, used), (units, cost, stamp, True), number)
        steps.append((step.code, [size] + [units for _, units, *_ in parts[index]]))
        total, later = step.total, step.later
    return _traced(usable, parts, steps, _final(total, later, (share, counting, need_part)))


def _final(total, later, rules: tuple[float, bool, bool]) -> tuple | None:
    """The best full state (taken, part, capacity, runs): the lowest judged total (the
    penalty per run), then fewer runs, then later slots; None when none is reachable."""
    share, counting, need_part = rules
    best, best_key = None, None
    for taken in (0, 1):
        for used in (1,) if need_part else (0, 1):
            values = zip(total[taken, used, -1], later[taken, used, -1], strict=True)
            for runs, (value, stamps) in enumerate(values):
                if not np.isfinite(value) or (counting and runs < 1):
                    continue
                judged = value + max(runs - 1, 0) * share * abs(value)
                key = (judged, runs, stamps)
                if (
                    best_key is None
                    or judged < best_key[0] - EPSILON
                    or (abs(judged - best_key[0]) <= EPSILON and key[1:] < best_key[1:])
                ):
                    best, best_key = (taken, used, total.shape[2] - 1, runs), key
    return best


def _traced(usable: Sequence, parts: Sequence, steps: list, state: tuple | None) -> list | None:
    """The slots and part of the final `state`, followed back through each slot's choices."""
    if state is None:
        return None
    taken, used, units, runs = state
    chosen = []
    for index in range(len(usable) - 1, -1, -1):
        code_array, item_units = steps[index]
        code = int(code_array[taken, used, units, runs])
        item, new_run, taken = code >> 2, code >> 1 & 1, code & 1
        if item == 1:
            chosen.append(usable[index])
        elif item > 1:
            chosen.append(parts[index][item - 2][0])
            used = 0
        units, runs = units - (item_units[item - 1] if item else 0), runs - new_run
    return chosen[::-1]
