"""How an adapter's fetch must fail against a faulty API (the replay server): at once,
without a retry; rate limited for longer than a fetch waits; or at the HTTP timeout when the
answer comes too late."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from enrich.http import RateLimitedError, TransientError
from tests.support.replay import ReplayServer


@contextmanager
def fails_without_retry(
    server: ReplayServer, method: str, path: str, error: type[Exception], match: str | None = None
) -> Iterator[None]:
    """The block must raise `error` (its message matching `match`) after asking `method path`
    once: not retried."""
    with pytest.raises(error, match=match):
        yield
    assert len(server.calls(method, path)) == 1


@contextmanager
def rate_limited_for(server: ReplayServer, method: str, path: str, seconds: int) -> Iterator[None]:
    """`method path` answers 429 asking to wait `seconds`: the block must raise
    RateLimitedError carrying them."""
    server.add(method, path, status=429, headers={"Retry-After": str(seconds)}, body="")
    with pytest.raises(RateLimitedError) as caught:
        yield
    assert caught.value.retry_after == seconds


@contextmanager
def gives_up_at_the_timeout(settings) -> Iterator[None]:
    """The block, against an API answering after 5 s, must fail as transient at the 0.5 s
    HTTP timeout (no retry), long before the answer."""
    settings.HTTP_TIMEOUT_SECONDS = 0.5
    settings.HTTP_MAX_RETRIES = 0
    started = time.monotonic()
    with pytest.raises(TransientError, match="no answer within 0.5 s"):
        yield
    assert time.monotonic() - started < 4  # gave up at the timeout, did not wait for the answer
