"""The adapter contract: what every provider module implements.

An adapter turns one API into readings. It gets plain settings (no Django models), the target
the API answers for and a time window; it returns readings with the data's own timestamps and
a small `current` summary; it raises only `enrich.http` errors (`MalformedResponse` for answers
it cannot understand) or `ConfigError` for settings it cannot work with. Its fetch writes no
points and never touches Celery or Redis: the pipeline does caching, budgets, writing, runs.
What it reads of enrich's own data goes through enrich/'s doors: a smart meter's fetch reads
InfluxDB for the ended days lacking a total (smart_meter.day_ends), and the hooks below read
or write InfluxDB, Redis and models.
"""

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from enrich.errors import Permanent
from enrich.http import HttpError
from enrich.readings import Reading, tag_problem

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Options (ProviderConfig.options) the pipeline reads for every provider (collectors.pipeline).
PIPELINE_OPTIONS = frozenset({"budget"})


class ConfigError(Permanent):
    """Settings the adapter cannot work with; the message says what to change and where."""


def tag_option(what: str, value: str) -> str:
    """`value`, a setting written as an InfluxDB tag (a circuit, device or person name), or a
    ConfigError naming it (`what`) when line protocol cannot carry it: refused before any call,
    not by the write after the fetch."""
    if problem := tag_problem(value):
        raise ConfigError(
            f"{what} {value!r} cannot be an InfluxDB tag: a tag cannot hold {problem}."
        )
    return value


@dataclass(frozen=True)
class SiteInfo:
    """The parts of a Site an adapter may need (built by the pipeline from the model)."""

    name: str
    latitude: float
    longitude: float
    timezone: str = "UTC"
    grid_region: str = ""
    pricing_region: str = ""


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    # Secrets stay out of repr() (logs, tracebacks); options may carry OAuth tokens.
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # A login session the provider handed out earlier (ProviderConfig.session), e.g. Sense's
    # tokens; adapters that log in report a new one through report_renewed.
    session: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # The keys the site's circuits were given before, by scope (collectors.circuit_keys): set
    # by the pipeline for a fetch; the adapter reports the keys it gives in FetchResult.kept.
    kept: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    # Set by the pipeline for a fetch when the provider keeps its credentials outside the
    # adapter (Adapter.on_renewed): where the adapter reports credentials it renewed
    # itself (e.g. an OAuth access token renewed on a 401), so they are saved for the next run.
    on_renewed: Callable[["Credentials"], None] | None = field(
        default=None, compare=False, repr=False
    )

    def report_renewed(self, renewed: "Credentials") -> None:
        """Tell the pipeline these credentials replace the ones the fetch started with (same
        shape); call it as soon as they were obtained, also when the fetch fails later."""
        if self.on_renewed is not None:
            self.on_renewed(renewed)


@dataclass(frozen=True)
class Target:
    """What one API call answers for. Sites sharing a target share one call, one cache entry
    and one budget: a thousand homes in one grid region cost one request."""

    source: str
    provider: str
    key: str  # region / zone / tariff / location, e.g. "CAISO_NORTH", "DE", "E-1R-AGILE-24-10-01-C"
    params: Mapping[str, Any] = field(default_factory=dict)  # JSON-serialisable, what fetch needs


@dataclass(frozen=True)
class Window:
    """The period to fetch. `start` is earlier than usual after an outage (backfill); adapters
    of APIs without history ignore it and return what the API has now."""

    start: datetime
    end: datetime
    now: datetime
    # API calls the pipeline reserved from the budget for this fetch (None: no budget). An
    # adapter whose number of calls depends on the answer (e.g. one per device) stays within.
    calls: int | None = None
    # Set (to the reason) while the account's plan is remembered refusing the history
    # endpoint: the pipeline gives no backfill window, and the adapter asks no history.
    history_skipped: str = ""
    # Stored points the adapter asks the provider for again (Adapter.asked_again), their
    # fields by time: e.g. Electricity Maps hours stored estimated ({}: none).
    again: Mapping[datetime, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Replaced:
    """Stored points a fetch's answer replaces whole: every point of `measurement` whose tags
    include `tags`, with start <= time < end (collectors.served_store.write_fetched deletes
    them before the readings are written)."""

    measurement: str
    tags: Mapping[str, str]
    start: datetime
    end: datetime


@dataclass
class FetchResult:
    readings: list[Reading]
    # Headline values for the REST API ("current"), JSON-serialisable, e.g.
    # {"carbon_intensity_gco2_kwh": 312.0, "time": "2026-11-27T06:00:00+00:00"}. With
    # "no_data": True the answer has no value for now (and a "message" saying why): readings
    # it does have (e.g. prices that end before now) are written, the run is "partial" (asked
    # again next run) and the last good answer stays the one served.
    current: dict[str, Any]
    # API calls the fetch really made, when the adapter counts them: the pipeline gives the
    # rest of what it reserved (Window.calls) back to the budget. None: the requests the fetch
    # sent are the count (enrich.http counts them; a request sent another way announces itself
    # with enrich.http.sending).
    calls: int | None = None
    # The backfill (history) call failed; the readings above still hold the latest values.
    # The pipeline writes them and decides from the error: a refusal (401/403) is remembered
    # as "not on this plan", anything else leaves the gap to be asked for again.
    history_error: HttpError | None = None
    # What the run record should say besides the outcome, e.g. a retired tariff product.
    notes: list[str] = field(default_factory=list)
    # No readings because the settings need the user (a retired tariff product): the pipeline
    # logs its one "no data" line as a WARNING, not INFO (no data for now is often normal).
    warn: bool = False
    # Keys given to circuits by this fetch, by scope ({scope: {key: owner}}): kept for good
    # (collectors.circuit_keys), so the next runs give them to the same circuits.
    kept: dict[str, dict[str, str]] = field(default_factory=dict)
    # The spans this answer says everything about (e.g. a calendar prediction from its slot's
    # start on, a value AirNow withdrew for its hour): what an earlier answer put there and
    # this one has not (a point at an event deleted since) is deleted first, also by an
    # answer with no readings (Adapter.still_served then says what is served). Empty: only
    # the readings' own points are replaced.
    replaces: tuple[Replaced, ...] = ()

    def by_measurement(self) -> dict[str, int]:
        """How many readings of each measurement ({"electricity_pricing_forecast": 48, ...})."""
        return dict(Counter(r.measurement for r in self.readings))


def read_history(provider: str, read: Callable[[], list[T]]) -> tuple[list[T], HttpError | None]:
    """What the history call gave (readings, slots...), or ([], the error) when it fails: a
    failed backfill never costs the latest values the fetch has already read."""
    try:
        return read(), None
    except HttpError as error:
        logger.warning(
            "%s: the history call failed, the latest values are kept: %s: %s",
            provider,
            type(error).__name__,
            error,
        )
        return [], error


class Adapter(ABC):
    """Base class; subclasses set the class attributes and implement target() and fetch()."""

    source: ClassVar[str]
    provider: ClassVar[str]
    # Default API budget ("100/day", "500/hour", "3000/5min"); None when the API publishes none.
    # Overridable per provider with options["budget"].
    budget: ClassVar[str | None] = None
    # Every option name (ProviderConfig.options) the adapter and its helpers read; the admin
    # refuses any other name (known_options), so a misspelt option is never silently ignored.
    options: ClassVar[frozenset[str]] = frozenset()
    # Options that add data to the fetch, each with its values from asking the least to the
    # most (None: left out): the fetch of a shared target asks the most any config asks.
    additive: ClassVar[Mapping[str, tuple]] = {}
    # "target": the limit applies per region/zone/...; "account": to the whole account or key
    # (ours: one budget for the provider); "login": to each user's own account (budget_key).
    budget_scope: ClassVar[str] = "account"
    # How far back the API can serve history (used to backfill after an outage); None = none.
    history: ClassVar[timedelta | None] = None
    # API calls one fetch makes (for budgets): e.g. a login plus a data call.
    calls_per_fetch: ClassVar[int] = 1
    # The span the value an answer gives as current covers from its "time" (a carbon slot,
    # an AirNow hour); None: none. A cached answer spares no call once that span has ended
    # (collectors.freshness), so the first run in the next slot fetches its value; nor, once
    # 10 min old, while its value names parts still of the slot before ("lagging") or parts
    # with no value yet ("no_value").
    slot: ClassVar[timedelta | None] = None
    # The measurement of current_readings' points (None: it gives none). A fetch's point
    # there replaces one of them at the same series and time (collectors.served_store).
    served_measurement: ClassVar[str | None] = None

    @classmethod
    def known_options(cls) -> frozenset[str]:
        """The option names a provider config of this provider may hold."""
        return cls.options | PIPELINE_OPTIONS

    # The adapter's option parsers: each reads its options from the options alone (no call,
    # no credentials, no site), returns what it read and raises a ConfigError naming the option
    # for a value no collection could work with. pipeline.target_for runs them all before
    # target(), so a config saved before is refused before any call, and the admin
    # (options_problem) refuses the same values with the same message.
    option_parsers: ClassVar[tuple[Callable[[Mapping[str, Any]], object], ...]] = ()

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Every option parser's refusal of these options (a ConfigError), in order."""
        for parse in cls.option_parsers:
            parse(options)

    @classmethod
    def options_problem(cls, options: Mapping[str, Any]) -> str:
        """What the admin refuses in these options besides unknown names ("" when nothing): a
        value no collection could work with (check_options), so it is never saved; the
        message is the one a run with these options fails with."""
        try:
            cls.check_options(options)
        except ConfigError as exc:
            return str(exc)
        return ""

    def combined_options(
        self, own: Mapping[str, Any], others: list[Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        """The options of one fetch for a target several configs share: the fetching config's
        (`own`) with, for each option that adds data to the answer (`additive`), the value
        asking for the most among all of them, since all of them are served that answer."""
        combined = dict(own)
        for name, ranks in self.additive.items():
            asked = [o.get(name) for o in (own, *others) if o.get(name) in ranks]
            best = max(asked, key=ranks.index, default=None)
            if best is None:
                combined.pop(name, None)
            else:
                combined[name] = best
        return combined

    def budget_key(self, target: Target, credentials: Credentials) -> str | None:
        """Whose budget a fetch draws from: the target's ("target") or one for the whole
        provider (None). Adapters with budget_scope "login" return the user's account."""
        return target.key if self.budget_scope == "target" else None

    def calls_for(self, target: Target, credentials: Credentials) -> int:
        """The most API calls the next fetch may make: what the pipeline reserves."""
        return self.calls_per_fetch

    def calls_per_period(
        self, target: Target, credentials: Credentials, interval_seconds: float, period: float
    ) -> int | None:
        """API calls over `period` seconds when fetching every `interval_seconds`, for an
        adapter whose cost depends on what the account has (None: a fixed cost per fetch,
        nothing to plan). The pipeline lowers the cadence when it would pass the budget."""
        return None

    # --- Optional hooks: what a provider needs beyond target() and fetch(). The defaults do
    # nothing; a provider overrides the ones it needs. Hooks that touch our infrastructure
    # (Django models, Redis) import it inside the method, so the adapter module stays free
    # of it and the pipeline, which calls them, stays the one place that runs them.

    def credentials(self, config: Any, *, fetching: bool) -> Credentials | None:
        """Credentials kept outside ProviderConfig's own fields (e.g. OAuth tokens), or None
        to use those fields. With fetching=False only read (dispatch, the API); with
        fetching=True (right before fetch) it may renew tokens, raising enrich.http errors
        like a fetch would."""
        return None

    def on_renewed(self, config: Any, previous: Credentials, renewed: Credentials) -> None:
        """Credentials the adapter renewed during a fetch (Credentials.report_renewed), as soon
        as it reports them, also when the fetch fails afterwards: save them where
        credentials() or ProviderConfig reads them, so the next run on any worker starts from
        them."""
        return None  # nothing to do, unless the provider says otherwise

    def on_auth_failure(self, config: Any, error: HttpError, started_with: Any) -> None:
        """The collection failed with an AuthError; `started_with` is the Credentials the
        fetch started with (None: the failure came while getting them). May set
        `error.already_reported = True` once reported at ERROR (the pipeline then repeats it
        at WARNING only)."""
        return None  # nothing to do, unless the provider says otherwise

    def forget_login(self, config: Any) -> list[str]:
        """The user cleared the config's secrets (the admin's "Clear secrets"): remove every
        login the provider saved for it (sessions, tokens), so no run uses that account again;
        returns what was removed, as phrases for the admin's message ([]: nothing saved)."""
        return []

    def asked_again(self, target: Target, window: Window) -> Mapping[datetime, Mapping[str, Any]]:
        """Stored points of `target` the next fetch asks the provider for again (their fields
        by time, read from InfluxDB before the fetch; Window.again): {} here."""
        return {}

    def after_write(self, target: Target, result: FetchResult) -> None:
        """A fresh answer was written: work that needs our infrastructure (e.g. remembering
        AQI categories in Redis)."""
        return None  # nothing to do, unless the provider says otherwise

    def still_served(self, target: Target, result: FetchResult, value: Any) -> Any:
        """What to serve in place of the last good answer's `value` once `result`, an answer
        with no readings, withdrew stored points (its `replaces`, deleted): `value` itself
        while it holds none of them, else the value that stands (None: nothing)."""
        return value

    def current_at_read(self, config: Any, target: Target, answer: Any) -> dict | None:
        """The current value computed when asked (e.g. the price slot running now), as the
        entry's "value", "time", "stale", "fetched_at", "age_seconds" (and "message"), from
        the cached answer or None; None here: serve the cached answer as it is."""
        return None

    def current_readings(self, config: Any, target: Target, answer: Any) -> list[Reading]:
        """The points of what current_at_read serves now when no fetch wrote them (a later
        slot of a stored forecast, a predicted event edge), at the data's own time; the beat
        task `collectors.write_current_forecasts` writes them each minute
        (collectors.served_points). [] here: what is served is what the fetch wrote."""
        return []

    def maybe_served(self, fields: Mapping[str, Any]) -> bool:
        """Whether a stored point of served_measurement with these fields (no None) may be one
        current_readings gave, not a fetch: a fetch writing its series and time deletes it
        first when it would leave a field of it, and the minute task never writes over a
        point this says no to. True here: served and fetched points look alike."""
        return True

    @abstractmethod
    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        """Which region/zone/tariff/location this site needs; ConfigError if it cannot tell."""

    @abstractmethod
    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        """Call the API (through enrich.http) and map the answer to readings."""
