"""A slower cadence for a target whose calls would pass its budget.

Some providers' cost per fetch depends on what the account has (Emporia: one chart call per
Vue). When fetching every `interval_seconds` would make more calls per budget period than the
budget allows, the target is fetched less often instead: a run within the lowered interval of
the last fetch skips the call (recorded as status "budget", saying why), so collection never
fails on the budget and never goes over it. Adapters that backfill (Emporia's mains chart)
fill the skipped minutes on the next fetch.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from collectors.base import Adapter, Credentials, Target
from collectors.models import CollectorRun
from enrich.redis.budget import Budget

STEP = 60  # the lowered interval is a whole number of minutes
# Beat fires about one interval apart; a run a few seconds early must still fetch.
SLACK = timedelta(seconds=30)
# How the record of a run the lowered cadence skipped (status "budget") starts: that run left
# the call to a later one, as planned (collectors.api reads the answer as fresh till then).
LOWERED = "cadence lowered to every "


@dataclass(frozen=True)
class Cadence:
    every: int  # seconds between fetches
    note: str  # what the run record says


def lowered(
    adapter: Adapter,
    target: Target,
    credentials: Credentials,
    budget: Budget | None,
    interval_seconds: int,
    spec: str,
) -> Cadence | None:
    """The slower cadence the budget needs, None when `interval_seconds` fits in it."""
    if budget is None:
        return None
    period = budget.period_seconds
    calls = adapter.calls_per_period(target, credentials, interval_seconds, period)
    if calls is None or calls <= budget.limit:
        return None
    every = interval_seconds
    while every < period:
        every = (every // STEP + 1) * STEP
        needed = adapter.calls_per_period(target, credentials, every, period) or 0
        if needed <= budget.limit:
            break
    note = (
        f"{LOWERED}{every / 60:g} min for this account: every "
        f"{interval_seconds / 60:g} min would make {calls} calls, above its budget {spec}"
    )
    return Cadence(every, note)


def too_soon(source: str, provider: str, target_key: str, cadence: Cadence, now: datetime) -> bool:
    """Whether the last fetch of this target was less than the lowered interval ago."""
    last = (
        CollectorRun.objects.filter(
            source=source, provider=provider, target=target_key, status__in=("ok", "no_data")
        )
        .values_list("started", flat=True)
        .first()
    )
    return last is not None and now - last < timedelta(seconds=cadence.every) - SLACK
