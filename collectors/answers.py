"""Reading a provider's answer, for every adapter: the API root it calls, and one validator.

`checked_url` is the API root of an option that must be a URL of given schemes with a host
(checked before any client library sees it, which would raise its own errors, or retry).
`text_option` is an option that must be text (an id, a code): JSON of another type is refused,
not read as text (`true` as "True", `-1` as "-1") or as left out (`0`, `[]`).

`Answer` reads one parsed answer: each missing or wrongly typed value raises
`enrich.http.malformed(...)` naming the provider, the URL and what was wrong, so nothing is
stored on a guess. `scaled` turns a provider's figure into our unit (x or / a unit factor) as
the decimal it is; `digits` gives a figure computed from such decimals (an average, a sum) to
15 significant digits.
"""

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from collectors.base import ConfigError
from enrich.http import MalformedResponse, malformed
from enrich.url_problems import login_problem, url_problem

# InfluxDB keeps nanoseconds since 1970 in a signed 64-bit integer: 1677-09-21 .. 2262-04-11.
# Whole years inside that range; a time outside it would fail the write after other points.
STORABLE = (datetime(1678, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC))
HTTP = ("http", "https")


def scaled(number: float, *, times: float = 1, per: float = 1) -> float:
    """`number` x `times` / `per` (unit factors), as the decimal the provider wrote, scaled:
    130.4 EUR/MWh per 1000 is 0.1304 EUR/kWh, 0.0169 kWh a minute times 60,000 is 1014.0 W and
    2.01 kW times 1000 2010.0 W, not binary floating point's nearest products and quotients
    0.13040000000000002, 1013.9999999999999 and 2009.9999999999998, which InfluxDB, Grafana
    and every answer would show with all their digits. Infinity and NaN stay what they are."""
    exact = Decimal(repr(float(number))) * Decimal(repr(times)) / Decimal(repr(per))
    return float(exact)


def digits(value: Any) -> Any:
    """`value` with each float to 15 significant digits (in dicts and lists too): every decimal
    of the prices and carbon values, without the binary noise of arithmetic (1.2 kW x 3 h =
    3.6 kWh, not 3.5999999999999996; an hour at 0.088 EUR/kWh averages 0.088, not
    0.08799999999999998; two equal averages differ by 0, not 5.7e-14)."""
    if isinstance(value, float):
        return float(f"{value:.15g}")
    if isinstance(value, dict):
        return {key: digits(item) for key, item in value.items()}
    if isinstance(value, list):
        return [digits(item) for item in value]
    return value


def api_root(default: str, who: str, instead: str = "") -> Callable[[Mapping[str, Any]], str]:
    """The parser of options.base_url, the API root (tests, proxies, other API versions): an
    http(s) URL with a host, or `default` when the option is absent (checked_url)."""

    def root(options: Mapping[str, Any]) -> str:
        return checked_url(options, default, "base_url", HTTP, who, instead)

    return root


def text_option(options: Mapping[str, Any], option: str) -> str:
    """`options[option]` stripped ("" when absent, null or ""), when it is text; a ConfigError
    naming options.<option> if not."""
    raw = options.get(option)
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        shown = json.dumps(raw, ensure_ascii=False)[:60]
        raise ConfigError(f"options.{option} is {shown}, not text: give it in double quotes (a "
                          "JSON string), or remove the option.")  # fmt: skip
    return raw.strip()


def checked_url(
    options: Mapping[str, Any],
    default: str,
    option: str,
    schemes: tuple[str, ...],
    who: str,
    instead: str = "",
) -> str:
    """`options[option]` (absent, null or "": `default`) without its trailing "/", when it is
    text, a URL of one of `schemes` with a host; a ConfigError naming options.<option> if not,
    which offers `default` (or `instead`, e.g. "https://a.de (DE) or https://a.at (AT)", where
    the default depends on the site) and says that removing the option uses it."""
    raw = options.get(option)
    if raw is None or raw == "":
        return default.rstrip("/")
    if said := login_problem(raw, f"options.{option}"):
        raise ConfigError(f"{who}: {said}.")
    problem = url_problem(raw, schemes)
    if problem:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(
            f"{who}: options.{option} {raw!r} is not usable: {problem}. Give a {wanted} URL "
            f"with a host, e.g. {instead or default}, or remove the option to use "
            f"{'the one of the site' if instead else 'that one'}."
        )
    return raw.rstrip("/")


class Answer:
    """One parsed answer of `provider` from `url`; its methods return checked values."""

    def __init__(self, provider: str, url: str) -> None:
        self.provider, self.url = provider, url

    def bad(self, problem: str, value: Any = None) -> MalformedResponse:
        body = None if value is None else json.dumps(value, default=str)[:1000]
        return malformed(self.provider, self.url, problem, body=body)

    def get(self, obj: Any, key: str, what: str = "the answer") -> Any:
        if not isinstance(obj, Mapping):
            raise self.bad(f"{what} should be a JSON object", obj)
        if key not in obj:
            raise self.bad(f"{what} has no {key!r}", obj)
        return obj[key]

    def number(self, obj: Any, key: str, what: str = "the answer") -> float:
        value = self.maybe_number(obj, key, what)
        if value is None:
            raise self.bad(f"{what}: {key} is null", obj)
        return value

    def maybe_number(self, obj: Any, key: str, what: str = "the answer") -> float | None:
        """A number as float (ints too, so field types stay stable); None for null."""
        value = self.get(obj, key, what)
        return None if value is None else self.a_number(value, f"{what}: {key}", obj)

    def a_number(self, value: Any, what: str, context: Any = None) -> float:
        """`value` as float when it is a JSON number; null, strings and booleans are malformed
        (`what` names the value, `context` is the object shown with the error)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.bad(f"{what} should be a number, got {value!r}", context)
        return self.finite(value, what, context)

    def finite(self, value: int | float, what: str, context: Any = None) -> float:
        """`value` as float when it is finite: NaN, Infinity (Python's JSON reads both) and
        numbers past a double's range (1e400, a 400-digit integer) are malformed, not stored."""
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            shown = repr(value) if isinstance(value, float) else f"{str(value)[:20]}..."
            raise self.bad(f"{what} should be a finite number, got {shown}", context)
        return number

    def flag(self, obj: Any, key: str, what: str = "the answer") -> bool | None:
        """A JSON boolean; None when the key is absent or null (older answers lack it)."""
        value = obj.get(key) if isinstance(obj, Mapping) else self.get(obj, key, what)
        if value is not None and not isinstance(value, bool):
            raise self.bad(f"{what}: {key} should be true or false, got {value!r}", obj)
        return value

    def text(self, obj: Any, key: str, what: str = "the answer") -> str:
        value = self.get(obj, key, what)
        if not isinstance(value, str) or not value:
            raise self.bad(f"{what}: {key} should be a non-empty string, got {value!r}", obj)
        return value

    def items(self, obj: Any, key: str, what: str = "the answer") -> list[Any]:
        value = self.get(obj, key, what)
        if not isinstance(value, list):
            raise self.bad(f"{what}: {key} should be a list", obj)
        return value

    def typed(self, obj: Mapping[str, Any], key: str, kind: type | tuple, what: str) -> Any:
        """`obj[key]` when it is of `kind` (never a boolean for a number)."""
        value = obj.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            got = "missing" if key not in obj else f"{type(value).__name__} {value!r}"
            raise self.bad(f"{what}: field {key!r} is {got}", obj)
        if isinstance(value, int | float):
            self.finite(value, f"{what}: field {key!r}", obj)
        return value

    def when(self, obj: Any, key: str, what: str = "the answer") -> datetime:
        """An ISO 8601 time with a zone (`...Z`, `...+00:00`), as an aware UTC datetime."""
        return self.time(self.text(obj, key, what), f"{what}: {key}")

    def time(self, value: Any, what: str) -> datetime:
        """`value` as an aware UTC datetime when it is an ISO 8601 time with a zone."""
        if not isinstance(value, str):
            raise self.bad(f"{what} should be an ISO 8601 time, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.bad(f"{what} {value!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise self.bad(f"{what} {value!r} has no time zone")
        try:
            moment = parsed.astimezone(UTC)
        except OverflowError:  # year 1 east of UTC, year 9999 west of it
            moment = None
        if moment is None or not STORABLE[0] <= moment < STORABLE[1]:
            raise self.bad(f"{what} {value!r} is outside the times InfluxDB can store (1678-2261)")
        return moment
