"""The base of the price adapters (aWATTar, Tibber, Octopus): what their targets carry, how a
fetch ends, and the price computed when it is read."""

from collections.abc import Iterable, Mapping
from typing import Any

from collectors.base import Adapter, ConfigError, FetchResult, Target, Window
from collectors.pricing.slots import PriceSlot, pricing_result
from collectors.pricing.store import drop_superseded
from enrich.time_span import whole_minutes

DEFAULT_WINDOW_HOURS = 3.0
# The bounds of a window's length, here and in /api/pricing/windows and /api/plan (`hours`):
# at least a minute (no price slot is shorter than 15 min; less rounds to no time at all)...
MIN_HOURS = 1 / 60
MAX_WINDOW_HOURS = 24.0  # ...and, for cheapest_hours/most_expensive_hours, the next 24 h


def window_hours(options: Mapping[str, Any]) -> float:
    """`options["window_hours"]`: how many hours `cheapest_hours`/`most_expensive_hours` name,
    a whole number of minutes as windows are found (0.3333 is 20 minutes: 1/3 h). Any other
    length is a ConfigError naming the option: taken, it would be a length no window of the
    price slots ever lasts, both lists empty at every fetch, with no word why."""
    raw = options.get("window_hours", DEFAULT_WINDOW_HOURS)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raw = None
    try:
        hours = float(raw) if raw is not None else None
    except ValueError:
        hours = None
    minutes = None
    if hours is not None and MIN_HOURS <= hours <= MAX_WINDOW_HOURS:
        minutes = whole_minutes(hours)
    if minutes is None:
        raise ConfigError(
            f"options.window_hours {options.get('window_hours')!r} is not valid: give the "
            f"number of hours (a whole number of minutes, at least a minute, {MIN_HOURS:.4g}, and "
            f"at most {MAX_WINDOW_HOURS:g}) that cheapest_hours and most_expensive_hours should "
            "name, e.g. 3, 1.5 (90 min) or 0.3333 (20 min)."
        )
    return minutes / 60


class PriceAdapter(Adapter):
    """What the price adapters share: `window_hours` in every target, the result of a fetch
    (`pricing_result` for the target's key at the window's now), after_write (the stored slots
    the answer supersedes are deleted), and current_at_read: the current price is the slot
    running when asked, read from the stored slots, not the one running at the fetch
    (collectors.pricing.now)."""

    options = frozenset({"window_hours"})  # each price adapter adds its own
    option_parsers = (window_hours,)  # each price adapter adds its own
    # What the price is: whether VAT is in it, and in words (every price answer says both).
    vat_included: bool
    price_basis: str
    # When the provider publishes the next prices, for the note of an answer whose prices end
    # before now (slots.pricing_result).
    published: str

    def basis(self) -> dict[str, Any]:
        return {"vat_included": self.vat_included, "price_basis": self.price_basis}

    def price_target(self, key: str, options: Mapping[str, Any], **params: Any) -> Target:
        """The target `key`; its params end with `window_hours`, checked from the options."""
        params["window_hours"] = window_hours(options)
        return Target(self.source, self.provider, key, params)

    def price_result(
        self, target: Target, window: Window, *, url: str, currency: str, slots: Iterable[PriceSlot]
    ) -> FetchResult:
        result = pricing_result(
            provider=self.provider,
            url=url,
            currency=currency,
            region=target.key,
            slots=slots,
            now=window.now,
            hours=float(target.params["window_hours"]),
            published=self.published,
        )
        result.current.update(self.basis())
        return result

    def after_write(self, target: Target, result: FetchResult) -> None:
        """The answer's slots are written: the stored ones they supersede go (a time answered
        again at a coarser resolution: `collectors.pricing.store.drop_superseded`)."""
        drop_superseded(self.provider, target.key, result.readings)

    def current_at_read(self, config: Any, target: Any, answer: Any) -> dict | None:
        from collectors.pricing.now import current_value

        return current_value(config, target, answer)
