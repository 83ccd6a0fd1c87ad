"""What a fetch spends of its provider's limits: every request the provider counts.

Before a fetch the pipeline reserves from the API budget the most calls it may make
(`Adapter.calls_for`). A provider counts each request, so a retry `enrich.http` makes of a
failed call is one more: it is taken from the budget before it goes out (`pay_retry`, which the
door asks through `enrich.http.attempts`), and when the budget has no call left the failed call
is not retried (its error says "budget used up, not retried"). After the fetch the reserved
calls it did not make are given back: those the adapter says it did not make
(`FetchResult.calls`), else those it did not send (`enrich.http.counting` counts each request
of the fetch, less the retries already paid). A failed fetch is charged what it sent too: a
provider down at the first of 3 reserved calls costs 1 (4 after 3 retries), not 3. So a
provider having a bad hour never makes enrich pass its budget, nor spend it on calls never
sent. A request sent outside `enrich.http` (Sense's websocket read) is announced with
`enrich.http.sending`, so it is counted and never given back.

Calls made beyond the reservation (WattTime's login when its token expired, AirNow's second
call when its service moved, Sense's login or trends call) are taken from the budget after the
fetch, by the same count: what the adapter reports on success, else what was sent. The
provider saw them, so the budget counts them; when fewer calls are free, it takes what is left
(it ends at 0, never below) and the next fetch waits. An adapter's own count says what its
provider's limit covers: Emporia's counts its API calls, not the AWS Cognito login requests
sent under its name; a failed fetch, with no such count, is charged all it sent, logins too.

Retries never starve the scheduled fetches: a part of each budget is kept for the first
attempts the beat schedules (`reserve_for`), of every target spending from it (aWATTar's one
budget serves DE and AT: a DE outage may not spend the calls AT's fetches need). A retry, the
HTTP door's of a failed call or the collect task's run of a failed fetch, is paid only while
more than that reserve is left;
then the failed call is not retried ("budget reserved for scheduled fetches, not retried"),
while each scheduled first attempt still goes out. So a provider down for hours spends at most
the rest of its budget on retries, and the first run after it recovers fetches, where unpaced
retries would use up the budget for the rest of its window (aWATTar: 12 calls an hour of
outage, its 100/day gone in 8 hours, tomorrow's prices missed). A retry of the task that the
reserve would refuse when it runs is not queued (`retry_refused`): the failed run says so.
"""

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from collectors import rate_limits
from collectors.base import Adapter, ConfigError, Credentials, FetchResult, Target
from collectors.registry import adapter_for
from enrich.http import Attempts, counting
from enrich.models import ProviderConfig
from enrich.redis.budget import Budget, Taken
from enrich.redis.client import RedisUnavailable
from enrich.wording import counted

logger = logging.getLogger("collectors")


def budget_spec(config: ProviderConfig) -> str:
    """The API budget of this config: options.budget, else the provider's own ("" = none)."""
    adapter = adapter_for(config.source, config.provider)
    return (config.options or {}).get("budget") or adapter.budget or ""


def budget_for(config: ProviderConfig, target: Target, creds: Credentials) -> Budget | None:
    adapter = adapter_for(config.source, config.provider)
    spec = budget_spec(config)
    if not spec:
        return None
    try:
        return Budget.from_spec(config.provider, spec, target=adapter.budget_key(target, creds))
    except ValueError as exc:
        raise ConfigError(f"{config}: options.budget: {exc}") from None


# Why a retry is not paid for while only the reserve is left (the HTTP door adds ", not retried").
RESERVED = "budget reserved for scheduled fetches"


def scheduled_calls(
    adapter: Adapter, target: Target, creds: Credentials, budget: Budget, every: int
) -> int:
    """The calls `target`'s scheduled fetches (one every `every` seconds) make in one period
    of `budget`."""
    period = budget.period_seconds
    scheduled = adapter.calls_per_period(target, creds, every, period)
    if scheduled is None:
        scheduled = math.ceil(period / max(every, 1)) * adapter.calls_for(target, creds)
    return scheduled


def reserve_for(budget: Budget, scheduled: int) -> int:
    """The calls of `budget` retries may not spend: what the scheduled fetches of every target
    spending from it make in one budget period (`scheduled`: collectors.sharing.scheduled_on),
    at least a quarter of the budget, at most all of it."""
    return min(budget.limit, max(budget.limit // 4, scheduled))


@dataclass
class Spending:
    """One fetch against `provider`'s limits for `scope` (Adapter.budget_key): the calls
    reserved from its budget (`taken`; None: no budget) and, once `counted`, its requests."""

    budget: Budget | None
    taken: Taken | None
    provider: str
    scope: str | None
    attempts: Attempts | None = None
    seconds: float | None = None  # every wait before a retry ends within this (None: no end)
    # The calls the scheduled fetches spending from the budget make in one budget period
    # (collectors.sharing.scheduled_on reads every config of the provider): asked only when
    # a retry needs the reserve, not for each first attempt.
    scheduled: Callable[[], int] | None = None

    @cached_property
    def reserve(self) -> int:
        """The calls of the budget no retry may take (reserve_for)."""
        if self.budget is None or self.scheduled is None:
            return 0
        return reserve_for(self.budget, self.scheduled())

    def reserve_calls(self, calls: int, *, retry: bool) -> str:
        """Take the `calls` the fetch may make from the budget: "" when taken, else why not. A
        `retry` (the task's run of a failed fetch) may not take the reserve."""
        budget = self.budget
        if budget is None:
            return ""
        self.taken = budget.take(calls, keep=self.reserve if retry else 0)
        if self.taken is not None:
            return ""
        if retry and budget.remaining() >= calls:
            return self._not_retried()
        wait = budget.retry_after()
        return f"API budget {budget.limit}/{budget.period_seconds}s used up (retry in {wait:.0f} s)"

    def retry_refused(self, calls: int, seconds: float) -> str:
        """Why the task's retry of this failed fetch, `seconds` from now, would be refused by
        the reserve ("" when it may be paid then): the calls the budget frees by then (those
        leaving its window) are counted, the calls others take meanwhile are not."""
        budget = self.budget
        if budget is None:
            return ""
        try:
            wanted = calls + self.reserve
            if wanted <= budget.limit and budget.retry_after(wanted) <= seconds:
                return ""
        except RedisUnavailable:
            return ""  # the retry finds out
        return self._not_retried()

    def _not_retried(self) -> str:
        budget = self.budget
        kept = f"{self.reserve} of its API budget {budget.limit}/{budget.period_seconds}s"
        return f"{RESERVED}, not retried ({kept} kept)"

    @contextmanager
    def counted(self) -> Iterator[Attempts]:
        """Around the fetch: each retry the HTTP door would make is paid for first, and a
        fetch that fails is charged the requests it sent, not its whole reservation (nor
        less, when it sent more)."""
        with counting(self.pay_retry, seconds=self.seconds) as attempts:
            self.attempts = attempts
            try:
                yield attempts
            except Exception:
                try:
                    self._keep(self.calls_sent())
                except RedisUnavailable:
                    pass  # the reservation stays taken: never less than what went out
                raise

    def calls_sent(self) -> int:
        """The calls the fetch sent, each counted once (its retries were paid for apart)."""
        attempts = self.attempts or Attempts()
        return attempts.sent - attempts.retries

    def pay_retry(self) -> str:
        """Take one call from the budget for a retry: "" when taken, else why not."""
        if self.budget is None:
            return ""
        try:
            if self.budget.take(1, keep=self.reserve) is not None:
                return ""
            left, wait = self.budget.remaining(), self.budget.retry_after()
        except RedisUnavailable:
            return "budget unknown, Redis unavailable"
        if left:
            logger.warning(
                "collect: %s: the %s left of the API budget %s/%ss are kept for "
                "scheduled fetches: the failed call is not retried",
                self.provider,
                counted(left, "call"),
                self.budget.limit,
                self.budget.period_seconds,
            )
            return RESERVED
        logger.warning(
            "collect: %s: API budget %s/%ss used up (a call frees up in %.0f s): the failed "
            "call is not retried",
            self.provider,
            self.budget.limit,
            self.budget.period_seconds,
            wait,
        )
        return "budget used up"

    def settle(self, result: FetchResult) -> None:
        """Give the budget back the reserved calls the fetch did not make, or take those it
        made beyond them (as the adapter counts them, else as it sent them), and keep the
        Retry-After of a history call the provider rate limited."""
        rate_limits.remember(self.provider, self.scope, result.history_error)
        self._keep(self.calls_sent() if result.calls is None else result.calls)

    def _keep(self, made: int) -> None:
        """Keep `made` of the reserved calls and give back the rest; calls made beyond the
        reservation are taken from the budget, as many as it has left."""
        if self.budget is None or self.taken is None:
            return
        beyond = made - self.taken.calls
        if beyond <= 0:
            self.budget.give_back(self.taken, -beyond)
            return
        took = self.budget.take_up_to(beyond)
        logger.info(
            "collect: %s: %s made beyond the %d reserved; %d taken from the API budget %s/%ss%s",
            self.provider,
            counted(beyond, "call"),
            self.taken.calls,
            took,
            self.budget.limit,
            self.budget.period_seconds,
            "" if took == beyond else " (all it had left: the next fetch waits)",
        )
