"""`GET /api/pricing/windows`: the cheapest (or most expensive) time to use electricity.

Query parameters (a bad value is a 400 naming it):
- `hours` (required): length of the window in hours, whole minutes, at least a minute and at
  most `within` (e.g. 3, 1.5, 0.75; `hours_parameter`); it need not be a multiple of the price
  slots: a window may start or end inside a slot (`collectors.pricing.windows`).
- `within` (default 24h): how far ahead to look, e.g. 24h, 90m, 2d, 1h30m.
- `contiguous` (default true): one unbroken run, or (false) the best slots anywhere.
- `before`: ISO 8601 time with a zone; the window must end by then (must be in the future).
- `site`: site id; optional when exactly one site exists.
- `most_expensive` (default false): the most expensive window instead (to avoid it).
- `penalty_percent` (default `PLAN_INTERRUPTION_PENALTY_PERCENT`, 6) and `max_windows`: how a
  split answer (contiguous=false) is kept from chopping the run for noise-level savings; the
  answer says `windows_used` and `penalty_cost` (per kWh).

The prices are the slots the site's enabled electricity_pricing provider stored in
`electricity_pricing_forecast` (tags provider and region from the provider's target), read
for the moment of the request. The answer names provider, region, currency, what the price
is (`vat_included`, `price_basis`: VAT is in Tibber's and Octopus' prices, not in aWATTar's
net spot price), the price now (`current_price`, of the slot covering the request's moment;
null when none does), the
window and its pieces with their time-weighted average price per kWh and `saving_vs_now`, and
`known_until`: the end of the last price stored before the limit, so an answer compared only
the prices published so far says so (before tomorrow's prices, earlier than now + `within`). Rules (never
before now, the running slot priced from now to its end, ties to the later window, exact
durations) are those of `collectors.pricing.windows`.

`saving_vs_now` (currency per kWh) has the same sign for both directions: the average price of
running the same duration from now, minus the window's average. Positive means the window
costs less than running now. The cheapest window is never dearer than running now, so its
saving is never negative; with `most_expensive=true` it is never positive. It is null when
the prices from now for that long are not known.
Errors: 400 bad parameter; 404 unknown site;
409 no enabled price provider, one this enrich has no adapter for (renamed or removed), its
settings are incomplete, or too few prices are stored;
503 InfluxDB unreachable.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import clock
from collectors.answers import digits
from collectors.base import ConfigError
from collectors.last_collection import last_collection
from collectors.pipeline import target_for
from collectors.pricing.adapter import MIN_HOURS  # a minute, as options.window_hours
from collectors.pricing.schemas import ERRORS, WINDOWS
from collectors.pricing.slots import FORECAST_MEASUREMENT, PriceSlot, current_slot
from collectors.pricing.store import LOOK_BACK, stored_slots
from collectors.pricing.windows import NotEnoughData, UnreachableDuration, find_windows
from collectors.registry import UnknownProvider, adapter_for
from enrich.api import params, time_params
from enrich.api.influx_down import influx_down
from enrich.api.params import MAX_DURATION
from enrich.api.site import SITE, site_from_query
from enrich.influx import TimeseriesError
from enrich.models import ProviderConfig, Site
from enrich.time_span import whole_minutes

SOURCE = "electricity_pricing"
DEFAULT_WITHIN = timedelta(hours=24)
MAX_HOURS = MAX_DURATION.total_seconds() / 3600  # a year (366 days)


class Conflict(Exception):
    """The request is fine but the stored state cannot answer it (HTTP 409)."""


def _hours(seconds: float) -> str:
    """A duration in hours, to under a millisecond: `:g` alone keeps six digits, so "2d1m" was
    "48.0167h" and "300d1m" "7200.02h", 12 s more than asked."""
    return f"{round(seconds / 3600, 7):.15g}h"


def price_provider(site: Site) -> ProviderConfig | None:
    """The site's enabled price provider (the first by name), None when it has none."""
    return (
        ProviderConfig.objects.select_related("site")
        .filter(site=site, source=SOURCE, enabled=True)
        .order_by("provider")
        .first()
    )


def no_provider(site: Site) -> str:
    """What the pricing and plan endpoints (a 409) and the status page's price chart and plan
    say of a site with no enabled price provider."""
    return (
        f"Site {site.name!r} has no enabled electricity price provider: add one in the admin "
        "(Provider configs: awattar, tibber or octopus), then wait for its first collection."
    )


def site_provider(site: Site) -> ProviderConfig:
    config = price_provider(site)
    if config is None:
        raise Conflict(no_provider(site))
    return config


def provider_target(site: Site, config: ProviderConfig) -> Any:
    """The target of the site's price provider; Conflict when its settings are incomplete or
    it names a provider this enrich has no adapter for (renamed or removed since it was set)."""
    try:
        return target_for(config)
    except ConfigError as exc:
        raise Conflict(f"The {config.provider} settings of site {site.name!r} are "
                       f"incomplete: {exc}") from None  # fmt: skip
    except UnknownProvider as exc:
        why = str(exc).rstrip(".")
        raise Conflict(f"The electricity price provider of site {site.name!r} is set to "
                       f"{config.provider!r}, which this enrich does not have ({why}); choose "
                       "one in the admin (Provider configs), then wait for the first "
                       "collection.") from None  # fmt: skip


def why_unpriced(site: Site) -> str:
    """What the pricing and plan endpoints' 409 says of the site when its price provider is
    missing or cannot be collected ("" when it can): the status page says it without asking."""
    try:
        provider_target(site, site_provider(site))
    except Conflict as exc:
        return str(exc)
    return ""


def pricing_target(query) -> tuple[Site, ProviderConfig, Any]:
    """The site asked for, its price provider and that provider's target (Conflict when the
    provider cannot be collected: `provider_target`)."""
    site = site_from_query(query)
    config = site_provider(site)
    return site, config, provider_target(site, config)


def one_currency_slots(
    provider: str, region: str, start: datetime, end: datetime, name_moment: bool = True
) -> tuple[str, list[PriceSlot]]:
    """The stored slots from LOOK_BACK before `start` (the moment asked about) to `end`, of the
    one currency stored; Conflict when there are none (the message names `start`, or with
    `name_moment` False says "now", to `end`: an empty read found none covering any of it) or
    several currencies."""
    by_currency = stored_slots(provider, region, start - LOOK_BACK, end)
    if not by_currency:
        since = start.isoformat(timespec="seconds") if name_moment else "now"
        raise Conflict(
            f"No {provider} prices for {region} are stored between "
            f"{since} and {end.isoformat(timespec='seconds')}; "
            f"{last_collection(SOURCE, provider, region, 'price')}"
        )
    if len(by_currency) > 1:
        raise Conflict(
            f"Prices in several currencies ({', '.join(sorted(by_currency))}) are stored for "
            f"{provider}/{region}; delete the wrong ones from {FORECAST_MEASUREMENT}."
        )
    [(currency, slots)] = by_currency.items()
    return currency, slots


def _bad_hours(query, expected: str) -> ValidationError:
    return ValidationError({"hours": f"{query['hours']!r} is not valid: expected {expected}."})


def hours_parameter(query, required: str, expected: str) -> float:
    """`hours` of /api/pricing/windows and /api/plan, checked before any timedelta is made of
    it: a 400 naming it when it is missing ("Required: " + `required`), not a number, not more
    than 0 (`expected` says what is wanted), under a minute (it would round to no time at all),
    over a year (MAX_DURATION: added to a time it could overflow) or not a whole number of
    minutes (within half a second: the whole minutes are what is planned)."""
    hours = params.number(query, "hours")
    if hours is None:
        raise ValidationError({"hours": f"Required: {required}"})
    if hours <= 0:
        raise _bad_hours(query, expected)
    if hours < MIN_HOURS:
        raise _bad_hours(query, f"at least one minute (hours={MIN_HOURS:.4g})")
    if hours > MAX_HOURS:
        raise _bad_hours(query, f"at most a year: {MAX_HOURS:g} ({MAX_DURATION.days} days)")
    minutes = whole_minutes(hours)
    if minutes is None:
        raise _bad_hours(query, "a whole number of minutes, e.g. 1.5 (90 min), 0.75 (45 min) "
                         "or 0.3333 (20 min)")  # fmt: skip
    return minutes / 60


def _request(query) -> dict[str, Any]:
    """The parameters, checked against each other; a ValidationError names the bad one."""
    within = params.duration(query, "within", DEFAULT_WITHIN)
    expected = f"more than 0 and at most {_hours(within.total_seconds())} (within)"
    hours = hours_parameter(query, "the window length in hours, e.g. hours=3.", expected)
    if hours * 3600 > within.total_seconds():
        raise _bad_hours(query, expected)
    now = clock.utc_now()
    before = params.moment(query, "before")
    if before is not None and before < now + timedelta(hours=hours):  # as /api/plan
        raise ValidationError({"before": f"{query['before']!r} leaves no room for {hours:g} h "
                               f"from now ({now.isoformat(timespec='seconds')})."})  # fmt: skip
    return {
        "hours": hours,
        "within": within,
        "contiguous": params.boolean(query, "contiguous", True),
        "most_expensive": params.boolean(query, "most_expensive", False),
        "before": before,
        "now": now,
        **split_rules(query),
    }


def split_rules(query) -> dict[str, Any]:
    """`penalty_percent` and `max_windows` of a split plan; a bad value names its parameter."""
    penalty = params.number(query, "penalty_percent", settings.PLAN_INTERRUPTION_PENALTY_PERCENT)
    if penalty < 0:
        raise ValidationError({"penalty_percent": f"{penalty:g} is not valid: expected 0 or "
                               "more (percent of the plan's average per interruption)."})  # fmt: skip
    max_windows = params.integer(query, "max_windows")
    if max_windows is not None and max_windows < 1:
        raise ValidationError({"max_windows": f"{max_windows} is not valid: expected 1 or more "
                               "(1 = one unbroken window)."})  # fmt: skip
    return {"penalty_percent": penalty, "max_windows": max_windows}


# Each parameter's schema states the limits its reader enforces (a value outside is a 400).
SHARED_PARAMETERS = [
    OpenApiParameter(
        "hours", {"type": "number", "minimum": MIN_HOURS, "maximum": MAX_HOURS}, required=True,
        description="length of the run, hours in whole minutes (/api/pricing/windows: at most "
        "`within`, 24h by default; /api/plan: at most 24 without `before`)",
    ),
    time_params.moment("before", "the time the run must end by, leaving room for `hours` from now"),
    OpenApiParameter("contiguous", bool, description="one unbroken window (default)"),
    SITE,
    OpenApiParameter(
        "penalty_percent", {"type": "number", "minimum": 0}, description="cost of each interruption of a split plan, "
        "% of its average (default PLAN_INTERRUPTION_PENALTY_PERCENT, 6)",
    ),
    OpenApiParameter(
        "max_windows", {"type": "integer", "minimum": 1, "maximum": params.BIGGEST},
        description="most windows a split plan may use",
    ),
]  # fmt: skip


def planning_answer(answer: Callable[[], dict], unreadable: str) -> Response:
    """What a planning endpoint answers: `answer()`, or the error it raised as 409 (no
    provider, one this enrich does not have, incomplete settings, too little stored: with
    `known` where the error says how far the stored data goes), 400 (a duration the slot
    widths cannot make) or 503 (`unreadable` cannot be read); an unknown site is DRF's 404
    (enrich.api.site.UnknownSite)."""
    try:
        return Response(answer())
    except NotEnoughData as exc:
        known = {} if exc.known is None else {"known": exc.known}
        return Response({"detail": str(exc), **known}, status=409)
    except Conflict as exc:
        return Response({"detail": str(exc)}, status=409)
    except UnreachableDuration as exc:
        return Response({"hours": str(exc)}, status=400)
    except TimeseriesError as exc:  # InfluxUnavailable is one
        return influx_down(f"The {unreadable}", exc)


def planning_schema(answer: dict | type, *own: OpenApiParameter):
    """The OpenAPI schema of an endpoint that plans a window from the stored slots
    (/api/pricing/windows, /api/plan): its `answer` (collectors.pricing.schemas), `hours`,
    `before`, the split rules and `site` they share (SHARED_PARAMETERS), then its own
    parameters, and the shared error answers. The description is the docstring of the
    endpoint's `get`."""
    return extend_schema(parameters=[*SHARED_PARAMETERS, *own], responses={200: answer, **ERRORS})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def answer_head(site: Site, provider: str, region: str, currency: str, now: datetime) -> dict:
    """What every price answer starts with: whose prices, in what (VAT in them or not), for
    which moment."""
    return {
        "site": {"id": site.pk, "name": site.name},
        "provider": provider,
        "region": region,
        "currency": currency,
        "unit": f"{currency}/kWh",
        **adapter_for(SOURCE, provider).basis(),
        "now": _iso(now),
    }


class PricingWindows(APIView):
    """The cheapest (or dearest) time to use electricity for a site, from the stored price
    slots: one window, or its pieces (`windows`) when contiguous=false."""

    @planning_schema(
        WINDOWS,
        time_params.duration("within", "how far ahead to look, 24h by default"),
        OpenApiParameter("most_expensive", bool, description="the dearest window instead"),
    )
    def get(self, request):
        """The cheapest (or, with most_expensive=true, the dearest) window of `hours` from the
        stored price slots, for the moment of the request. Running now counts: the running slot
        is priced from now to its end, and no window dearer than running now for the same
        duration is offered (none cheaper with most_expensive=true). saving_vs_now = average
        price of running the same duration from now minus the window's average price, per kWh,
        in both directions: positive means the window costs less than running now (never
        negative for the cheapest window, never positive for the most expensive one); null when
        the prices from now are not known."""
        wanted = _request(request.query_params)
        return planning_answer(lambda: windows_answer(request.query_params, wanted), "price data")


def windows_answer(query, wanted: dict[str, Any]) -> dict:
    """The best window, and its pieces, for the checked parameters (`_request`)."""
    site, config, target = pricing_target(query)
    now = wanted["now"]
    end = now + wanted["within"]
    if wanted["before"] is not None:
        end = min(end, wanted["before"])
    currency, slots = one_currency_slots(config.provider, target.key, now, end)
    result = find_windows(
        slots,
        wanted["hours"],
        now,
        within=wanted["within"],
        contiguous=wanted["contiguous"],
        before=wanted["before"],
        most_expensive=wanted["most_expensive"],
        penalty_percent=wanted["penalty_percent"],
        max_windows=wanted["max_windows"],
    )
    running = current_slot(slots, now)
    answer = {
        **answer_head(site, config.provider, target.key, currency, now),
        "current_price": running.price if running else None,
        "hours": wanted["hours"],
        "within": _hours(wanted["within"].total_seconds()),
        "before": _iso(wanted["before"]) if wanted["before"] else None,
        "contiguous": wanted["contiguous"],
        "most_expensive": wanted["most_expensive"],
        "known_until": _iso(slots[-1].end),
        "start": _iso(result.start),
        "end": _iso(result.end),
        "average_price": result.average_price,
        "saving_vs_now": result.saving_vs_now,
        "penalty_percent": wanted["penalty_percent"],
        "max_windows": wanted["max_windows"],
        "windows_used": result.windows_used,
        "penalty_cost": result.penalty_cost,
        "windows": [
            {"start": _iso(s), "end": _iso(e), "average_price": price}
            for s, e, price in result.runs()
        ],
        "slots": [
            {"start": _iso(s.start), "end": _iso(s.end), "price": s.price} for s in result.slots
        ],
    }
    return digits(answer)  # as /api/plan: an hour at 0.088 averages 0.088 (collectors.answers)
