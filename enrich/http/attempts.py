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

The work may also have a deadline (`counting(..., seconds=...)`: the collect task's time limit
ends a fetch otherwise, mid-wait): a retry whose wait (a 429's Retry-After, a backoff) would end
past it is not made, its error saying so, and a 429 then fails at once with the wait the
provider asked for attached, as a wait longer than the policy sits out does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from time import monotonic


@dataclass
class Attempts:
    """One piece of work's requests. `pay_retry` pays for one more retry and returns "", or
    returns why it cannot (e.g. "budget used up"); None: retries cost nothing."""

    pay_retry: Callable[[], str] | None = None
    sent: int = 0  # requests sent, retries included
    retries: int = 0  # of which repeated a failed call
    deadline: float | None = None  # time.monotonic() by which every wait must have ended


_current: ContextVar[Attempts | None] = ContextVar("enrich_http_attempts", default=None)


@contextmanager
def counting(
    pay_retry: Callable[[], str] | None = None, *, seconds: float | None = None
) -> Iterator[Attempts]:
    """Count the requests sent inside the block; `pay_retry` as for `Attempts`; `seconds`: no
    wait before a retry may end later than this long after the block starts."""
    attempts = Attempts(pay_retry, deadline=None if seconds is None else monotonic() + seconds)
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


def retry_refused(wait: float = 0.0) -> str:
    """Asked right before a retry that first waits `wait` seconds: "" when it may go (paid
    for), else why it may not (its wait would outlast the work's deadline, or it is not paid)."""
    attempts = _current.get()
    if attempts is None:
        return ""
    if attempts.deadline is not None and monotonic() + wait > attempts.deadline:
        return f"the {wait:g} s wait would outlast the time this work has"
    return attempts.pay_retry() if attempts.pay_retry is not None else ""
