"""Octopus Energy Agile (UK): half-hourly unit rates, public, in pence/kWh -> GBP/kWh.

`GET {base}/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/` with
`period_from`/`period_to` (UTC) and `page_size`; the answer is paged (`next` is followed until
it is null) and newest first, so the rates are sorted before use. The tariff code is
`options["tariff_code"]` (e.g. E-1R-AGILE-24-10-01-C), or built as
`E-1R-{product}-{letter}` from `options["product_code"]` (default AGILE-24-10-01) and the site's
pricing region, the GSP region letter A-P (no I or O). `value_inc_vat` (p/kWh) / 100 is stored
as GBP/kWh. A rate with `valid_to: null` (open-ended, as on fixed tariffs) is skipped: it has no
slot end, and this adapter stores time-of-use slots only. Where several rates share a start
(per payment method), the direct-debit (or unspecified) one is kept.

Products are public; with an API key the calls use basic auth (key, empty password). History:
the API serves past rates, so missed days (up to 7) are fetched again. `next` links pointing
at api.octopus.energy are followed on the configured `base_url` (proxies, tests). No REST rate
limit is published; one call per hour per tariff is far below anything reasonable.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import Adapter, ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.pricing.slots import (
    PriceSlot,
    base_url,
    field,
    in_history,
    number,
    pricing_result,
    timestamp,
    window_hours,
)
from enrich.http import PermanentError, get_json, malformed

PROVIDER = "octopus"
DEFAULT_BASE_URL = "https://api.octopus.energy"
DEFAULT_PRODUCT = "AGILE-24-10-01"
REGIONS = "ABCDEFGHJKLMNP"  # GSP groups; the letters I and O are not used
TARIFF = re.compile(r"E-1R-(?P<product>[A-Z0-9-]+)-(?P<region>[A-Z])")
PRODUCT = re.compile(r"[A-Z0-9-]+")
AHEAD = timedelta(hours=48)
PAGE_SIZE = 1500
MAX_PAGES = 50  # a `next` chain longer than this is a loop, not data
PENCE_PER_POUND = 100


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class OctopusAgileAdapter(Adapter):
    source = "electricity_pricing"
    provider = PROVIDER
    budget = None  # not published for the REST API
    budget_scope = "target"
    history = timedelta(days=7)
    calls_per_fetch = 1  # one page of up to 1500 rates covers 7 days and more

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        options = credentials.options
        product = str(options.get("product_code") or "").strip().upper()
        if product and not PRODUCT.fullmatch(product):
            raise ConfigError(
                f"options.product_code {product!r} is not an Octopus product code "
                f"(e.g. {DEFAULT_PRODUCT})."
            )
        tariff = str(options.get("tariff_code") or "").strip().upper()
        if tariff:
            match = TARIFF.fullmatch(tariff)
            if not match or match["region"] not in REGIONS:
                raise ConfigError(
                    f"options.tariff_code {tariff!r} is not a single-rate electricity tariff "
                    f"code like E-1R-{DEFAULT_PRODUCT}-C (region letter one of {REGIONS})."
                )
            product = product or match["product"]
        else:
            product = product or DEFAULT_PRODUCT
            tariff = f"E-1R-{product}-{_region(site)}"
        return Target(
            source=self.source,
            provider=self.provider,
            key=tariff,
            params={"product": product, "tariff": tariff, "window_hours": window_hours(options)},
        )

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base = base_url(credentials.options, DEFAULT_BASE_URL)
        product, tariff = target.params["product"], target.params["tariff"]
        first = f"{base}/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/"
        auth = (credentials.api_key, "") if credentials.api_key else None
        start = in_history(window.start, window.now, self.history)
        params: dict[str, Any] | None = {
            "period_from": _utc(start),
            "period_to": _utc(window.now + AHEAD),
            "page_size": PAGE_SIZE,
        }
        url: str | None = first
        rates: list[Any] = []
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise malformed(PROVIDER, first, f"more than {MAX_PAGES} pages of rates")
            page = _get(url, params, auth, product, tariff)
            results = field(PROVIDER, url, page, "results", "the page")
            following = field(PROVIDER, url, page, "next", "the page")
            if not isinstance(results, list) or not (
                following is None or isinstance(following, str)
            ):
                raise malformed(
                    PROVIDER, url, "'results' should be a list and 'next' a URL or null"
                )
            rates += [(url, index, rate) for index, rate in enumerate(results)]
            url = _rebase(following, base) if following else None
            params = None  # `next` carries the query
        slots = _slots(rates)
        if rates and not slots:
            raise ConfigError(
                f"octopus: tariff {tariff} has only open-ended rates (valid_to null), as fixed "
                "tariffs do; this adapter stores time-of-use slots. Set options.tariff_code or "
                "options.product_code to an Agile tariff."
            )
        return pricing_result(
            provider=PROVIDER,
            url=first,
            currency="GBP",
            region=tariff,
            slots=slots,
            now=window.now,
            hours=float(target.params["window_hours"]),
        )


def _get(url: str, params: Any, auth: Any, product: str, tariff: str) -> Any:
    try:
        return get_json(PROVIDER, url, params=params, auth=auth)
    except PermanentError as exc:
        if exc.status != 404:
            raise
        raise PermanentError(
            f"octopus: tariff {tariff} of product {product} was not found (HTTP 404). Check "
            "options.tariff_code / options.product_code and Site.pricing_region (the region "
            "letter).",
            provider=PROVIDER,
            endpoint=exc.endpoint,
            status=404,
            body_excerpt=exc.body_excerpt,
        ) from None


def _rebase(link: str, base: str) -> str:
    """A `next` link on the configured base URL (the API writes its own host into it)."""
    if link.startswith(DEFAULT_BASE_URL + "/"):
        return base + link[len(DEFAULT_BASE_URL) :]
    return link


def _direct_debit_first(payment_method: Any) -> int:
    return 0 if payment_method is None or str(payment_method).lower() == "direct_debit" else 1


def _slots(rates: list[tuple[str, int, Any]]) -> list[PriceSlot]:
    chosen: dict[datetime, tuple[int, PriceSlot]] = {}
    for url, index, rate in rates:
        what = f"results[{index}]"
        valid_to = field(PROVIDER, url, rate, "valid_to", what)
        if valid_to is None:
            continue  # open-ended rate: no slot end (see the module docstring)
        start = timestamp(
            PROVIDER, url, field(PROVIDER, url, rate, "valid_from", what), f"{what}.valid_from"
        )
        end = timestamp(PROVIDER, url, valid_to, f"{what}.valid_to")
        pence = number(
            PROVIDER,
            url,
            field(PROVIDER, url, rate, "value_inc_vat", what),
            f"{what}.value_inc_vat",
        )
        rank = _direct_debit_first(rate.get("payment_method"))
        slot = PriceSlot(start, end, pence / PENCE_PER_POUND)
        if start not in chosen or rank < chosen[start][0]:
            chosen[start] = (rank, slot)
    return [slot for _, slot in chosen.values()]
