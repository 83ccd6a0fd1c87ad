"""A joint price + CO2 plan for a flexible load: pure, on the price slots and carbon spans.

Every price slot gets a score per kWh: its price plus `carbon_price` (currency per tonne of
CO2) x its time-weighted gCO2/kWh / 1,000,000. The window finder (`windows.find_windows`)
then picks the window with the lowest average score under its own rules: never before now,
the running slot priced from now (its carbon too, through `cut`), ties to the later window,
exact durations from mixed slot lengths, parts of slots for the lengths whole slots cannot
make (each part scored with its own carbon, through `cut`), gaps, and the interruption
penalty of split plans.

Carbon comes from `carbon_store.carbon_spans`: forecast values, or the last known value where
no forecast covers the time (`carried`, in seconds, per slot and window). Time whose carbon
is not known at all (before the first stored value, also the part of a slot before it) is not
planned when `carbon_price` > 0; with `carbon_price` 0 it is planned by price (its `carbon`
None). With no carbon spans the plan is by price only (`carbon` None everywhere).

Alongside the chosen window the plan gives the same figures for running now, the cheapest-only
window (carbon ignored) and the greenest-only window (price ignored), and on request a small
Pareto set: windows the same rules choose for other carbon prices, none of them both dearer
and dirtier than another.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from collectors.pricing.carbon_store import CarbonSpan
from collectors.pricing.slots import PriceSlot
from collectors.pricing.windows import WindowError, WindowResult, find_windows, pieces_from

GRAMS_PER_TONNE = 1_000_000
PARETO_MAX = 5
PARETO_SOLVES = 12  # carbon prices tried when looking for the Pareto set


@dataclass(frozen=True, order=True)
class PlanSlot:
    """A price slot (or the part of one a window uses) with its carbon; `price` is the score
    the window finder minimises (weights applied), `energy_price` the electricity price."""

    start: datetime
    end: datetime
    price: float
    energy_price: float
    carbon: float | None  # gCO2/kWh, time-weighted; None without carbon data
    carried: float  # seconds of it that use the last known value instead of a forecast


@dataclass(frozen=True)
class Figures:
    """What a window costs and emits per kWh (time-weighted over its slots)."""

    start: datetime
    end: datetime
    average_price: float
    average_carbon: float | None
    average_score: float
    carried_seconds: float
    windows_used: int
    penalty_cost: float  # per kWh, in score units (see windows)
    slots: tuple[PlanSlot, ...]


@dataclass(frozen=True)
class Plan:
    chosen: Figures
    running_now: Figures | None
    cheapest: Figures
    greenest: Figures | None
    pareto: list[Figures]
    carbon_known: bool


class Scorer:
    """Scores the parts of price slots from the carbon spans with weights on price and gCO2."""

    def __init__(self, spans: Sequence[CarbonSpan], price_weight: float, carbon_weight: float,
                 cache: dict | None = None, need_carbon: bool = True):  # fmt: skip
        self.spans, self.price_weight, self.carbon_weight = spans, price_weight, carbon_weight
        self.need_carbon = need_carbon  # False: a part without carbon is planned by price
        self._slots = {} if cache is None else cache  # shared by the scorers of one plan
        self._starts = [span.start for span in spans]

    def part(self, energy_price: float, start: datetime, end: datetime) -> PlanSlot | None:
        carbon, carried = None, 0.0
        if self.spans:
            grams = seconds = 0.0
            first = max(bisect.bisect_right(self._starts, start) - 1, 0)
            for span in self.spans[first:]:
                if span.start >= end:
                    break
                left, right = max(span.start, start), min(span.end, end)
                if left < right:
                    length = (right - left).total_seconds()
                    grams += span.gco2 * length
                    seconds += length
                    carried += length if span.carried_from is not None else 0.0
            if abs(seconds - (end - start).total_seconds()) <= 1e-6:
                carbon = grams / seconds
            elif self.need_carbon:
                return None  # part of the time has no carbon value: not planned
            else:
                carried = 0.0  # carbon unknown: scored by price only, carbon None
        score = self.price_weight * energy_price + self.carbon_weight * (carbon or 0.0)
        return PlanSlot(start, end, score, energy_price, carbon, carried)

    def edges(self) -> list[datetime]:
        """Where the score may change inside a price slot: the carbon spans' starts and ends
        (none when carbon does not count)."""
        if not self.carbon_weight:
            return []
        return sorted({span.start for span in self.spans} | {span.end for span in self.spans})

    def cut(self, slot: PlanSlot, start: datetime, end: datetime) -> PlanSlot | None:
        if (start, end) == (slot.start, slot.end):
            return slot  # the whole slot: scored already (`slots`), its carbon not summed again
        return self.part(slot.energy_price, start, end)

    def slots(self, prices: Sequence[PriceSlot], now: datetime, until: datetime) -> list[PlanSlot]:
        """The slots still to come; the running one is scored from now and one that `until`
        (the plan's limit) cuts up to it (only that part of either is ever used), but they keep
        their own start and end, as the window finder expects."""
        key = (id(prices), now, until, self.need_carbon)
        if key not in self._slots:  # once per plan: the carbon of a slot is the same always
            scored = (
                self._scored(s, now, until) for s in prices if s.end > now and s.start < until
            )
            self._slots[key] = [slot for slot in scored if slot is not None]
        return [self.weighed(slot) for slot in self._slots[key]]

    def _scored(self, slot: PriceSlot, now: datetime, until: datetime) -> PlanSlot | None:
        """`slot` scored over its part from now up to `until`; one whose carbon starts inside
        that part (WattTime's forecast from 14:05 in the 14:00 hour) from there on, as a slot
        starting there: the time before it has no carbon and is not planned. None when no time
        of it is planned."""
        start, end = max(slot.start, now), min(slot.end, until)
        part = self.part(slot.price, start, end)
        if part is not None:
            return PlanSlot(slot.start, slot.end, *_values(part))
        first = self._starts[0] if self.need_carbon and self._starts else None
        if first is None or not start < first < end:
            return None
        part = self.part(slot.price, first, end)
        return None if part is None else PlanSlot(first, slot.end, *_values(part))

    def weighed(self, slot: PlanSlot) -> PlanSlot:
        score = self.price_weight * slot.energy_price + self.carbon_weight * (slot.carbon or 0.0)
        return PlanSlot(slot.start, slot.end, score, slot.energy_price, slot.carbon, slot.carried)


def _values(part: PlanSlot) -> tuple[float, float, float | None, float]:
    return part.price, part.energy_price, part.carbon, part.carried


def figures(slots: Sequence[PlanSlot], used: int = 1, penalty: float = 0.0) -> Figures:
    seconds = [(s.end - s.start).total_seconds() for s in slots]
    total = sum(seconds)

    def mean(values) -> float:
        return sum(v * w for v, w in zip(values, seconds, strict=True)) / total

    known = all(s.carbon is not None for s in slots)
    return Figures(
        start=slots[0].start,
        end=slots[-1].end,
        average_price=mean(s.energy_price for s in slots),
        average_carbon=mean(s.carbon for s in slots) if known else None,
        average_score=mean(s.price for s in slots),
        carried_seconds=sum(s.carried for s in slots),
        windows_used=used,
        penalty_cost=penalty,
        slots=tuple(slots),
    )


def _solve(prices, spans, now, weights, rules, need_carbon=None) -> tuple[WindowResult, Scorer]:
    if need_carbon is None:
        need_carbon = rules["need_carbon"]
    scorer = Scorer(spans, *weights, cache=rules["cache"], need_carbon=need_carbon)
    wanted = {k: v for k, v in rules.items() if k not in ("cache", "need_carbon")}
    slots = scorer.slots(prices, now, rules["before"])
    result = find_windows(slots, now=now, cut=scorer.cut, edges=scorer.edges(), **wanted)
    return result, scorer


def _rescored(result: WindowResult, main: Scorer, share: float) -> Figures:
    """A window found under other weights, with the main plan's scores (its penalty too)."""
    slots = [main.part(s.energy_price, s.start, s.end) for s in result.slots]
    found = figures(slots, result.windows_used)
    penalty = (found.windows_used - 1) * share * abs(found.average_score)
    return figures(slots, result.windows_used, penalty)


def make_plan(
    prices: Sequence[PriceSlot],
    spans: Sequence[CarbonSpan],
    now: datetime,
    hours: float,
    *,
    before: datetime,
    carbon_price: float,
    contiguous: bool = True,
    penalty_percent: float = 0.0,
    max_windows: int | None = None,
    pareto: bool = False,
    name_moment: bool = True,
) -> Plan:
    """The plan (see the module docstring); WindowError subclasses say why none exists (with
    `name_moment` False without the time `now` is: `find_windows`)."""
    rules = {
        "hours": hours,
        "within": before - now,
        "before": before,
        "contiguous": contiguous,
        "penalty_percent": penalty_percent,
        "max_windows": max_windows,
        "name_moment": name_moment,
        "cache": {},
        # with carbon_price 0 the carbon data does not limit the slots planned
        "need_carbon": carbon_price > 0,
    }
    per_gram = carbon_price / GRAMS_PER_TONNE
    result, main = _solve(prices, spans, now, (1.0, per_gram), rules)
    chosen = figures(result.slots, result.windows_used, result.penalty_cost)
    running = pieces_from(main.slots(prices, now, before), now, timedelta(hours=hours), main.cut)
    share = penalty_percent / 100
    cheapest = _rescored(_solve(prices, spans, now, (1.0, 0.0), rules)[0], main, share)
    greenest = found = None
    if spans:
        greenest = _greenest(prices, spans, now, rules, main)
    if greenest is not None and pareto:
        found = _pareto(prices, spans, now, rules, main, (cheapest, greenest, chosen))
    return Plan(
        chosen=chosen,
        running_now=figures(running) if running else None,
        cheapest=cheapest,
        greenest=greenest,
        pareto=found or [],
        carbon_known=bool(spans),
    )


def _greenest(prices, spans, now, rules, main) -> Figures | None:
    """The greenest-only window, among the slots whose carbon is known; None when those are
    too few (with carbon_price 0 the plan itself may use slots without carbon)."""
    try:
        found = _solve(prices, spans, now, (0.0, 1.0), rules, need_carbon=True)[0]
    except WindowError:
        if rules["need_carbon"]:
            raise
        return None
    return _rescored(found, main, rules["penalty_percent"] / 100)


def _pareto(prices, spans, now, rules, main, ends) -> list[Figures]:
    """Supported Pareto windows: between two found windows A (cheaper) and B (greener), the
    carbon price at which they score the same is tried; a window better than both there lies
    between them, so the search goes on on each side (at most PARETO_SOLVES tries)."""
    cheapest, greenest, chosen = ends
    share = rules["penalty_percent"] / 100
    found = [f for f in (cheapest, greenest, chosen) if f.average_carbon is not None]
    pending = [(cheapest, greenest)] if cheapest.average_carbon is not None else []
    solves = 0
    while pending and solves < PARETO_SOLVES:
        # the pairs at the ends first: a cheapest (greenest) window that one of the same price
        # (carbon) dominates is replaced before the tries go to the middle of the front
        pending.sort(key=lambda pair: pair[0] is cheapest or pair[1] is greenest)
        a, b = pending.pop()
        if a.average_carbon - b.average_carbon <= 1e-9 or b.average_price <= a.average_price:
            continue
        per_gram = (b.average_price - a.average_price) / (a.average_carbon - b.average_carbon)
        window = _rescored(
            _solve(prices, spans, now, (1.0, per_gram), rules, need_carbon=True)[0], main, share
        )
        solves += 1
        line = a.average_price + per_gram * a.average_carbon
        if window.average_price + per_gram * window.average_carbon < line - 1e-9:
            found.append(window)
            pending += [(a, window), (window, b)]
    return _front(found, chosen)


def _front(found: list[Figures], chosen: Figures) -> list[Figures]:
    """The non-dominated windows by average price, then carbon; at most PARETO_MAX, always
    keeping the cheapest, the greenest and the chosen one."""
    unique = {(f.start, f.end, tuple(s.start for s in f.slots)): f for f in found}
    front = [
        f
        for f in unique.values()
        if not any(_dominates(g, f) for g in unique.values() if g is not f)
    ]
    front.sort(key=lambda f: (f.average_price, f.average_carbon))
    if len(front) <= PARETO_MAX:
        return front
    keep = {0, len(front) - 1}
    keep |= {i for i, f in enumerate(front) if f.slots == chosen.slots}
    step = (len(front) - 1) / (PARETO_MAX - 1)
    for k in range(1, PARETO_MAX - 1):
        if len(keep) < PARETO_MAX:
            keep.add(round(k * step))
    return [front[i] for i in sorted(keep)][:PARETO_MAX]


def _dominates(g: Figures, f: Figures) -> bool:
    eps = 1e-9
    no_worse = (
        g.average_price <= f.average_price + eps and g.average_carbon <= f.average_carbon + eps
    )
    better = g.average_price < f.average_price - eps or g.average_carbon < f.average_carbon - eps
    return no_worse and better
