"""How much of a provider's API budget is used, and its runs today: for
/api/enrichment/current and the status page."""

from datetime import UTC, datetime
from typing import Any

from collectors import pipeline, spending
from collectors.base import Target
from collectors.models import CollectorRun
from collectors.registry import adapter_for
from enrich.api.influx_down import unreadable
from enrich.models import ProviderConfig, zone_or_utc
from enrich.redis.budget import Budget
from enrich.redis.client import RedisUnavailable
from retention.timeutil import day_start


def budget_use(config: ProviderConfig, target: Target) -> dict[str, Any] | None:
    """{spec, limit, period_seconds, used, remaining} of the budget this config's calls count
    against (the same Redis window the pipeline takes from); None when it has none."""
    spec = spending.budget_spec(config)
    if not spec:
        return None
    adapter = adapter_for(config.source, config.provider)
    try:
        budget = Budget.from_spec(
            config.provider, spec, target=adapter.budget_key(target, pipeline.credentials(config))
        )
        remaining = budget.remaining()
    except ValueError as exc:
        return {"spec": spec, "error": f"options.budget: {exc}"}
    except RedisUnavailable as exc:
        return {"spec": spec, "error": unreadable(f"The API budget of {config.provider}", exc)}
    return {
        "spec": spec,
        "limit": budget.limit,
        "period_seconds": budget.period_seconds,
        "used": budget.limit - remaining,
        "remaining": remaining,
    }


def runs_today(config: ProviderConfig, target_key: str, now: datetime | None = None) -> dict:
    """Runs of this provider and target since the start of the site's day (its time zone's;
    UTC for a site without a valid one), by status."""
    now = now or datetime.now(UTC)
    zone = zone_or_utc(config.site.timezone)
    since = day_start(now.astimezone(zone).date(), zone)
    runs = CollectorRun.objects.filter(
        source=config.source,
        provider=config.provider,
        target__in=[target_key, f"site:{config.site_id}"],
        started__gte=since,
    )
    counts: dict[str, int] = {}
    for status in runs.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return {"since": since.isoformat(), "total": sum(counts.values()), "by_status": counts}
