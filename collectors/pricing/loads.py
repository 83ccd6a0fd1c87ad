"""The plan of a configured flexible load (admin: *Collectors -> Flexible loads*).

`plan_for(load, now)` is what a Home Assistant sensor per load shows: its state is the
recommended start (`start`), the rest of the answer (`plan`, as `GET /api/plan` gives it) can
be its attributes. Nothing here talks to MQTT: the publisher calls `plan_for`.

The deadline is a local time of the site's time zone: the next one that leaves room for the
load's hours from now. On DST days zoneinfo decides: a deadline in the spring gap (02:30 that
does not exist) counts as the same wall time before the change (01:30 UTC in London), an
ambiguous one in autumn as its first occurrence.
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
from enrich.influx import TimeseriesError


def next_deadline(load: FlexibleLoad, now: datetime) -> datetime:
    """The next local `deadline` at least `hours` after now, in UTC."""
    zone = ZoneInfo(load.site.timezone)
    today = now.astimezone(zone).date()
    for days in range(3):
        local = datetime.combine(today + timedelta(days=days), load.deadline, tzinfo=zone)
        if local.astimezone(UTC) >= now + timedelta(hours=load.hours):
            return local.astimezone(UTC)
    raise ValueError(f"no deadline found for {load}")  # hours <= 24 always fit in 2 days


def plan_for(load: FlexibleLoad, now: datetime | None = None) -> dict[str, Any]:
    """{"load", "start" (ISO, the sensor's state; None when no plan), "before", "plan" (the
    /api/plan answer or None), "message" (why there is no plan, else None), "known" (when too
    little is stored: how far prices and carbon go, as /api/plan's 409 says; else None)}."""
    now = now or clock.utc_now()
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
    )
    shown = {"load": load.name, "start": None, "before": before.isoformat(), "plan": None}
    try:
        answer = plan_answer(load.site, wanted)
    except (Conflict, WindowError, TimeseriesError, ValidationError) as exc:
        return {**shown, "message": str(exc), "known": getattr(exc, "known", None)}
    return {**shown, "start": answer["start"], "plan": answer, "message": None, "known": None}
