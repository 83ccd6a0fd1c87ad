"""How patient an outbound call is: timeout, retries, backoff and the provider's Retry-After."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class HttpPolicy:
    """How patient one call is. Defaults are the settings' defaults (PRD NFR1, NFR4)."""

    timeout: float = 5.0  # seconds per connect and per read
    max_retries: int = 3  # attempts after the first one
    backoff: float = 1.0  # base of the exponential backoff, seconds
    max_retry_after: float = 60.0  # longest wait we sit out inline; also caps the backoff

    @classmethod
    def from_settings(cls) -> HttpPolicy:
        """The policy from Django settings, or the defaults when Django is not configured."""
        from django.conf import settings

        if not settings.configured:
            return cls()
        default = cls()
        return cls(
            timeout=float(getattr(settings, "HTTP_TIMEOUT_SECONDS", default.timeout)),
            max_retries=int(getattr(settings, "HTTP_MAX_RETRIES", default.max_retries)),
            backoff=float(getattr(settings, "HTTP_BACKOFF_SECONDS", default.backoff)),
            max_retry_after=float(
                getattr(settings, "HTTP_MAX_RETRY_AFTER_SECONDS", default.max_retry_after)
            ),
        )


def call_policy(
    provider: str,
    policy: HttpPolicy | None,
    timeout: float | None,
    max_retries: int | None,
) -> HttpPolicy:
    """The policy of one call: the given one (or the settings'), with the call's overrides.

    Raises ValueError naming the settings when the result cannot work.
    """
    policy = policy or HttpPolicy.from_settings()
    if timeout is not None:
        policy = replace(policy, timeout=timeout)
    if max_retries is not None:
        policy = replace(policy, max_retries=max_retries)
    if policy.timeout <= 0 or policy.max_retries < 0 or policy.backoff < 0:
        raise ValueError(
            f"{provider}: invalid HTTP policy {policy}: the timeout must be positive and "
            "max_retries and backoff not negative (settings HTTP_TIMEOUT_SECONDS, "
            "HTTP_MAX_RETRIES, HTTP_BACKOFF_SECONDS)."
        )
    return policy


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt + 1`: full jitter over min(cap, base*2^n)."""
    ceiling = min(cap, base * 2**attempt)
    return (rng or random).uniform(0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (a number or an HTTP-date); None when absent or unreadable (a
    number no wait can be: NaN, Infinity, 1e400)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
