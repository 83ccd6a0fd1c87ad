"""The plan of a configured flexible load (admin: *Collectors -> Flexible loads*).

`plan_for(load, now)` is what a Home Assistant sensor per load shows: its state is the
recommended start (`start`), the rest of the answer (`plan`, as `GET /api/plan` gives it) can
be its attributes. Nothing here talks to MQTT: the publisher calls `plan_for`.

The deadline is a local time of the site's time zone: the next one that leaves room for the
load's hours from now. It is a "finished by" time, so on DST days it is the earliest moment
the clock reads it or later: an ambiguous one in autumn is its first occurrence (01:30 BST,
00:30 UTC in London); one in the spring gap, which the clock skips, is the jump itself (01:30
in London on the last Sunday of March: 01:00 UTC, when the clock goes from 00:59 to 02:00),
not the same wall time on the old offset (01:30 UTC, when the clock already reads 02:30).
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from rest_framework.exceptions import ValidationError

from collectors import clock
from collectors.models import FlexibleLoad
from collectors.pricing.api import Conflict
from collectors.pricing.plan_inputs import PlanRequest, plan_answer
from collectors.pricing.windows import WindowError
from enrich.api.influx_down import unreadable
from enrich.influx import TimeseriesError
from enrich.models import is_zone_name


def next_deadline(load: FlexibleLoad, now: datetime) -> datetime:
    """The next local `deadline` at least `hours` after now, in UTC: at most three days on.
    After a short day the day after next's can be too near (a 24-hour load done by 00:00,
    asked at 23:50 before a 23-hour day: that midnight is 23 h 10 min away)."""
    zone = ZoneInfo(load.site.timezone)
    today = now.astimezone(zone).date()
    for days in range(4):
        moment = _reached(datetime.combine(today + timedelta(days=days), load.deadline), zone)
        if moment >= now + timedelta(hours=load.hours):
            return moment
    # hours <= 24 fit by then: a day lasts 22 to 26 hours (Troll's changes are of 2 hours), so
    # that deadline is over 70 hours after today's, and now less than 26 hours after it
    raise ValueError(f"no deadline found for {load}")


def _reached(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first moment (UTC) the clock of `zone` reads the naive `wall` time or later: the
    first of an ambiguous time, the jump of one that the clock skips (see the docstring)."""
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold 0: the first; skipped: too late
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # Skipped: the jump lies between the time read earlier (fold 1) and `first`; zones jump
    # at a whole second, so the first second whose reading is `wall` or later is found.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def plan_for(
    load: FlexibleLoad, now: datetime | None = None, name_moment: bool = True
) -> dict[str, Any]:
    """{"load", "start" (ISO, the sensor's state; None when no plan), "before" (None when the
    site's time zone is none), "plan" (the /api/plan answer or None), "message" (why there is
    no plan, else None; with `name_moment` False it says "now" without its time), "known" (when
    too little is stored: how far prices and carbon go, as /api/plan's 409 says; else None)}."""
    now = now or clock.utc_now()
    zone = load.site.timezone
    if not is_zone_name(zone):  # a row written past the site form: no deadline can be placed
        return {"load": load.name, "start": None, "before": None, "plan": None, "known": None,
                "message": f"The site's time zone {zone!r} is no IANA time zone name; correct "
                "it in the admin (Sites), e.g. Europe/Berlin."}  # fmt: skip
    before = next_deadline(load, now)
    carbon_price = settings.PLAN_CARBON_PRICE if load.carbon_price is None else load.carbon_price
    wanted = PlanRequest(
        now=now,
        hours=load.hours,
        before=before,
        carbon_price=carbon_price,
        kw=load.kw,
        contiguous=load.contiguous,
        penalty_percent=settings.PLAN_INTERRUPTION_PENALTY_PERCENT,
        max_windows=load.max_windows,
        name_moment=name_moment,
    )
    shown = {"load": load.name, "start": None, "before": before.isoformat(), "plan": None}
    try:
        answer = plan_answer(load.site, wanted)
    except TimeseriesError as exc:  # as /api/plan's 503 says it: no address, query or database
        return {**shown, "message": unreadable("The stored data", exc), "known": None}
    except (Conflict, WindowError, ValidationError) as exc:
        return {**shown, "message": str(exc), "known": getattr(exc, "known", None)}
    return {**shown, "start": answer["start"], "plan": answer, "message": None, "known": None}
