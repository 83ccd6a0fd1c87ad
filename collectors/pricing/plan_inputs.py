"""A site's plan from stored data: its price slots, its carbon forecast, and the answer.

Shared by `GET /api/plan` (`plan_api`) and the flexible loads (`loads.plan_for`), so both give
the same answer for the same moment. Prices: the site's price provider, as
`/api/pricing/windows` picks it. Carbon: the site's enabled carbon providers in name order, as
`/api/carbon/series` tries them (collectors.carbon.choice); the first with gCO2/kWh stored for
its region is used. The region is the site's own (`choice.carbon_region`): the tag the collector
wrote (the last answer in Redis names it: UK postcodes are stored under the region's name),
else the provider target's own key.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from collectors.answers import digits
from collectors.carbon.choice import Unusable, carbon_configs, carbon_region
from collectors.pricing.api import answer_head, one_currency_slots, provider_target, site_provider
from collectors.pricing.carbon_store import CarbonSpan, carbon_spans, forecast_end, stored_carbon
from collectors.pricing.pieces import runs
from collectors.pricing.plan import Figures, Plan, figures, make_plan
from collectors.pricing.store import AHEAD
from collectors.pricing.windows import NotEnoughData
from enrich.models import ProviderConfig, Site


@dataclass(frozen=True)
class PlanRequest:
    now: datetime
    hours: float
    before: datetime
    carbon_price: float  # currency per tonne CO2
    kw: float | None = None
    contiguous: bool = True
    penalty_percent: float = 0.0
    max_windows: int | None = None
    pareto: bool = False
    # False: the reasons say "now" without its time (Home Assistant's, republished each minute)
    name_moment: bool = True


@dataclass(frozen=True)
class Carbon:
    provider: str | None
    region: str | None
    spans: list[CarbonSpan]
    message: str | None
    forecast_until: datetime | None = None  # where the stored forecast ends (None: no forecast)


class TooFewKnown(NotEnoughData):
    """Not enough is stored for the plan; `known` says how far prices and carbon go."""

    def __init__(self, message: str, known: dict[str, Any]):
        super().__init__(message)
        self.known = known


def site_carbon(site: Site, start: datetime, end: datetime) -> Carbon:
    notes = []
    for config in carbon_configs(site):
        try:
            region = carbon_region(config)
        except Unusable as exc:
            notes.append(str(exc))
            continue
        spans = carbon_spans(*stored_carbon(config.provider, region, start, end), start, end)
        if spans:
            return Carbon(
                config.provider, region, spans, None, _until(config, region, spans, (start, end))
            )
        notes.append(f"no gCO2/kWh is stored for {config.provider}/{region}")
    if not notes:
        notes.append(f"site {site.name!r} has no enabled carbon intensity provider")
    return Carbon(None, None, [], f"No carbon data: {'; '.join(notes)}. Planned by price only.")


def _until(config: ProviderConfig, region: str, spans: list[CarbonSpan], read: tuple):
    """Where the forecast ends: the spans' end when that is before where they were read up
    to, else as far as it is stored (a 72 h forecast read for 48 h)."""
    start, end = read
    until = max((s.end for s in spans if s.carried_from is None), default=None)
    if until is None or until < end:
        return until
    return max(until, forecast_end(config.provider, region, start) or until)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _figures(f: Figures, kwh: float | None) -> dict[str, Any]:
    shown = {
        "start": _iso(f.start),
        "end": _iso(f.end),
        "average_price": f.average_price,
        "average_carbon": f.average_carbon,
        "average_score": f.average_score,
        "carbon_last_known_hours": f.carried_seconds / 3600,
        "windows_used": f.windows_used,
        "penalty_cost": f.penalty_cost,
    }
    if kwh is not None:
        shown["cost"] = f.average_price * kwh
        shown["emissions_kg"] = None if f.average_carbon is None else f.average_carbon * kwh / 1000
    return shown


def _against(chosen: Figures, other: Figures | None, kwh: float | None) -> dict | None:
    """The other window's figures and what the plan saves against it (positive: the plan
    costs less / emits less)."""
    if other is None:
        return None
    shown = _figures(other, kwh)
    shown["price_saving"] = digits(other.average_price) - digits(chosen.average_price)
    carbon = None not in (other.average_carbon, chosen.average_carbon)
    shown["carbon_saving"] = (
        digits(other.average_carbon) - digits(chosen.average_carbon) if carbon else None
    )
    if kwh is not None:
        shown["cost_saving"] = shown["price_saving"] * kwh
        shown["emissions_saving_kg"] = shown["carbon_saving"] * kwh / 1000 if carbon else None
    return shown


def plan_answer(site: Site, wanted: PlanRequest) -> dict[str, Any]:
    """The plan as the API shows it; Conflict, TooFewKnown and UnreachableDuration say why
    there is none (a price provider that cannot be collected is a Conflict: `provider_target`;
    a carbon provider that cannot be, a note in the answer's carbon.message)."""
    config = site_provider(site)
    region = provider_target(site, config).key
    now = wanted.now
    currency, slots = one_currency_slots(config.provider, region, now, wanted.before,
                                         name_moment=wanted.name_moment)  # fmt: skip
    # read as far as forecasts go (not just to `before`), so the answer says how far that is
    carbon = site_carbon(site, now, max(wanted.before, now + AHEAD))
    later = _known_from(carbon, now)
    try:
        plan = _plan(slots, carbon, wanted, wanted.carbon_price)
    except NotEnoughData as exc:
        known = {"prices_until": _iso(slots[-1].end) if slots else None,
                 "carbon_forecast_until": _iso(carbon.forecast_until),
                 "carbon_known_from": _iso(later)}  # fmt: skip
        raise TooFewKnown(_why_none(exc, slots, carbon, wanted, later), known) from None
    if later is not None:
        carbon = replace(carbon, message=_starts_later(carbon, later, wanted.carbon_price))
    return digits({**_shown(site, config.provider, region, currency, wanted, carbon, plan),
                   "prices_until": _iso(slots[-1].end)})  # fmt: skip


def _plan(slots, carbon: Carbon, wanted: PlanRequest, carbon_price: float) -> Plan:
    return make_plan(slots, carbon.spans, wanted.now, wanted.hours, before=wanted.before,
                     carbon_price=carbon_price, contiguous=wanted.contiguous,
                     penalty_percent=wanted.penalty_percent, max_windows=wanted.max_windows,
                     pareto=wanted.pareto, name_moment=wanted.name_moment)  # fmt: skip


def _known_from(carbon: Carbon, now: datetime) -> datetime | None:
    """Where the carbon data starts when that is after now (the carbon forecast starts later
    than the prices); None when it is known from now on, or not at all."""
    first = carbon.spans[0].start if carbon.spans else None
    return first if first is not None and first > now else None


def _starts_later(carbon: Carbon, later: datetime, carbon_price: float) -> str:
    """What a plan whose carbon data starts after now says about the time before it."""
    head = f"Carbon intensity ({carbon.provider}) is known only from {_iso(later)}"
    if carbon_price > 0:
        return (f"{head}: with a carbon price only the time from then on is planned (and "
                "compared); ask with carbon_price=0 to plan the time before it on price "
                "alone.")  # fmt: skip
    return f"{head}: the slots before it are planned on price alone (their carbon is null)."


def _why_none(exc: NotEnoughData, slots, carbon: Carbon, wanted, later) -> str:
    """The 409's reason: the planner's, unless the carbon data starting later is why (the
    same request plans on price alone)."""
    if later is None or wanted.carbon_price == 0:
        return str(exc)
    try:
        _plan(slots, carbon, wanted, 0.0)
    except NotEnoughData:
        return str(exc)  # too few prices anyway: the planner's reason stands
    return (f"Carbon intensity ({carbon.provider}) is known only from {_iso(later)}, and with a "
            f"carbon price only time with both a price and a carbon value is planned: "
            f"{wanted.hours:g} h cannot be planned between then and {_iso(wanted.before)}. "
            "Ask with carbon_price=0 to plan on price alone, or with a later `before`.")  # fmt: skip


def _shown(site, provider, region, currency, wanted, carbon, plan: Plan) -> dict[str, Any]:
    kwh = None if wanted.kw is None else wanted.kw * wanted.hours
    chosen = plan.chosen
    return {
        **answer_head(site, provider, region, currency, wanted.now),
        "carbon_unit": "gCO2/kWh",
        "hours": wanted.hours,
        "before": _iso(wanted.before),
        "contiguous": wanted.contiguous,
        "carbon_price": wanted.carbon_price,
        "carbon_price_unit": f"{currency}/t CO2",
        "kw": wanted.kw,
        "kwh": kwh,
        "penalty_percent": wanted.penalty_percent,
        "max_windows": wanted.max_windows,
        "carbon": {
            "provider": carbon.provider,
            "region": carbon.region,
            "known": plan.carbon_known,
            "forecast_until": _iso(carbon.forecast_until),
            "known_from": _iso(_known_from(carbon, wanted.now)),
            "message": carbon.message,
        },
        **_figures(chosen, kwh),
        "windows": _runs(chosen),
        "slots": [
            {
                "start": _iso(s.start),
                "end": _iso(s.end),
                "price": s.energy_price,
                "carbon": s.carbon,
                "carbon_last_known": s.carried > 0,
            }
            for s in chosen.slots
        ],  # fmt: skip
        "compared": {
            "running_now": _against(chosen, plan.running_now, kwh),
            "cheapest": _against(chosen, plan.cheapest, kwh),
            "greenest": _against(chosen, plan.greenest, kwh),
        },
        "pareto": [_figures(f, kwh) for f in plan.pareto] if wanted.pareto else None,
    }


def _runs(f: Figures) -> list[dict[str, Any]]:
    """The back-to-back runs of the chosen slots, each with its own averages."""
    return [
        {"start": _iso(g[0].start), "end": _iso(g[-1].end), "average_price": run.average_price,
         "average_carbon": run.average_carbon}
        for g in runs(f.slots)
        if (run := figures(g))
    ]  # fmt: skip
