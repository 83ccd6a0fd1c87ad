"""The load plan against exhaustive search on random slot sets (issue 13 §2).

Random price slots (15, 30 and 60 minutes mixed, gaps, negative prices) and random carbon
forecasts (with gaps, so the last known value is carried) are planned; every candidate the
rules allow is then enumerated here, independently of the planner: every unbroken window
starting at any minute from now (running now included) and ending by `before` (split plans
too); for split plans every subset of slots with the interruption penalty, and, for a length
the whole slots cannot make or over mixed slot widths, every subset with one part of another slot at its start or
its end (`with_parts`), and every set of whole minutes from now up to `before` (`best_minutes`:
the running slot's rest included; a part of a slot may end at a carbon forecast's edge inside
it, or at the deadline). Costs are summed minute by minute from the raw data. The
planner's window must score the optimum.
"""

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from collectors.pricing.carbon_store import ForecastSlot, carbon_spans
from collectors.pricing.plan import make_plan
from collectors.pricing.slots import PriceSlot
from collectors.pricing.windows import NotEnoughData, UnreachableDuration
from tests.support.minute_sets import best_minutes

T0 = datetime(2026, 5, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def random_day(rng: random.Random, count: int, widths=(15, 30, 60)):
    prices, cursor = [], T0
    for _ in range(count):
        if rng.random() < 0.1:
            cursor += rng.choice([15, 30, 60]) * MINUTE  # a gap in the prices
        width = rng.choice(widths) * MINUTE
        prices.append(PriceSlot(cursor, cursor + width, round(rng.uniform(-0.05, 0.5), 4)))
        cursor += width
    forecast, at = [], T0 - 30 * MINUTE
    while at < cursor:
        length = rng.choice([5, 30, 60]) * MINUTE
        if rng.random() < 0.8:  # else a gap: the last known value is carried
            forecast.append(ForecastSlot(at, at + length, round(rng.uniform(20, 600), 1)))
        at += length
    points = [(T0 - 40 * MINUTE, round(rng.uniform(20, 600), 1))]
    return prices, forecast, points, cursor


def per_minute(prices, forecast, points, start, end):
    """{minute: (price, gCO2/kWh)} from the raw data, by the documented rules."""
    known = sorted([(s.start, s.gco2) for s in forecast] + points)
    values = {}
    for slot in prices:
        moment = slot.start
        while moment < slot.end:
            if start <= moment < end:
                covering = [s.gco2 for s in forecast if s.start <= moment < s.end]
                carbon = covering[0] if covering else [v for t, v in known if t <= moment][-1]
                values[moment] = (slot.price, carbon)
            moment += MINUTE
    return values


def cost(values, spans, per_gram):
    """Average score per kWh of time spans [(start, end)], and False when a minute is unknown."""
    minutes = [m for a, b in spans for m in _minutes(a, b)]
    if any(m not in values for m in minutes):
        return None
    total = sum(values[m][0] + per_gram * values[m][1] for m in minutes)
    return total / len(minutes)


def _minutes(a, b):
    while a < b:
        yield a
        a += MINUTE


def runs(spans):
    merged = []
    for a, b in sorted(spans):
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def judged(average, windows, share):
    return average + (windows - 1) * share * abs(average)


def candidates(prices, now, before, wanted, contiguous, share, max_windows):
    """Every allowed window as a list of (start, end) spans."""
    usable = [s for s in prices if s.start >= now and s.end <= before]
    widths = [round((s.end - s.start).total_seconds()) for s in usable]
    # every unbroken window, starting at every minute from now (running now included): split
    # plans too, which are never worse than the best of them
    found = with_parts(prices, usable, now, before, wanted, True, share, max_windows)
    if contiguous:
        return found
    if not usable or wanted.total_seconds() % math.gcd(*widths) or len(set(widths)) > 1:
        # the whole slots cannot make the duration, or are of mixed widths (where a part of
        # an hour may beat every set of whole slots): split sets use a part of a slot
        return found + with_parts(prices, usable, now, before, wanted, False, share,
                                  max_windows)  # fmt: skip
    cap = len(usable) if share == 0 else 1 + int((1 - 1e-12) // share)
    cap = min(cap, max_windows or cap)
    for size in range(1, len(usable) + 1):
        for subset in itertools.combinations(usable, size):
            if sum((s.end - s.start for s in subset), timedelta()) != wanted:
                continue
            spans = [(s.start, s.end) for s in subset]
            if len(runs(spans)) <= cap:
                found.append(spans)
    return found


def with_parts(prices, usable, now, before, wanted, contiguous, share, max_windows):
    """Windows that may start or end inside a slot: unbroken ones starting at every minute
    from now; split sets of whole slots alone or with one part of another slot, at its start
    or its end."""
    if contiguous:
        return [[(a, a + wanted)] for a in _minutes(now, before - wanted + MINUTE)]
    if sum((s.end - s.start for s in usable), timedelta()) < wanted:
        return []
    cap = len(usable) if share == 0 else 1 + int((1 - 1e-12) // share)
    cap = min(cap, max_windows or cap)
    found = []
    for size in range(len(usable) + 1):
        for subset in itertools.combinations(usable, size):
            rest = wanted - sum((s.end - s.start for s in subset), timedelta())
            if rest == timedelta():
                found.append([(s.start, s.end) for s in subset])
            for slot in usable:
                if slot in subset or not timedelta() < rest < slot.end - slot.start:
                    continue
                for part in ((slot.start, slot.start + rest), (slot.end - rest, slot.end)):
                    spans = [(s.start, s.end) for s in subset] + [part]
                    if len(runs(spans)) <= cap:
                        found.append(spans)
    return found


def best(values, found, per_gram, share):
    scores = []
    for spans in found:
        average = cost(values, spans, per_gram)
        if average is not None:
            scores.append(judged(average, len(runs(spans)), share))
    return min(scores) if scores else None


CASES = [(seed, contiguous) for seed in range(60) for contiguous in (True, False)]


@pytest.mark.parametrize(("seed", "contiguous"), CASES)
def test_the_plan_scores_the_optimum_of_every_allowed_window(seed, contiguous):
    rng = random.Random(seed)
    day = random_day(rng, 9 if not contiguous else 40)
    assert_the_optimum(rng, day, [15, 30, 45, 60, 90, 120], contiguous, seed)


@pytest.mark.parametrize(("seed", "contiguous"), CASES[:60])
def test_lengths_the_whole_slots_cannot_make_score_the_optimum(seed, contiguous):
    # hourly and half-hourly prices, lengths no slot width divides: windows use parts of slots
    rng = random.Random(5000 + seed)
    day = random_day(rng, 9 if not contiguous else 40, widths=(30, 60, 60))
    assert_the_optimum(rng, day, [20, 45, 75, 90, 100, 150], contiguous, seed)


@pytest.mark.parametrize("seed", range(40))
def test_split_sets_of_whole_hours_may_use_part_of_an_hour(seed):
    # hourly prices and whole hours: a split set may still take the cleaner part of an hour
    # (up to an edge of the carbon forecast inside it) or the part before a deadline inside it
    rng = random.Random(9000 + seed)
    day = random_day(rng, 9, widths=(60,))
    assert_the_optimum(rng, day, [60, 120, 180], False, seed)


def assert_the_optimum(rng, day, lengths, contiguous, seed):
    """The plan of a random request over `day` scores the optimum of `candidates`."""
    prices, forecast, points, last = day
    now = T0 + rng.choice([0, 7, 15, 20, 44]) * MINUTE
    wanted = rng.choice(lengths) * MINUTE
    before = min(last, now + timedelta(hours=rng.choice([3, 6, 12, 48])))
    carbon_price = rng.choice([0, 50, 400, 2000])
    penalty = rng.choice([0, 6, 25]) if not contiguous else 0
    max_windows = rng.choice([None, None, 2]) if not contiguous else None
    spans = carbon_spans(forecast, points, now, before)
    values = per_minute(prices, forecast, points, now, before)
    per_gram = carbon_price / 1e6
    found = candidates(prices, now, before, wanted, contiguous, penalty / 100, max_windows)
    expected = best(values, found, per_gram, penalty / 100)
    if not contiguous:  # any minutes from now (the running slot's rest too), a part of a
        # slot at a carbon edge or the deadline too
        split = best_minutes(values, now, wanted, per_gram, penalty / 100, max_windows)
        expected = min((v for v in (expected, split) if v is not None), default=None)
    hours = wanted / timedelta(hours=1)
    try:
        plan = make_plan(prices, spans, now, hours, before=before, carbon_price=carbon_price,
                         contiguous=contiguous, penalty_percent=penalty,
                         max_windows=max_windows)  # fmt: skip
    except (NotEnoughData, UnreachableDuration):
        assert expected is None, (seed, expected)
        return
    chosen = plan.chosen
    spans_used = [(s.start, s.end) for s in chosen.slots]
    assert sum((b - a for a, b in spans_used), timedelta()) == wanted
    assert chosen.start >= now and chosen.end <= before
    windows = len(runs(spans_used))
    assert chosen.windows_used == windows
    average = cost(values, spans_used, per_gram)
    assert chosen.average_score == pytest.approx(average, abs=1e-9)
    assert judged(average, windows, penalty / 100) == pytest.approx(expected, abs=1e-9), seed
    assert chosen.penalty_cost == pytest.approx((windows - 1) * penalty / 100 * abs(average))
    # the averages shown are those of the raw data
    minutes = [m for a, b in spans_used for m in _minutes(a, b)]
    assert chosen.average_price == pytest.approx(sum(values[m][0] for m in minutes) / len(minutes))
    assert chosen.average_carbon == pytest.approx(sum(values[m][1] for m in minutes) / len(minutes))
    # the cheapest-only and greenest-only windows are optimal for price and for carbon alone
    assert plan.cheapest.average_price <= chosen.average_price + 1e-9 or windows > 1
    if plan.greenest is not None and windows == 1 and plan.greenest.windows_used == 1:
        assert plan.greenest.average_carbon <= chosen.average_carbon + 1e-9
    for other in (plan.cheapest, plan.greenest):  # penalties in the plan's own score unit
        if other is not None:
            assert other.penalty_cost == pytest.approx(
                (other.windows_used - 1) * penalty / 100 * abs(other.average_score))  # fmt: skip
    if plan.running_now is not None:
        assert judged(average, windows, penalty / 100) <= plan.running_now.average_score + 1e-9


def hourly(values, start=T0):
    return [(start + timedelta(hours=i), start + timedelta(hours=i + 1), v)
            for i, v in enumerate(values)]  # fmt: skip


def hand_plan(prices, carbon, hours, carbon_price, **rules):
    price_slots = [PriceSlot(a, b, p) for a, b, p in hourly(prices)]
    forecast = [ForecastSlot(a, b, g) for a, b, g in hourly(carbon)]
    end = T0 + timedelta(hours=len(prices))
    spans = carbon_spans(forecast, [], T0, end)
    return make_plan(price_slots, spans, T0, hours, before=end, carbon_price=carbon_price, **rules)


def test_hand_computed_plan_and_its_comparisons():
    # scores at 1000 per tonne: 0.30 + 0.100 = 0.40, 0.10 + 0.400 = 0.50, 0.20 + 0.050 = 0.25,
    # 0.10 + 0.300 = 0.40 -> 02:00
    plan = hand_plan([0.30, 0.10, 0.20, 0.10], [100, 400, 50, 300], 1, 1000)
    assert (plan.chosen.start, plan.chosen.average_score) == (T0 + timedelta(hours=2), 0.25)
    assert (plan.chosen.average_price, plan.chosen.average_carbon) == (0.20, 50)
    # cheapest: 0.10 at 01:00 and 03:00, the later; greenest: 50 g at 02:00; now: 00:00
    assert plan.cheapest.start == T0 + timedelta(hours=3)
    assert (plan.cheapest.average_price, plan.cheapest.average_carbon) == (0.10, 300)
    assert plan.greenest.start == T0 + timedelta(hours=2)
    assert (plan.running_now.average_price, plan.running_now.average_carbon) == (0.30, 100)


def test_hours_after_the_forecast_carry_its_last_value_and_say_so():
    # forecast for 00:00 (100 g) and 01:00 (400 g) only: 02:00 and 03:00 carry 400 g
    price_slots = [PriceSlot(a, b, p) for a, b, p in hourly([0.30, 0.10, 0.05, 0.20])]
    forecast = [ForecastSlot(a, b, g) for a, b, g in hourly([100, 400])]
    end = T0 + timedelta(hours=4)
    spans = carbon_spans(forecast, [], T0, end)
    assert spans[-1].carried_from == T0 + timedelta(hours=1) and spans[-1].gco2 == 400
    plan = make_plan(price_slots, spans, T0, 1, before=end, carbon_price=1000)
    # scores 0.40, 0.50, 0.45, 0.60 -> running now (00:00) wins
    assert plan.chosen.start == T0 and plan.chosen.carried_seconds == 0
    plan = make_plan(price_slots, spans, T0, 2, before=end, carbon_price=0)
    # by price, 2 h: 00:00 0.20, 01:00 0.075, 02:00 0.125 -> 01:00, its 02:00 hour carried
    assert plan.chosen.start == T0 + timedelta(hours=1)
    assert plan.chosen.carried_seconds == 3600
    assert plan.chosen.average_carbon == 400


def test_pareto_set_holds_every_supported_trade_off():
    # (price, g): (0.1, 400) (0.2, 200) (0.3, 120) (0.4, 100): all convex, none dominated
    plan = hand_plan([0.1, 0.2, 0.3, 0.4], [400, 200, 120, 100], 1, 500, pareto=True)
    # at 500 per tonne 00:00 and 01:00 both score 0.30: the later one
    assert plan.chosen.start == T0 + timedelta(hours=1)
    assert [(f.average_price, f.average_carbon) for f in plan.pareto] == [
        (0.1, 400), (0.2, 200), (0.3, 120), (0.4, 100)]  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_the_pareto_windows_are_not_beaten_on_both_price_and_carbon(seed):
    rng = random.Random(1000 + seed)
    prices, forecast, points, last = random_day(rng, 30)
    now = T0 + rng.choice([0, 7, 20]) * MINUTE
    wanted = rng.choice([30, 60, 120]) * MINUTE
    before = min(last, now + timedelta(hours=12))
    spans = carbon_spans(forecast, points, now, before)
    values = per_minute(prices, forecast, points, now, before)
    try:
        plan = make_plan(prices, spans, now, wanted / timedelta(hours=1), before=before,
                         carbon_price=rng.choice([50, 400, 2000]), pareto=True)  # fmt: skip
    except (NotEnoughData, UnreachableDuration):
        return
    every = []
    for window in candidates(prices, now, before, wanted, True, 0, None):
        minutes = [m for a, b in window for m in _minutes(a, b)]
        if all(m in values for m in minutes):
            every.append((sum(values[m][0] for m in minutes) / len(minutes),
                          sum(values[m][1] for m in minutes) / len(minutes)))  # fmt: skip
    assert 1 <= len(plan.pareto) <= 5
    shown = [(f.average_price, f.average_carbon) for f in plan.pareto]
    assert shown == sorted(shown)
    for price, carbon in shown:
        assert (price, carbon) in [pytest.approx(point) for point in every]
        beaten = [(p, c) for p, c in every if p < price - 1e-9 and c < carbon - 1e-9]
        assert beaten == [], (seed, price, carbon)
    # the cheapest and the greenest windows of all are there
    assert shown[0][0] == pytest.approx(min(p for p, _ in every))
    assert shown[-1][1] == pytest.approx(min(c for _, c in every))
