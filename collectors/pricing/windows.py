"""Cheapest (or most expensive) time to use electricity: pure window selection over price slots.

Rules, chosen so answers can be checked by hand:

- A window never starts before `now`. The candidates are the windows made of slots that
  start at or after `now` and end by the limit (`now + within`, or `before` when that is
  earlier), plus running now: `[now, now + hours)`, which prices the running slot from now to
  its end (and the last slot it reaches up to the window's end). Running now is chosen when it
  is strictly better than every other candidate, so no window is ever dearer than running now
  for the same duration (cheaper with `most_expensive`), and ties still go to the later window.
- A duration the whole slots cannot make (1.5 h or 45 min from hourly slots: not a multiple
  of the common width of the slots between now and the limit), and any duration over slots
  of mixed widths (hourly, then quarter hours), uses parts of slots (`cuts`): an unbroken
  window runs now, starts at a slot start or at one of `edges` (where `cut` prices change
  inside a slot: a carbon forecast's slots), or ends at a slot end, at one of `edges` or at
  the limit, within now and the limit; a split set may use one part of a slot at either end
  of it. A split set chooses among the slots cut at each of `edges` inside them and at the
  limit's whole minute (`cuts.sub_slots`: a part up to a carbon edge, or the part of a slot
  before a deadline), back-to-back pieces of one slot joined again in the answer. A part counts at
  its slot's price, so averages stay time-weighted. Durations whole slots of one width can
  make are made of whole slots only, except that an unbroken window may end at a limit
  inside a slot or start or end at one of `edges`, and a split set use the cut slots, as
  above.
- `contiguous=True`: the best run of back-to-back slots (each starts where the previous ends;
  a gap in the data breaks the run) lasting exactly `hours`. `contiguous=False`: the best set
  of slots lasting exactly `hours` in total, anywhere in the allowed span (slots that start
  from now on, and the running slot's rest from now: `split_lead`), unless running now or
  the best unbroken window is better. A split set must not chop the run for noise: with
  `penalty_percent` p, a set made of w back-to-back runs is judged by its average plus
  (w - 1) x p % of its absolute average (evcc's planner uses 6 %),
  sets whose interruptions would cost all of that (w - 1 >= 100 / p) are not considered, and
  `max_windows` caps w. The result names `windows_used` and `penalty_cost` (per kWh, the
  virtual cost the interruptions added when choosing; no money is paid for it).
- "Best" is the lowest time-weighted average price (highest with `most_expensive`). Ties go
  to the later window / the later slots.
- Slots may be 15, 30 or 60 minutes, even mixed. Too little data is a `NotEnoughData`
  saying what is known and what to change; a split set of a duration that is not a whole
  number of seconds an `UnreachableDuration`.
- `saving_vs_now` has one sign for both directions: the time-weighted average price of the
  same duration starting right now minus the window's average, in the price's unit (currency
  per kWh; multiply by the kWh used to get money). Positive: the window costs less than running
  now; so it is never negative for the cheapest window and never positive for the most
  expensive one. None when the prices from now for that long are not all known.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from collectors.pricing import cuts, split, split_lead
from collectors.pricing.pieces import Cut, Priced, judged, piece, pieces_from
from collectors.pricing.pieces import average as _average
from collectors.pricing.pieces import ordered as _ordered
from collectors.pricing.pieces import runs as _runs
from collectors.pricing.pieces import seconds as _seconds

EPSILON = 1e-9  # prices closer than this count as equal (float sums of the same prices)
ZERO = timedelta()


class WindowError(ValueError):
    """No window can be given; the message says why and what to change."""


class NotEnoughData(WindowError):
    """Fewer prices are known (or fewer back-to-back) than the window needs."""

    known: dict[str, Any] | None = None  # how far the stored data goes, where the raiser says


class UnreachableDuration(WindowError):
    """The slot widths cannot add up to exactly the requested duration."""


@dataclass(frozen=True)
class WindowResult:
    hours: float
    contiguous: bool
    most_expensive: bool
    slots: tuple[Priced, ...]  # in time order
    average_price: float  # time-weighted, per kWh
    saving_vs_now: float | None  # per kWh, see the module docstring
    windows_used: int = 1  # back-to-back runs in `slots`
    penalty_cost: float = 0.0  # per kWh: what the interruptions added to the judged average

    @property
    def start(self) -> datetime:
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        return self.slots[-1].end

    def runs(self) -> list[tuple[datetime, datetime, float]]:
        """The chosen slots as back-to-back runs: (start, end, average price) each."""
        return [(g[0].start, g[-1].end, _average(g)) for g in _runs(self.slots)]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def price_from(slots: Sequence[Priced], start: datetime, duration: timedelta) -> float | None:
    """Time-weighted average price over [start, start + duration); None if not all known."""
    pieces = pieces_from(slots, start, duration)
    return None if pieces is None else _average(pieces)


def find_windows(
    slots: Iterable[Priced],
    hours: float,
    now: datetime,
    within: timedelta = timedelta(hours=24),
    contiguous: bool = True,
    before: datetime | None = None,
    most_expensive: bool = False,
    penalty_percent: float = 0.0,
    max_windows: int | None = None,
    cut: Cut = piece,
    edges: Sequence[datetime] = (),
    name_moment: bool = True,
) -> WindowResult:
    """The best window of `hours` (see the module docstring for every rule; `cut` prices the
    parts of slots that running now uses, see `pieces_from`; `edges`: moments inside slots
    where `cut` prices change, which an unbroken window may start or end at; `name_moment`
    False: a message says "between now and <limit>", not the time `now` is, for a reason
    republished every minute)."""
    if not (isinstance(hours, int | float) and math.isfinite(hours) and hours > 0):
        raise WindowError(f"hours must be a positive number, got {hours!r}")
    if now.tzinfo is None or (before is not None and before.tzinfo is None):
        raise WindowError("now and before must be timezone-aware times")
    wanted = hours * 3600
    limit = now + within if before is None else min(now + within, before)
    moment = f" ({now.isoformat()})" if name_moment else ""
    between = f"between now{moment} and {limit.isoformat()}"  # as every message here says it
    if wanted > (limit - now).total_seconds() + EPSILON:
        raise NotEnoughData(f"{hours:g} h do not fit {between}")
    known = _ordered(slots)
    usable = [s for s in known if s.start >= now and s.end <= limit]
    running_now = pieces_from(known, now, timedelta(seconds=wanted), cut)
    sign = -1.0 if most_expensive else 1.0
    share = penalty_percent / 100
    unbroken = contiguous or max_windows == 1
    # a split set may use a part of a slot up to an edge inside it or up to the limit's whole
    # minute (now + 24 h has now's seconds: a part of 157 s would make its unit a second, the
    # work thousands of times more): it chooses among the slots cut there once (`sub_slots`)
    cut_at = cuts.whole_minute(limit)
    # and the running slot's rest from now, cut likewise (`split_lead`)
    rest = [] if unbroken else cuts.running_rest(known, now, cut_at, cut, edges)
    divided = not unbroken and (
        len(rest) > 1 or cuts.inside(_starting(known, now, cut_at), [*edges, cut_at])
    )
    if divided:
        usable = cuts.sub_slots(known, now, cut_at, cut, edges)
    lead, usable = (rest[0], rest[1:] + usable) if rest else (None, usable)
    if lead is not None and (
        not usable or (lead.end - lead.start) % timedelta(seconds=cuts.common_width(usable)) == ZERO
    ):
        lead, usable = None, [lead, *usable]  # a slot like the others (13:30 over half hours)
    # a split set is never worse than the best unbroken window (one run: no penalty), which
    # may start anywhere in the running slot
    run = None if unbroken else cuts.best_run(known, timedelta(seconds=wanted), now, limit, sign,
                                              cut, edges)  # fmt: skip
    try:
        # an unbroken window may also start at an edge inside a slot or end at a limit inside
        # one (a deadline at 07:30 over hourly prices): whole slots cannot make those
        if (
            lead is None
            and cuts.whole(usable, wanted)
            and not (unbroken and cuts.inside(known, [*edges, limit]))
        ):
            chosen = _best(usable, wanted, between, hours, contiguous, sign, share, max_windows,
                           divided)  # fmt: skip
        else:  # the window starts or ends inside a slot
            chosen = _cut_best(known, usable, wanted, (now, limit, between), hours, contiguous,
                               sign, share, max_windows, (cut, edges, divided, lead))  # fmt: skip
    except NotEnoughData:
        if running_now is None and run is None:
            raise
        chosen = running_now or run  # the running slot (or its rest) makes up what later lack
    if (divided or rest) and chosen is not running_now:
        chosen = cuts.merged(chosen, known, cut)
    if run is not None and sign * _average(run) < judged(chosen, sign, share) - EPSILON:
        chosen = run
    if running_now is not None and (
        sign * _average(running_now) < judged(chosen, sign, share) - EPSILON
    ):
        chosen = running_now
    average = _average(chosen)
    saving = None if running_now is None else _average(running_now) - average
    used = len(_runs(chosen))
    return WindowResult(
        hours=hours,
        contiguous=contiguous,
        most_expensive=most_expensive,
        slots=tuple(chosen),
        average_price=average,
        # float sums of the same prices in another order differ in the last bits: that is 0
        saving_vs_now=None if saving is None else (0.0 if abs(saving) <= EPSILON else saving),
        windows_used=used,
        penalty_cost=(used - 1) * share * abs(average),
    )


def _starting(known: Sequence[Priced], now: datetime, limit: datetime) -> list[Priced]:
    """The slots that start at or after now and before the limit."""
    return [s for s in known if now <= s.start < limit]


def _cut_best(known, usable, wanted, span, hours, contiguous, sign, share, max_windows, parts):
    """The best window when whole slots cannot make `wanted` seconds (`cuts`): an unbroken
    one starting at a slot start or an edge or ending at a slot end or an edge, or a split
    set of slot parts; `span`: now, the limit and how the messages name them."""
    now, limit, between = span
    cut, edges, divided, lead = parts
    if contiguous or max_windows == 1:
        found = cuts.best_run(known, timedelta(seconds=wanted), now, limit, sign, cut, edges)
        if found is not None:
            return found
        _enough(usable, wanted, between, hours)
        raise _gaps(usable, wanted) or NotEnoughData(
            f"no {_hours(wanted)} {between} has prices for all of it"
        )
    _enough(usable if lead is None else [lead, *usable], wanted, between, hours)
    if abs(wanted - round(wanted)) > 1e-6:
        raise UnreachableDuration(_unreachable(usable, wanted))
    # slots cut at edges (576 of 5 minutes in 48 h of hourly prices): the programme on arrays
    best = split_lead.best_split_set(usable, wanted, lead, cut, (sign, share, max_windows),
                                     divided)  # fmt: skip
    if best is None and max_windows is not None:
        raise NotEnoughData(
            f"{hours:g} h cannot be made from at most {max_windows} windows of the known price "
            "slots and a part of one; allow more windows (max_windows) or fewer hours"
        )
    if best is None:
        raise NotEnoughData(f"no split set of {_hours(wanted)} can be made")
    return best


def _enough(usable: list[Priced], wanted: float, between: str, hours: float):
    """NotEnoughData when the slots between now and the limit (`between` names them) last less
    than `wanted`."""
    available = sum(_seconds(s) for s in usable)
    if available + EPSILON < wanted:
        lie = f"only {_hours(available)} of price slots lie" if available else "no price slot lies"
        raise NotEnoughData(
            f"{lie} entirely {between}, {hours:g} h are needed; prices for later periods are "
            "usually published around midday the day before"
        )


def _gaps(usable: list[Priced], wanted: float) -> NotEnoughData | None:
    """NotEnoughData when no unbroken stretch of the slots lasts `wanted` seconds."""
    longest = max((sum(_seconds(s) for s in run) for run in _runs(usable)), default=0.0)
    if longest + EPSILON >= wanted:
        return None
    return NotEnoughData(
        f"the prices known have gaps: the longest unbroken stretch is {_hours(longest)}, "
        f"{_hours(wanted)} are needed; ask for fewer hours or contiguous=false"
    )


def _best(
    usable: list[Priced],
    wanted: float,
    between: str,
    hours: float,
    contiguous: bool,
    sign: float,
    share: float = 0.0,
    max_windows: int | None = None,
    divided: bool = False,
) -> list[Priced]:
    """The best window of whole slots (or parts: `_cut_best`) that start at or after now;
    `divided`: the slots are price slots cut at edges (many small ones: `split_grid`);
    `between`: the messages' "between now and <limit>"."""
    _enough(usable, wanted, between, hours)
    if contiguous or max_windows == 1:
        return _best_run(usable, wanted, sign)
    if share == 0 and max_windows is None:
        return _best_set(usable, wanted, sign)
    widths = [round(_seconds(s)) for s in usable]
    unit = reduce(math.gcd, widths)
    if abs(wanted / unit - round(wanted / unit)) > 1e-6:
        raise UnreachableDuration(_unreachable(usable, wanted))
    sizes, capacity = [w // unit for w in widths], round(wanted / unit)
    if divided:
        from collectors.pricing import split_grid

        found = split_grid.best_split_grid(usable, sizes, [()] * len(usable), capacity,
                                           (sign, share, max_windows), False)  # fmt: skip
    else:
        found = split.best_split(usable, sizes, capacity, sign, share, max_windows)
    if found is None and max_windows is not None:
        raise NotEnoughData(
            f"{hours:g} h cannot be made from at most {max_windows} windows of the known price "
            "slots; allow more windows (max_windows) or fewer hours"
        )
    if found is None:
        raise _not_made(usable, wanted)
    return found


def _best_run(usable: list[Priced], wanted: float, sign: float) -> list[Priced]:
    """Every start, extended back-to-back until `wanted` seconds; the lowest signed average
    wins, a later start winning ties (we walk forwards and accept equal)."""
    best: list[Priced] | None = None
    best_score = math.inf
    seconds = [_seconds(s) for s in usable]  # once: this runs for every minute of a day
    for i in range(len(usable)):
        total = cost = 0.0
        for j in range(i, len(usable)):
            if j > i and usable[j].start != usable[j - 1].end:
                break  # a gap in the data breaks contiguity
            total += seconds[j]
            cost += usable[j].price * seconds[j]
            if total + EPSILON >= wanted:
                break
        if abs(total - wanted) > EPSILON:
            continue
        score = sign * cost / total
        if score <= best_score + EPSILON:
            best, best_score = usable[i : j + 1], min(score, best_score)
    if best is None:
        raise _gaps(usable, wanted) or _not_made(usable, wanted)
    return best


def _best_set(usable: list[Priced], wanted: float, sign: float) -> list[Priced]:
    """Exact-duration knapsack in units of the slots' common width (15, 30, 60 minutes...):
    the lowest signed cost wins, ties going to the larger sum of start times (later slots)."""
    widths = [round(_seconds(s)) for s in usable]
    unit = reduce(math.gcd, widths)
    capacity = wanted / unit
    if abs(capacity - round(capacity)) > 1e-6:
        raise UnreachableDuration(_unreachable(usable, wanted))
    capacity = round(capacity)
    # best[c] = (signed cost, -sum of start timestamps, chosen indices) for c units
    best: list[tuple[float, float, tuple[int, ...]] | None] = [None] * (capacity + 1)
    best[0] = (0.0, 0.0, ())
    for index, (slot, width) in enumerate(zip(usable, widths, strict=True)):
        size = width // unit
        cost = sign * slot.price * size  # in price x units: small numbers, exact-ish sums
        stamp = slot.start.timestamp()
        for c in range(capacity, size - 1, -1):
            prior = best[c - size]
            if prior is None:
                continue
            score, later = prior[0] + cost, prior[1] - stamp
            current = best[c]
            if current is None or _better(score, later, current):
                best[c] = (score, later, (*prior[2], index))
    if best[capacity] is None:
        raise _not_made(usable, wanted)
    return [usable[i] for i in best[capacity][2]]


def _better(score: float, later: float, than: tuple[float, float, tuple[int, ...]]) -> bool:
    if score < than[0] - EPSILON:
        return True
    return abs(score - than[0]) <= EPSILON and later < than[1]


def _not_made(usable: Sequence[Priced], wanted: float) -> WindowError:
    """No exact window of whole slots: the widths cannot make the duration at all (a bad
    request), or they could but the slots known do not line up (then running now may still
    answer)."""
    unit = reduce(math.gcd, [round(_seconds(s)) for s in usable])
    if abs(wanted / unit - round(wanted / unit)) > 1e-6:
        return UnreachableDuration(_unreachable(usable, wanted))
    return NotEnoughData(
        f"no window of the known price slots lasts exactly {_hours(wanted)}: the slots do not "
        "line up for it; ask for another number of hours"
    )


def _unreachable(usable: Sequence[Priced], wanted: float) -> str:
    widths = sorted({round(_seconds(s) / 60) for s in usable})
    shown = ", ".join(f"{w} min" for w in widths)
    return (
        f"{_hours(wanted)} cannot be made exactly from the price slots ({shown}); ask for a "
        "whole number of minutes"
    )
