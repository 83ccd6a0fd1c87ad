"""Split load plans (`contiguous=false`) whose length the whole price slots cannot make.

A split plan of 23.5 h over 48 hourly slots uses whole slots and one part of another (half
an hour, at its start or its end); one of 24 h uses whole slots only. Both are planned with
`collectors.pricing.plan.make_plan` (carbon price 100 per tonne, a carbon forecast per hour,
the default 6 % interruption penalty: the main, cheapest-only and greenest-only solves), on
random but seeded prices; the mixed case plans 8 h split over 24 hourly slots followed by 96
quarter hours, where any slot's part may be used. A contiguous 3 h plan (with the Pareto
set) over 192 quarter hours with a 5-minute carbon forecast (WattTime's) may start or end at
each carbon edge inside a slot; the same with an hourly forecast uses whole slots. A split
6 h plan over the 48 hourly slots with a 5-minute carbon forecast may use any part of an hour
up to a carbon edge (576 sub-slots of 5 minutes); one of 6 h 2 min also uses a 2-minute
part of one. A split 45-minute plan over the 48 hourly slots whose deadline has seconds (20 h
2 min 37 s from the start, as the default deadline, now + 24 h, has now's) cuts the deadline's
hour at its whole minute. Planned at 00:20:37 instead of T0, a split 6 h plan over the 48
hourly slots may use the running hour's rest (39 min 23 s, `split_lead`); so may one with the
5-minute carbon forecast, whose rest is cut at its edges; each is compared with the same plan
made at T0, a slot's start, where no slot is running. A price answer's figures (the price
now, the cheapest and the dearest 3 h) over 48 h of quarter hours at 10:07:13 are compared
with the same over 48 hourly slots. The figures are best-of-N wall times and their ratios to
the whole-slot plans (or the hourly answer) of the same run, which do not depend on the
machine.
Pure computation: no service is used.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta

from bench._env import ROOT, base_environment

RESULTS = ROOT / "bench" / "results" / "plan.json"
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def figure(value: float, unit: str, target: float | None, better: str) -> dict:
    return {"value": value, "unit": unit, "target": target, "better": better}


def day(widths: list[int], seed: int = 1, carbon_minutes: int = 60):
    """Price slots of `widths` minutes back to back from T0 and a carbon forecast of
    `carbon_minutes` slots."""
    from collectors.pricing.carbon_store import ForecastSlot, carbon_spans
    from collectors.pricing.slots import PriceSlot

    rng, prices, at = random.Random(seed), [], T0
    for width in widths:
        end = at + timedelta(minutes=width)
        prices.append(PriceSlot(at, end, round(rng.uniform(0.05, 0.40), 4)))
        at = end
    step = timedelta(minutes=carbon_minutes)
    forecast = [
        ForecastSlot(T0 + i * step, T0 + (i + 1) * step, rng.uniform(50, 400))
        for i in range(int((at - T0) / step))
    ]
    return prices, carbon_spans(forecast, [], T0, at), at


def timed(
    prices,
    spans,
    end,
    hours: float,
    repeats: int,
    contiguous: bool = False,
    before: datetime | None = None,
    now: datetime = T0,
) -> float:
    from collectors.pricing.plan import make_plan

    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        make_plan(prices, spans, now, hours, before=before or end, carbon_price=100,
                  contiguous=contiguous,
                  penalty_percent=6, pareto=contiguous)  # fmt: skip
        best = min(best, time.perf_counter() - began)
    return best


def answered(widths: list[int], repeats: int) -> float:
    """Best-of-N wall time of a price answer's figures (`headline`: the price now and the
    cheapest and dearest 3 h of the next 24) over slots of `widths`, at 10:07:13."""
    from collectors.pricing.slots import headline

    prices, _, _ = day(widths)
    now = T0 + timedelta(hours=10, minutes=7, seconds=13)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(20):
            headline(prices, now, 3)
        best = min(best, (time.perf_counter() - began) / 20)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else 5
    base_environment("plan")
    import django

    django.setup()
    hourly = day([60] * 48)
    mixed = day([60] * 24 + [15] * 96)
    whole = timed(*hourly, 24, repeats)
    part = timed(*hourly, 23.5, repeats)
    mixed_split = timed(*mixed, 8, repeats)
    quarters = [15] * 192
    aligned = timed(*day(quarters), 3, repeats, contiguous=True)
    edges = timed(*day(quarters, carbon_minutes=5), 3, repeats, contiguous=True)
    fine = day([60] * 48, carbon_minutes=5)
    split_edges = timed(*fine, 6, repeats)
    split_edges_part = timed(*fine, 6 + 2 / 60, repeats)
    deadline = T0 + timedelta(hours=20, seconds=157)
    split_deadline = timed(*hourly, 0.75, repeats, before=deadline)
    inside = T0 + timedelta(minutes=20, seconds=37)  # the running hour's rest: 39 min 23 s
    split_six = timed(*hourly, 6, repeats)
    split_rest = timed(*hourly, 6, repeats, now=inside)
    split_rest_edges = timed(*fine, 6, repeats, now=inside)
    answer_hourly = answered([60] * 48, repeats)
    answer_quarters = answered(quarters, repeats)
    figures = {
        "split_whole_seconds": figure(whole, "s", None, "lower"),
        "split_part_seconds": figure(part, "s", None, "lower"),
        "split_part_vs_whole": figure(part / whole, "x", 10.0, "lower"),
        "mixed_split_seconds": figure(mixed_split, "s", None, "lower"),
        "mixed_split_vs_whole": figure(mixed_split / whole, "x", None, "lower"),
        "split_edges_seconds": figure(split_edges, "s", None, "lower"),
        "split_edges_vs_whole": figure(split_edges / whole, "x", None, "lower"),
        "split_edges_part_seconds": figure(split_edges_part, "s", None, "lower"),
        "split_edges_part_vs_whole": figure(split_edges_part / whole, "x", None, "lower"),
        "split_deadline_seconds": figure(split_deadline, "s", None, "lower"),
        "split_deadline_vs_whole": figure(split_deadline / whole, "x", None, "lower"),
        "split_rest_seconds": figure(split_rest, "s", None, "lower"),
        "split_rest_vs_start": figure(split_rest / split_six, "x", None, "lower"),
        "split_rest_edges_seconds": figure(split_rest_edges, "s", None, "lower"),
        "split_rest_edges_vs_start": figure(split_rest_edges / split_edges, "x", None, "lower"),
        "carbon_edges_seconds": figure(edges, "s", None, "lower"),
        "carbon_edges_vs_aligned": figure(edges / aligned, "x", None, "lower"),
        "price_answer_seconds": figure(answer_quarters, "s", None, "lower"),
        "price_answer_vs_hourly": figure(answer_quarters / answer_hourly, "x", None, "lower"),
    }
    for name, value in figures.items():
        print(f"{name:26} {value['value']:10.4f} {value['unit']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    params = {"repeats": repeats, "slots_hourly": 48, "slots_mixed": "24 x 60 min + 96 x 15 min",
              "slots_edges": "192 x 15 min, carbon 5 min (aligned: 60 min)"}  # fmt: skip
    RESULTS.write_text(json.dumps({"name": "plan", "params": params, "figures": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
