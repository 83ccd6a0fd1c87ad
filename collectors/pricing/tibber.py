"""Tibber: the home's energy price (VAT included), quarter-hourly, through GraphQL.

`POST {base}/v1-beta/gql` with `Authorization: Bearer <token>` (developer.tibber.com) asks
for `priceInfo(resolution: QUARTER_HOURLY)` of one home: `options["home_id"]`, or else the
account's first home whose subscription is running (else its first home), looked up once and
kept in this instance. `total` is already per kWh in
the home's currency (`current.currency`, e.g. SEK, EUR, NOK) and stored as is. `tomorrow`
is `[]` until about 13:00 CET: then only today's slots are written, which leaves tomorrow's
already-written slots (if any) alone. Tibber gives slot starts only: a slot ends where the next
one starts, or after its day's usual step (15 minutes here, 60 for an hourly day) where the
next is further away or missing, so `slot_minutes` comes from the data. The step is decided
per day: an hourly `today` next to a quarter-hourly `tomorrow` (as on the day the market
switched) keeps 60-minute slots.
A `current.startsAt` inside a listed slot (not at a slot start) is malformed, not a new slot;
slots that do not cover now (late) are written with a note (`slots.pricing_result`).

Errors (GraphQL errors inside HTTP 200, HTTP 400 with UNAUTHENTICATED, HTTP 428) are read by
`collectors.pricing.tibber_gql`.
Budget: about 100 requests / 5 min per account (more has led to IP bans). The region tag is
the target key: the home id when configured, else `account-<12 hex of the token's SHA-256>`,
which stays the same as long as the token does.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from collectors.answers import Answer, api_root, text_option
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.pricing.adapter import PriceAdapter
from collectors.pricing.slots import PriceSlot
from collectors.pricing.tibber_gql import PROVIDER, ask
from enrich.http import PermanentError, malformed

ROOT = api_root("https://api.tibber.com", PROVIDER)
PATH = "/v1-beta/gql"
RESOLUTION_STEP = timedelta(minutes=15)  # what QUARTER_HOURLY asks for
HOME_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217 (NOK, SEK, EUR): the `currency` tag and the unit

HOMES_QUERY = "{ viewer { homes { id currentSubscription { status } } } }"
PRICE_QUERY = """{ viewer { home(id: "%s") { currentSubscription {
  priceInfo(resolution: QUARTER_HOURLY) {
    current { currency energy tax total startsAt level }
    today { total startsAt level }
    tomorrow { total startsAt level } } } } } }"""


def _home_id(options: Mapping[str, Any]) -> str:
    """options.home_id ("" when unset: the account's first home), checked."""
    home_id = text_option(options, "home_id")
    if home_id and not HOME_ID.fullmatch(home_id):
        raise ConfigError(
            f"options.home_id {home_id!r} is not a Tibber home id (letters, digits and "
            "dashes, as listed by the homes query); remove it to use the account's first home "
            "with a running subscription."
        )
    return home_id


class TibberAdapter(PriceAdapter):
    source = "electricity_pricing"
    provider = PROVIDER
    budget = "100/5min"
    options = PriceAdapter.options | {"base_url", "home_id"}
    option_parsers = (ROOT, _home_id, *PriceAdapter.option_parsers)
    budget_scope = "account"
    history = None  # priceInfo covers today and tomorrow only
    calls_per_fetch = 1  # plus one homes lookup per process when no home_id is configured
    vat_included = True
    price_basis = "Tibber's total for the home: energy plus tax, VAT included"
    published = "Tibber publishes tomorrow's prices around 13:00 CET"

    def __init__(self) -> None:
        self._homes: dict[str, str] = {}  # token digest -> first home id

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        if not credentials.api_key:
            raise ConfigError(
                f"Tibber needs a personal access token for site {site.name!r}: create one at "
                "developer.tibber.com and set it as the provider's API key (PRICING_API_KEY)."
            )
        home_id = _home_id(credentials.options)
        key = home_id or f"account-{_digest(credentials.api_key)}"
        return self.price_target(key, credentials.options, home_id=home_id)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        url = ROOT(credentials.options) + PATH
        home_id = target.params["home_id"] or self._first_home(url, credentials.api_key)
        data = ask(url, credentials.api_key, PRICE_QUERY % home_id)
        answer = Answer(PROVIDER, url)
        viewer = answer.get(data, "viewer", "data")
        home = answer.get(viewer, "home", "data.viewer")
        subscription = answer.get(home, "currentSubscription", "the home")
        if subscription is None:
            raise PermanentError(
                f"tibber: home {home_id} has no current subscription, so Tibber has no prices "
                "for it. Check options.home_id or the Tibber contract.",
                provider=PROVIDER,
                endpoint=url,
            )
        info = answer.get(subscription, "priceInfo", "currentSubscription")
        current = answer.get(info, "current", "priceInfo")
        currency = answer.get(current, "currency", "priceInfo.current")
        if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
            raise malformed(
                PROVIDER, url, f"priceInfo.current.currency is {currency!r}, not an ISO 4217 code"
            )
        days = []
        for day in ("today", "tomorrow"):
            entries = answer.get(info, day, "priceInfo")
            if not isinstance(entries, list):
                raise malformed(PROVIDER, url, f"priceInfo.{day} should be a list")
            days.append(
                [_point(url, entry, f"priceInfo.{day}[{i}]") for i, entry in enumerate(entries)]
            )
        now_point = _point(url, current, "priceInfo.current") if current is not None else None
        slots = _slots(url, days, now_point)
        return self.price_result(target, window, url=url, currency=currency, slots=slots)

    def _first_home(self, url: str, token: str) -> str:
        digest = _digest(token)
        if digest not in self._homes:
            data, answer = ask(url, token, HOMES_QUERY), Answer(PROVIDER, url)
            homes = answer.get(answer.get(data, "viewer", "data"), "homes", "data.viewer")
            if not isinstance(homes, list) or not homes:
                raise PermanentError(
                    "tibber: this account has no homes, so there are no prices to fetch. Check "
                    "the token belongs to the Tibber account with the contract.",
                    provider=PROVIDER,
                    endpoint=url,
                )
            index = next((i for i, home in enumerate(homes) if _running(home)), 0)
            home_id = answer.get(homes[index], "id", f"data.viewer.homes[{index}]")
            if not isinstance(home_id, str) or not HOME_ID.fullmatch(home_id):
                raise malformed(PROVIDER, url, f"homes[{index}].id is {home_id!r}")
            self._homes[digest] = home_id
        return self._homes[digest]


def _running(home: Any) -> bool:
    """The home's subscription is running (pyTibber's active homes); a home moved out of
    lists first with its subscription ended or none."""
    subscription = home.get("currentSubscription") if isinstance(home, dict) else None
    status = subscription.get("status") if isinstance(subscription, dict) else None
    return isinstance(status, str) and status.lower() == "running"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def _point(url: str, entry: Any, what: str) -> tuple:
    answer = Answer(PROVIDER, url)
    starts = answer.time(answer.get(entry, "startsAt", what), f"{what}.startsAt")
    total = answer.a_number(answer.get(entry, "total", what), f"{what}.total")
    return starts, total


def _step(starts: list) -> timedelta | None:
    """The most common distance between consecutive starts; None for fewer than two."""
    starts = sorted(starts)
    gaps = Counter(b - a for a, b in zip(starts, starts[1:], strict=False))
    return gaps.most_common(1)[0][0] if gaps else None


def _slots(url: str, days: list[list[tuple]], current: tuple | None) -> list[PriceSlot]:
    """Start/price pairs (deduplicated by start) as slots ending at the next start, or after
    their own day's most common step where the next one is further away or missing.

    `days` is [today, tomorrow]; `current` belongs to today. A day with a single price takes
    the step of the whole answer (or the quarter hour asked for). A `current` inside a listed
    slot, not at its start, is malformed: it would cut that slot in two."""
    every = _step([start for day in days for start, _ in day]) or RESOLUTION_STEP
    prices: dict = {}
    steps: dict = {}
    for day in days:
        step = _step([start for start, _ in day]) or every
        for start, price in day:  # the day lists come before `current`, and win
            prices.setdefault(start, price)
            steps.setdefault(start, step)
    slots = _ending(prices, steps)
    if current is not None and current[0] not in prices:
        inside = next((slot for slot in slots if slot.covers(current[0])), None)
        if inside is not None:
            raise malformed(
                PROVIDER,
                url,
                f"priceInfo.current.startsAt {current[0].isoformat()} is not a slot start: it "
                f"lies inside the slot starting {inside.start.isoformat()}",
            )
        prices[current[0]] = current[1]
        steps[current[0]] = _step([start for start, _ in days[0]]) or every
        slots = _ending(prices, steps)
    return slots


def _ending(prices: dict, steps: dict) -> list[PriceSlot]:
    """Slots in time order, each ending at the next start or after its own step."""
    starts = sorted(prices)
    nexts = [*starts[1:], None] if starts else []
    return [
        PriceSlot(start, min(nxt or end, end), prices[start])
        for start, nxt in zip(starts, nexts, strict=True)
        for end in [start + steps[start]]
    ]
