"""What a fetch spends of its provider's limits: every request the provider counts.

Before a fetch the pipeline reserves from the API budget the most calls it may make
(`Adapter.calls_for`); afterwards it gives back those the adapter says it did not make
(`FetchResult.calls`). A provider counts each request, so a retry `enrich.http` makes of a
failed call is one more: it is taken from the budget before it goes out (`pay_retry`, which the
door asks through `enrich.http.attempts`), and when the budget has no call left the failed call
is not retried (its error says "budget used up, not retried"). A failed fetch keeps its whole
reservation and the retries it paid for: a call failing after 3 attempts costs 3. So a provider
having a bad hour never makes enrich pass its budget; the next run waits for free calls.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from collectors import rate_limits
from collectors.base import ConfigError, Credentials, FetchResult, Target
from collectors.registry import adapter_for
from enrich.http import counting
from enrich.models import ProviderConfig
from enrich.redis.budget import Budget, Taken
from enrich.redis.client import RedisUnavailable

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


@dataclass
class Spending:
    """One fetch against `provider`'s limits for `scope` (Adapter.budget_key): the calls
    reserved from its budget (`taken`; None: no budget)."""

    budget: Budget | None
    taken: Taken | None
    provider: str
    scope: str | None

    @contextmanager
    def counted(self) -> Iterator[None]:
        """Around the fetch: each retry the HTTP door would make is paid for first."""
        with counting(self.pay_retry):
            yield

    def pay_retry(self) -> str:
        """Take one call from the budget for a retry: "" when taken, else why not."""
        if self.budget is None:
            return ""
        try:
            if self.budget.take(1) is not None:
                return ""
            wait = self.budget.retry_after()
        except RedisUnavailable:
            return "budget unknown, Redis unavailable"
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
        """Give the budget back the reserved calls the fetch did not make (when the adapter
        counts them), and keep the Retry-After of a history call the provider rate limited."""
        rate_limits.remember(self.provider, self.scope, result.history_error)
        if self.budget is not None and self.taken is not None and result.calls is not None:
            self.budget.give_back(self.taken, self.taken.calls - result.calls)
