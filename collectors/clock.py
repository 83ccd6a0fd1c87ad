"""The moment the read-time answers are for: the price now, the price windows, the plans and the
chart series are computed for `utc_now()` when asked. One place, so tests can move the clock."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
