"""Octopus REST plumbing for the Agile adapter: paged answers, and which Agile product is current.

Octopus launches a new Agile product every year or so (AGILE-FLEX-22-11-25, AGILE-23-12-06,
AGILE-24-10-01, ...) and stops publishing rates for the old one. Without `product_code` the
adapter asks `GET /v1/products/` (public, paged like the rates; documented at
developer.octopus.energy/docs/api/#list-products) for the products on sale now and takes the
Agile import product: `code` starting with AGILE, `direction` IMPORT, not business or prepay,
`available_from` <= now < `available_to` (null = open), the latest `available_from` when
several qualify. The answer is kept a day per base URL, so it costs one call a day, not one
per fetch.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from collectors.answers import Answer
from enrich.http import PermanentError, get_json, malformed

PROVIDER = "octopus"
DEFAULT_BASE_URL = "https://api.octopus.energy"
MAX_PAGES = 50  # a `next` chain longer than this is a loop, not data
KEEP_PRODUCT = 24 * 3600.0  # seconds the discovered product is reused


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paged_results(
    first: str, params: dict[str, Any], auth: Any, base: str, missing: str
) -> list[tuple[str, int, Any]]:
    """Every `results` item of a paged answer as (page URL, index on the page, item), following
    `next` until it is null. `missing` says what a 404 means and what to check."""
    url: str | None = first
    query: dict[str, Any] | None = params
    items: list[tuple[str, int, Any]] = []
    pages = 0
    while url:
        pages += 1
        if pages > MAX_PAGES:
            raise malformed(PROVIDER, first, f"more than {MAX_PAGES} pages of results")
        page, answer = _get(url, query, auth, missing), Answer(PROVIDER, url)
        results = answer.get(page, "results", "the page")
        following = answer.get(page, "next", "the page")
        if not isinstance(results, list) or not (following is None or isinstance(following, str)):
            raise malformed(PROVIDER, url, "'results' should be a list and 'next' a URL or null")
        items += [(url, index, item) for index, item in enumerate(results)]
        url = _next_page(url, following, base) if following else None
        query = None  # `next` carries the query
    return items


def _get(url: str, params: Any, auth: Any, missing: str) -> Any:
    try:
        return get_json(PROVIDER, url, params=params, auth=auth)
    except PermanentError as exc:
        if exc.status != 404:
            raise
        raise PermanentError(
            f"octopus: {missing}.",
            provider=PROVIDER,
            endpoint=exc.endpoint,
            status=404,
            body_excerpt=exc.body_excerpt,
        ) from None


def _next_page(page: str, link: str, base: str) -> str:
    """The URL of the page a `next` link names: on the configured base URL (the API writes its
    own host into the link), and the same listing as `page`. A link anywhere else is refused,
    not followed: the API key would go with it."""
    if link.startswith(DEFAULT_BASE_URL + "/"):
        link = base + link[len(DEFAULT_BASE_URL) :]
    there, here = urlsplit(link), urlsplit(page)
    if (there.scheme, there.netloc, there.path) != (here.scheme, here.netloc, here.path):
        raise malformed(
            PROVIDER,
            page,
            f"'next' should be a further page of {here.path} on {base}, not {link[:200]!r}; "
            "it was not followed",
        )
    return link


def current_agile(base: str, auth: Any, now: datetime) -> str:
    """The code of the Agile import product on sale at `now` (see the module docstring)."""
    query = {"is_variable": "true", "is_business": "false", "available_at": utc(now)}
    products = paged_results(f"{base}/v1/products/", query, auth, base, "the product list")
    on_sale = []
    for url, index, product in products:
        what, answer = f"results[{index}]", Answer(PROVIDER, url)
        code = answer.get(product, "code", what)
        direction = answer.get(product, "direction", what)
        start = answer.get(product, "available_from", what)
        end = answer.get(product, "available_to", what)
        if not isinstance(code, str) or not code.startswith("AGILE") or direction != "IMPORT":
            continue
        if product.get("is_business") is True or product.get("is_prepay") is True:
            continue
        since = answer.time(start, f"{what}.available_from")
        until = None if end is None else answer.time(end, f"{what}.available_to")
        if since <= now and (until is None or now < until):
            on_sale.append((since, code))
    if not on_sale:
        raise PermanentError(
            f"octopus: {base}/v1/products/ lists no Agile import product on sale now, so the "
            "current Agile product cannot be picked. Set options.product_code to the product of "
            "your tariff (e.g. AGILE-24-10-01, the middle of E-1R-AGILE-24-10-01-C).",
            provider=PROVIDER,
            endpoint=f"{base}/v1/products/",
        )
    return max(on_sale)[1]


class AgileProducts:
    """The current Agile product per base URL, looked up at most once a day (per process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._found: dict[str, tuple[str, float]] = {}  # base -> (code, look up again after)

    def current(self, base: str, auth: Any, now: datetime) -> str:
        code, until = self._found.get(base, ("", 0.0))
        if code and self._clock() < until:
            return code
        code = current_agile(base, auth, now)
        self._found[base] = (code, self._clock() + KEEP_PRODUCT)
        return code

    def forget(self, base: str) -> None:
        """Look the product up again next time (the one found has no rates any more)."""
        self._found.pop(base, None)
