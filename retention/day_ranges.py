"""How far back, and how many days at once, a person may ask for.

Every endpoint taking a day range (tier runs and dry runs, view rebuild, restore) and the tier
and view-rebuild commands check it here, so `start=0001-01-01` is a 400 naming the parameter
instead of a run over 740,000 days. A restore over the API is also limited to RETENTION_MAX_RANGE_DAYS days; longer
ranges are asked in parts, or run by the management command.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from retention.timeutil import local_day_start

# No Home Assistant (2013) or smart-meter data is older: an earlier day is a typing error.
EARLIEST_DAY = date(2000, 1, 1)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # its midnight, UTC


class RangeError(ValueError):
    """A bad start/end; `parameter` names which one."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(message)


def check_span(
    start: date | None,
    end: date | None,
    *,
    end_inclusive: bool,
    limited: bool = True,
    names: tuple[str, str] = ("start", "end"),
) -> None:
    """Raise RangeError naming the parameter when a day is before EARLIEST_DAY or, with
    `limited` (web requests), the range spans more than RETENTION_MAX_RANGE_DAYS days."""
    for name, day in zip(names, (start, end), strict=True):
        if day is not None and day < EARLIEST_DAY:
            raise RangeError(
                name,
                f"{day} is before {EARLIEST_DAY}: there is no data that old; give a later day.",
            )
    if not limited or start is None or end is None:
        return
    days = (end - start).days + (1 if end_inclusive else 0)
    most = settings.RETENTION_MAX_RANGE_DAYS
    if days > most:
        raise RangeError(
            names[0],
            f"{start}..{end} spans {days} days; one request covers at most {most} days "
            "(RETENTION_MAX_RANGE_DAYS). Ask for the range in parts, or use the management "
            "command, which has no such limit.",
        )


def check_begun(start: date, name: str, today: date | None = None) -> None:
    """RangeError naming `name` when the range begins after today (UTC): nothing of it can be
    archived yet (a restore of 2062 typed for 2026 would be queued and restore nothing)."""
    today = today or datetime.now(UTC).date()
    if start > today:
        raise RangeError(
            name, f"{start} is after today ({today}): the archive holds past days only."
        )


def rebuild_bounds(start: date, end: date, now: datetime, names=("start", "end")):
    """The times a rebuild of the local days start..end covers; ValueError naming the
    parameter (`names`: the command's "--start", "--end") when none."""
    if end < start:
        raise ValueError(f"{names[1]} {end} is before {names[0]} {start}")
    range_start = local_day_start(start)
    if range_start >= now:
        raise ValueError(f"{names[0]} {start} is in the future; nothing can be computed yet")
    return range_start, min(local_day_start(end + timedelta(days=1)), now)
