"""The price entities' figures, computed at read time from the stored price slots.

This is the ONE place the MQTT entities reach into the pricing code: the same site ->
provider -> stored slots path as `GET /api/pricing/windows` (collectors.pricing.api), then
the price of the slot running now, the peak rule and the cheapest window of
MQTT_CHEAPEST_WINDOW_HOURS within the next 24 h, what the price is (`basis`: VAT in it or not,
as every price answer says) and where the stored prices end (`known_until`: all of them are
read, so it moves only when new prices are stored). Re-point `price_outlook` when the pricing
API's read path changes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collectors.base import ConfigError
from collectors.pipeline import target_for
from collectors.pricing.api import SOURCE, Conflict, one_currency_slots, site_provider
from collectors.pricing.slots import current_slot, next_day, peak_state
from collectors.pricing.store import AHEAD
from collectors.pricing.windows import WindowError, WindowResult, find_windows
from collectors.registry import adapter_for
from enrich.api.influx_down import unreadable
from enrich.influx import TimeseriesError
from enrich.models import Site

WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class PriceOutlook:
    provider: str
    region: str
    currency: str
    price_now: float | None  # None: no stored slot covers now (`price_problem` says so)
    price_problem: str  # why there is no price now (empty when there is one)
    slot_start: datetime | None
    slot_end: datetime | None
    peak: bool | None  # None: no slot covers now, or too little of the next 24 h is priced
    peak_problem: str  # why the peak is unknown though a slot covers now (else empty)
    window: WindowResult | None
    window_problem: str  # why there is no window (empty when there is one)
    basis: dict[str, Any]  # vat_included, price_basis
    known_until: datetime  # the end of the last stored price slot


class NoPrices(Exception):
    """No price can be computed for the site; the message says why."""


def price_outlook(
    site: Site, hours: float, now: datetime, since: datetime | None = None
) -> PriceOutlook:
    """`since`: the window start published last time (`collectors.ha_mqtt.held`); while
    running now is the cheapest, the window from then is kept if it is still the cheapest
    from then and has not ended."""
    try:
        config = site_provider(site)
        target = target_for(config)
        currency, slots = one_currency_slots(
            config.provider, target.key, min(now, since or now), now + AHEAD
        )
    except (Conflict, ConfigError) as exc:
        raise NoPrices(str(exc)) from exc
    except TimeseriesError as exc:  # its address is the server log's, not Home Assistant's
        raise NoPrices(unreadable("The stored prices", exc)) from exc
    current = current_slot(slots, now)
    price_problem = "" if current else _uncovered(config.provider, target.key, slots, now)
    peak, peak_problem = (
        peak_state(next_day(slots, current, now), current) if current else (None, price_problem)
    )
    window, problem = _cheapest(slots, hours, now)
    if since is not None and window is not None and window.start == now:
        earlier, _ = _cheapest(slots, hours, since)
        if earlier is not None and earlier.start == since and now < earlier.end:
            window = earlier
    return PriceOutlook(
        provider=config.provider,
        region=target.key,
        currency=currency,
        price_now=current.price if current else None,
        price_problem=price_problem,
        slot_start=current.start if current else None,
        slot_end=current.end if current else None,
        peak=peak,
        peak_problem=peak_problem or "",
        window=window,
        window_problem=problem,
        basis=adapter_for(SOURCE, config.provider).basis(),
        known_until=slots[-1].end,
    )


def _uncovered(provider: str, region: str, slots, now: datetime) -> str:
    """Why no stored slot covers `now`, in words that do not change as time passes (Home
    Assistant records every attribute change)."""
    end = slots[-1].end
    if end <= now:
        return (
            f"no {provider} price for {region} is stored for now: the stored prices end at "
            f"{end.isoformat()} (no newer prices fetched yet)"
        )
    if slots[0].start > now:
        return (
            f"no {provider} price for {region} is stored for now: the stored prices start at "
            f"{slots[0].start.isoformat()}"
        )
    return (
        f"no {provider} price for {region} is stored for now: a gap in the stored prices, "
        f"which go on until {end.isoformat()}"
    )


def _cheapest(slots, hours: float, now: datetime) -> tuple[WindowResult | None, str]:
    """The cheapest contiguous window from now within WITHIN, or None and why not."""
    try:
        return find_windows(slots, hours, now, within=WITHIN, contiguous=True), ""
    except WindowError as exc:
        return None, str(exc)
