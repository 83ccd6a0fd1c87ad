"""GET /api/enrichment/current: every source's current value for a site (PRD FR8).

`site` (enrich.api.site) is optional with one site; 400 when it is no id or missing where
required, 404 when no site has it, as on every endpoint taking `site`.

`stale` (here, so the status page and Home Assistant's states too) says that the run due when
the answer's cache time ran out brought nothing newer: it failed, made no call (budget or rate
limit) or found no data. A run that made no call because the account's lowered cadence
(collectors.cadence) left the call to a later run is not that run: the run due is the one a
cycle after it. While that run is still fetching (the first seconds of every cycle,
when beat also fires the minute's publication) the answer is not stale yet; with no run
recorded at all (no worker, beat stopped) it is stale once the collect task's time limit has
passed. An answer fetched between two cycles was still fresh at the next cycle's run (recorded
"cached"): the run due is then the cycle after that one."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from collectors import cadence, clock, pipeline, usage
from collectors.base import ConfigError
from collectors.models import CollectorRun
from collectors.occupancy.google.connection import connection_status
from collectors.registry import UnknownProvider, adapter_for
from collectors.schemas import CURRENT
from enrich.addresses import hidden
from enrich.api.influx_down import unreadable
from enrich.api.site import SITE, site_from_query
from enrich.models import SOURCES, ProviderConfig, in_words
from enrich.redis.cache import CachedAnswer, CacheUnavailable, ResponseCache


def _last_run(config: ProviderConfig, target_key: str) -> dict | None:
    run = (
        CollectorRun.objects.filter(source=config.source, provider=config.provider)
        .filter(target__in=[target_key, f"site:{config.site_id}"])
        .first()
    )
    if run is None:
        return None
    return {
        "status": run.status,
        "status_label": run.get_status_display(),  # as the admin's runs list says it
        "started": run.started.isoformat(),
        "served": run.served,  # what it served instead: "nothing (no earlier answer)", ...
        # as recorded, without the addresses of enrich's services: the admin shows them whole
        "error": hidden(run.error),
        "message": hidden(run.message),  # the error without its class, as the status page shows
    }


def stale_at(config: ProviderConfig, target_key: str, cache: ResponseCache, now: datetime) -> bool:
    """Whether the answer served for `config`'s `target_key` is stale at `now` (`_stale`'s
    rule, for the moment Home Assistant's states are published for: a meter's circuits, read
    with its answer, are as stale as it is); False with no answer."""
    answer = cache.get(config.source, config.provider, target_key)
    if answer is None:
        answer = cache.last_good(config.source, config.provider, target_key)
    if answer is None or now < answer.fetched_at + timedelta(seconds=answer.ttl_seconds):
        return False
    return _stale(config, target_key, answer, cache.ttl_for(config.source), now)


def _stale(
    config: ProviderConfig, target_key: str, answer: CachedAnswer, cycle: int, now: datetime
) -> bool:
    """Whether an answer past its cache time at `now` is stale: a run of its target since its
    fetch ended without a newer answer ("cached" is a run that left the call to one
    fetching), or the collect task's time limit has passed since the run that should have
    fetched was due (see the module); `cycle`: the source's cache time, which beat's cycle
    for it is."""
    runs = CollectorRun.objects.filter(
        source=config.source,
        provider=config.provider,
        target=target_key,
        started__gt=answer.fetched_at,
    )
    # A run the account's lowered cadence skipped (collectors.cadence) left the call to the
    # run one cycle after it, as planned: the answer is no less fresh for it.
    planned = {"status": CollectorRun.Status.BUDGET, "served__startswith": cadence.LOWERED}
    if runs.exclude(status=CollectorRun.Status.CACHED).exclude(**planned).exists():
        return True
    due = answer.fetched_at + timedelta(seconds=answer.ttl_seconds)
    # Fetched between two cycles (the setup page's collect now), the answer was still fresh at
    # the next cycle's run, which left the call to the cycle after it, one cache time later (a
    # run after the cache time that made no call left it to another run fetching then).
    found_fresh = runs.filter(started__lt=due).order_by("-started")
    skipped = found_fresh.values_list("started", flat=True).first()
    if skipped is not None:
        due = max(due, skipped + timedelta(seconds=cycle))
    lowered = runs.filter(**planned).order_by("-started").values_list("started", flat=True)
    if (last := lowered.first()) is not None:
        due = max(due, last + timedelta(seconds=cycle))
    return now >= due + timedelta(seconds=pipeline.RUN_TIME_LIMIT_SECONDS)


# An entry with no value known has every field a valued one has, and is stale: nothing
# current is known (the pricing and carbon entries alike; docs/api.md).
NO_VALUE = {"time": None, "fetched_at": None, "stale": True, "age_seconds": None}


def provider_value(config: ProviderConfig, cache: ResponseCache) -> dict:
    entry = _provider_value(config, cache)
    return entry if entry["value"] is not None else NO_VALUE | entry


def _provider_value(config: ProviderConfig, cache: ResponseCache) -> dict:
    entry = {"provider": config.provider}
    connection = connection_status(config)  # OAuth providers: status and status_label
    if connection is not None:
        entry["connection"] = connection
    try:
        target = pipeline.target_for(config)
    except (ConfigError, UnknownProvider) as exc:
        # No target, but each dispatch records its refusal as a failed run of the site's.
        refused = f"site:{config.site_id}"
        return {
            **entry,
            "last_run": _last_run(config, refused),
            "runs_today": usage.runs_today(config, refused),
            "value": None,
            "message": f"cannot be collected: {exc}",
        }
    entry["target"] = target.key
    entry["last_run"] = _last_run(config, target.key)
    entry["budget"] = usage.budget_use(config, target)
    entry["runs_today"] = usage.runs_today(config, target.key)
    unread = ""
    try:
        answer = cache.get(config.source, config.provider, target.key)
        if answer is None:
            answer = cache.last_good(config.source, config.provider, target.key)
    except CacheUnavailable as exc:  # the other sources and the stored prices are still read
        answer, unread = None, unreadable("the last answer", exc)
    if answer is not None:
        cycle = cache.ttl_for(config.source)
        stale = answer.stale and _stale(config, target.key, answer, cycle, datetime.now(UTC))
        answer = replace(answer, stale=stale)
    # e.g. prices: the slot running now, not the one at the fetch
    at_read = adapter_for(config.source, config.provider).current_at_read(config, target, answer)
    if at_read is not None:
        return {**entry, **at_read}
    if answer is None:
        return {**entry, "value": None, "message": unread or "no answer yet (see its last run)"}
    return {
        **entry,
        "value": answer.value,
        "time": answer.value.get("time") if isinstance(answer.value, dict) else None,
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale,
        "age_seconds": round(answer.age_seconds),
    }


class CurrentEnrichment(APIView):
    @extend_schema(
        parameters=[SITE],
        responses={200: CURRENT, 400: dict, 404: dict},
    )
    def get(self, request):
        site = site_from_query(request.query_params)  # an unknown site: 404
        cache = ResponseCache()
        configs = list(ProviderConfig.objects.filter(site=site, enabled=True).order_by("id"))
        for config in configs:  # the site read above, not once more per config
            config.site = site
        sources = {}
        for source in SOURCES:
            mine = [c for c in configs if c.source == source]
            if not mine:
                sources[source] = {
                    "configured": False,
                    "message": f"No {in_words(source)} provider is enabled for this site; add "
                    "one in the admin (Provider configs).",
                }
                continue
            sources[source] = {
                "configured": True,
                "providers": [provider_value(c, cache) for c in mine],
            }
        # `now`: the moment the values are for (a value's `time` is its own, `age_seconds` the
        # fetch's), so a reader tells how old the value is by one clock.
        now = clock.utc_now().isoformat()
        return Response(
            {"site": {"id": site.pk, "name": site.name}, "now": now, "sources": sources}
        )
