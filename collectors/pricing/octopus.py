"""Octopus Energy Agile (UK): half-hourly unit rates, public, in pence/kWh -> GBP/kWh.

`GET {base}/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/` with
`period_from`/`period_to` (UTC) and `page_size`; the answer is paged (`next` is followed until
it is null) and newest first, so the rates are sorted before use. The tariff code is
`options["tariff_code"]` (e.g. E-1R-AGILE-24-10-01-C), or built as `E-1R-{product}-{letter}`
from the product and the site's pricing region, the GSP region letter A-P (no I or O). The
product is the tariff code's, or `options["product_code"]` (both set: they must agree); otherwise the current Agile product,
found through `/v1/products/` once a day (`octopus_products`), and the target (and `region`
tag) is then `agile-{letter}`, which stays the same when Octopus launches a new Agile product.
A product with no rates at all (retired) gives no readings and a note naming it and
`options.product_code`, on the run record (`no_data`) and in the run's one log line, a WARNING
(`FetchResult.warn`). When the answer's rates all ended before now, they are written as
published, with the note of every price answer that does not cover now (`slots.pricing_result`:
the run is partial, its log line a WARNING, the last good answer stays served), then the same
note naming their end and saying Octopus may be late (Agile's next day appears around 16:00 UK
time).
`value_inc_vat` (p/kWh) / 100 is stored as GBP/kWh (as decimals: 17.438 is 0.17438). A rate
with `valid_to: null` (open-ended, as on fixed tariffs) is skipped: it has no slot end, and this
adapter stores time-of-use slots only (of any length: a tariff_code such as Octopus Go's gives a
19-hour day rate); when such a rate is the one in force now, the settings name a fixed tariff
(ConfigError).
Where several rates share a start (per payment method), the direct-debit (or unspecified) one
is kept.

Products are public; with an API key the calls use basic auth (key, empty password). History:
the API serves past rates, so missed days (up to 7) are fetched again. `next` links pointing
at api.octopus.energy are followed on the configured `base_url` (proxies, tests). No REST rate
limit is published; one call per hour per tariff is far below anything reasonable.
"""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import Answer, api_root, scaled, text_option
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.pricing.adapter import PriceAdapter
from collectors.pricing.octopus_products import (
    DEFAULT_BASE_URL,
    PROVIDER,
    AgileProducts,
    paged_results,
    utc,
)
from collectors.pricing.slots import PriceSlot, in_history

ROOT = api_root(DEFAULT_BASE_URL, PROVIDER)
EXAMPLE_PRODUCT = "AGILE-24-10-01"
REGIONS = "ABCDEFGHJKLMNP"  # GSP groups; the letters I and O are not used
TARIFF = re.compile(r"E-1R-(?P<product>[A-Z0-9-]+)-(?P<region>[A-Z])")
PRODUCT = re.compile(r"[A-Z0-9-]+")
AHEAD = timedelta(hours=48)
PAGE_SIZE = 1500
PENCE_PER_POUND = 100


def _region(site: SiteInfo) -> str:
    letter = site.pricing_region.strip().upper().lstrip("_")
    if len(letter) != 1 or letter not in REGIONS:
        raise ConfigError(
            f"Octopus Agile needs the GSP region letter, but site {site.name!r} has pricing "
            f"region {site.pricing_region!r}. Set Site.pricing_region (or PRICING_REGION) to "
            f"one of {', '.join(REGIONS)} (the last letter of your tariff code, e.g. C for "
            "London), or set options.tariff_code."
        )
    return letter


def _product(options: Mapping[str, Any]) -> str:
    """options.product_code, upper case ("" when unset: the current Agile product), checked."""
    product = text_option(options, "product_code").upper()
    if product and not PRODUCT.fullmatch(product):
        raise ConfigError(
            f"options.product_code {product!r} is not an Octopus product code "
            f"(e.g. {EXAMPLE_PRODUCT})."
        )
    return product


def _tariff(options: Mapping[str, Any]) -> re.Match[str] | None:
    """options.tariff_code, upper case, matched (its product and region letter), checked; None
    when unset (the tariff is built from the product and the site's region)."""
    tariff = text_option(options, "tariff_code").upper()
    if not tariff:
        return None
    match = TARIFF.fullmatch(tariff)
    if not match or match["region"] not in REGIONS:
        raise ConfigError(
            f"options.tariff_code {tariff!r} is not a single-rate electricity tariff "
            f"code like E-1R-{EXAMPLE_PRODUCT}-C (region letter one of {REGIONS})."
        )
    product = _product(options)  # the rates are asked under the tariff's own product
    if product and product != match["product"]:
        raise ConfigError(
            f"options.product_code {product!r} is not the product of options.tariff_code "
            f"{tariff!r} ({match['product']}): give the tariff code alone, or its product."
        )
    return match


class OctopusAgileAdapter(PriceAdapter):
    source = "electricity_pricing"
    provider = PROVIDER
    budget = None  # not published for the REST API
    options = PriceAdapter.options | {"base_url", "product_code", "tariff_code"}
    option_parsers = (ROOT, _product, _tariff, *PriceAdapter.option_parsers)
    budget_scope = "account"  # one API for every tariff: a 429 or a budget is this client's
    history = timedelta(days=7)
    vat_included = True
    price_basis = "Octopus unit rate incl. VAT (value_inc_vat)"
    published = "Agile's next-day rates usually appear around 16:00 UK time"
    calls_per_fetch = (
        1  # one page of up to 1500 rates covers 7 days and more (+1 product list a day)
    )

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._products = AgileProducts(clock)

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        options = credentials.options
        product, match = _product(options), _tariff(options)
        tariff = match[0] if match else ""
        if match:
            product, letter, key = product or match["product"], match["region"], tariff
        else:
            letter = _region(site)
            key = f"E-1R-{product}-{letter}" if product else f"agile-{letter}"
        # product "": the current Agile product, looked up
        return self.price_target(key, options, product=product, tariff=tariff, region=letter)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base = ROOT(credentials.options)
        auth = (credentials.api_key, "") if credentials.api_key else None
        product = target.params["product"] or self._products.current(base, auth, window.now)
        tariff = target.params["tariff"] or f"E-1R-{product}-{target.params['region']}"
        first = f"{base}/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/"
        start = in_history(window.start, window.now, self.history)
        params = {
            "period_from": utc(start),
            "period_to": utc(window.now + AHEAD),
            "page_size": PAGE_SIZE,
        }
        missing = (
            f"tariff {tariff} of product {product} was not found (HTTP 404): check "
            "options.tariff_code / options.product_code and Site.pricing_region (the region letter)"
        )
        rates = paged_results(first, params, auth, base, missing)
        slots, open_from = _slots(rates)
        fixed = [opened for opened in open_from if opened <= window.now]
        if (rates and not slots) or (fixed and not any(s.covers(window.now) for s in slots)):
            since = f" from {max(fixed).isoformat()} on" if fixed else ""
            raise ConfigError(
                f"octopus: tariff {tariff} has only open-ended rates (valid_to null){since}, as "
                "fixed tariffs do; this adapter stores time-of-use slots. Set "
                "options.tariff_code or options.product_code to an Agile tariff."
            )
        if not slots:  # nothing at all: written nothing, the run is no_data
            note = f"{PROVIDER}: {self._retired(base, target, product, tariff, window.now, None)}"
            current = {"no_data": True, "message": note, "product": product, "tariff": tariff}
            return FetchResult([], {**current, "time": None}, notes=[note], warn=True)
        result = self.price_result(target, window, url=first, currency="GBP", slots=slots)
        if not any(slot.end > window.now for slot in slots):  # written, the run is partial
            last = max(slot.end for slot in slots)
            hint = self._retired(base, target, product, tariff, window.now, last)
            note = f"{result.notes[0]}; {hint}"  # the note of every price answer, then ours
            result = replace(result, notes=[note])
            result.current["message"] = note
        result.current.update(product=product, tariff=tariff)
        return result

    def _retired(
        self,
        base: str,
        target: Target,
        product: str,
        tariff: str,
        now: datetime,
        last: datetime | None,
    ) -> str:
        """What to say of no rates from now on: the product is retired, or (the answer has
        rates up to `last`) Octopus is late with the next day (Agile's appears around 16:00 UK
        time)."""
        if target.params["product"]:
            advice = (
                "Set options.product_code to the current Agile product (listed at "
                f"{base}/v1/products/), or remove product_code and tariff_code to have the "
                "current one picked automatically."
            )
        else:
            self._products.forget(base)  # looked up again next run
            advice = (
                "It was picked from /v1/products/ as the current Agile product and is looked "
                "up again next run; set options.product_code to choose the product yourself."
            )
        head = f"product {product} (tariff {tariff}) has no rates from {now.isoformat()}"
        if last is not None:  # rates up to `last`: perhaps only late
            head += (
                f" on: its rates end at {last.isoformat()}. {self.published}: if they are "
                "late, the next run finds them; if none appear"
            )
        else:
            head += " on"
        return f"{head}: it looks retired. {advice}"


def _direct_debit_first(payment_method: Any) -> int:
    return 0 if payment_method is None or str(payment_method).lower() == "direct_debit" else 1


def _slots(rates: list[tuple[str, int, Any]]) -> tuple[list[PriceSlot], list[datetime]]:
    """The time-of-use slots (direct debit first), and the starts of the open-ended rates."""
    chosen: dict[datetime, tuple[int, PriceSlot]] = {}
    open_from: list[datetime] = []
    for url, index, rate in rates:
        what, answer = f"results[{index}]", Answer(PROVIDER, url)
        valid_to = answer.get(rate, "valid_to", what)
        start = answer.time(answer.get(rate, "valid_from", what), f"{what}.valid_from")
        if valid_to is None:
            open_from.append(start)  # open-ended rate: no slot end (see the module docstring)
            continue
        end = answer.time(valid_to, f"{what}.valid_to")
        pence = answer.a_number(
            answer.get(rate, "value_inc_vat", what),
            f"{what}.value_inc_vat",
        )
        rank = _direct_debit_first(rate.get("payment_method"))
        slot = PriceSlot(start, end, scaled(pence, per=PENCE_PER_POUND))
        if start not in chosen or rank < chosen[start][0]:
            chosen[start] = (rank, slot)
    return [slot for _, slot in chosen.values()], open_from
