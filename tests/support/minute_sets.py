"""The yardstick of split plans: the best set of whole minutes, found over the raw per-minute
data (not with the planner's slots), for the brute-force and API tests of `/api/plan`."""

from datetime import timedelta

import numpy as np

MINUTE = timedelta(minutes=1)


def judged(average, windows, share):
    return average + (windows - 1) * share * abs(average)


def best_minutes(values, first, wanted, per_gram, share, max_windows):
    """The optimum (judged average score) of every split set of whole minutes: any of the
    minutes in `values` ({minute: (price, gCO2/kWh)}, from now up to `before`) from `first`
    on (now's whole minute or the next: the running slot's rest is planned too), in any number
    of runs the rules allow. Exhaustive over the minutes by dynamic programming (the lowest score total per
    minutes taken, runs so far and whether the last minute was taken; the penalty applied per
    run count at the end), independent of the planner's slots, parts and edges: a run may
    start or end at any minute. None when no set has `wanted` minutes."""
    allowed = sorted(m for m in values if first is not None and m >= first)
    size = round(wanted / MINUTE)
    cap = None if share == 0 else 1 + int((1 - 1e-12) // share)
    if max_windows is not None:
        cap = max_windows if cap is None else min(cap, max_windows)
    counts = 1 if cap is None else cap + 1
    totals = np.full((2, size + 1, counts), np.inf)  # [last taken, minutes, runs]
    totals[0, 0, 0] = 0.0
    previous = None
    for minute in allowed:
        score = values[minute][0] + per_gram * values[minute][1]
        after = previous is not None and minute == previous + MINUTE
        either = np.minimum(totals[0], totals[1])
        following = np.full_like(totals, np.inf)
        following[0] = either
        if cap is None:
            following[1, 1:] = either[:-1] + score
        else:  # a new run, or the run of the minute before
            following[1, 1:, 1:] = (totals[0] if after else either)[:-1, :-1] + score
            if after:
                following[1, 1:] = np.minimum(following[1, 1:], totals[1, :-1] + score)
        totals, previous = following, minute
    found = [judged(total / size, max(runs, 1), share)
             for runs, total in enumerate(np.minimum(totals[0, size], totals[1, size]))
             if np.isfinite(total) and (cap is None or runs >= 1)]  # fmt: skip
    return min(found, default=None)
