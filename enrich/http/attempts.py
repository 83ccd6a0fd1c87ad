"""The requests a piece of work really sends, retries included, and whether one more retry may go.

A provider counts every request against its limits: a call retried three times is four
requests. Whoever pays for them (the collector pipeline, with the provider's API budget) opens
`counting` around the work; each attempt `enrich.http` sends is counted here (as is each
request another client sends and announces with `sending`, e.g. an API's own client library
or a websocket read), and before a retry the door asks `retry_refused`, which calls the
payer's `pay_retry`: it pays for the retry (takes a call from the budget) or says why not, and
then the failed call is not retried ("budget used up, not retried"). Outside `counting`
nothing is counted and every retry the policy allows goes out. Per thread (a context
variable): workers running fetches in threads count each fetch on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Attempts:
    """One piece of work's requests. `pay_retry` pays for one more retry and returns "", or
    returns why it cannot (e.g. "budget used up"); None: retries cost nothing."""

    pay_retry: Callable[[], str] | None = None
    sent: int = 0  # requests sent, retries included
    retries: int = 0  # of which repeated a failed call


_current: ContextVar[Attempts | None] = ContextVar("enrich_http_attempts", default=None)


@contextmanager
def counting(pay_retry: Callable[[], str] | None = None) -> Iterator[Attempts]:
    """Count the requests sent inside the block; `pay_retry` as for `Attempts`."""
    attempts = Attempts(pay_retry)
    token = _current.set(attempts)
    try:
        yield attempts
    finally:
        _current.reset(token)


def sending(*, retry: bool) -> None:
    """One request is about to be sent (`retry`: it repeats a failed call)."""
    attempts = _current.get()
    if attempts is not None:
        attempts.sent += 1
        attempts.retries += retry


def retry_refused() -> str:
    """Asked right before a retry: "" when it may go (paid for), else why it may not."""
    attempts = _current.get()
    if attempts is None or attempts.pay_retry is None:
        return ""
    return attempts.pay_retry()
