"""Which collector runs the system still works from, so the admin keeps them
(collectors.admin); every other run is history only and may be deleted.

Per target (source, provider, target), three runs are read:

- its latest successful run ("ok"): after an outage the next fetch asks back to it, so the
  gap is filled (collectors.pipeline._window, for providers that keep history). Without it the
  next fetch would ask back to an older success, or, with none left, only its usual interval:
  the outage's gap would never be filled.
- its latest fetch ("ok" or "no_data"): a budget's lowered cadence counts the next fetch from
  it (collectors.cadence.too_soon); without it the next run would call at once.
- its latest run, whatever its status: /api/enrichment/current and the status page show it as
  the target's last run, a failure with its error (collectors.api).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Max, Q, QuerySet

from collectors.models import CollectorRun

FETCHED = (CollectorRun.Status.OK, CollectorRun.Status.NO_DATA)
Key = tuple[str, str, str]


def _key(run: CollectorRun) -> Key:
    return (run.source, run.provider, run.target)


def _grouped(runs: QuerySet) -> QuerySet:
    """(source, provider, target, run, ok, fetch): when each target's latest run, success and
    fetch of `runs` started, one row a target."""
    return runs.values_list("source", "provider", "target").annotate(
        run=Max("started"),
        ok=Max("started", filter=Q(status=CollectorRun.Status.OK)),
        fetch=Max("started", filter=Q(status__in=FETCHED)),
    )


def latest(runs: Iterable[CollectorRun]) -> dict[Key, dict[str, datetime | None]]:
    """{target: {"run", "ok", "fetch": when its latest such run started}} for the targets of
    `runs`, in one query."""
    keys = {_key(run) for run in runs}
    if not keys:
        return {}
    sources, providers, targets = (set(part) for part in zip(*keys, strict=True))
    groups = _grouped(
        CollectorRun.objects.filter(source__in=sources, provider__in=providers, target__in=targets)
    )
    return {
        (source, provider, target): {"run": run, "ok": ok, "fetch": fetch}
        for source, provider, target, run, ok, fetch in groups
        if (source, provider, target) in keys
    }


def delete_before(moment: datetime) -> int:
    """Delete the runs started before `moment` but each target's latest run, success and fetch
    (the module's three); the number deleted."""
    deleted = 0
    # A statement a target: one for all of them, an OR of each target's, grew past what SQLite
    # parses (1000 deep) with as many targets.
    for source, provider, target, *times in _grouped(CollectorRun.objects.all()):
        old = CollectorRun.objects.filter(
            source=source, provider=provider, target=target, started__lt=moment
        )
        deleted += old.exclude(started__in=[time for time in times if time is not None]).delete()[0]
    return deleted


def _backfills(run: CollectorRun) -> bool:
    # Imported here: the registry imports every adapter, which every process starting Django
    # (the admin's module is loaded by all) would pay for.
    from collectors.registry import UnknownProvider, adapter_for

    try:
        return adapter_for(run.source, run.provider).history is not None
    except UnknownProvider:
        return False


def kept_because(run: CollectorRun, latest: dict[Key, dict[str, datetime | None]]) -> str:
    """Why `run` cannot be deleted ("" when it may be); `latest` as `latest` gives it."""
    last = latest.get(_key(run), {})
    where = run.feed
    if run.status == CollectorRun.Status.OK and run.started == last.get("ok") and _backfills(run):
        return (f"it is the last successful fetch of {where}: after an outage the next fetch "
                "asks back to it, so the gap is filled. Without it the next fetch would ask back "
                "to an older success, or, with none, only its usual interval.")  # fmt: skip
    if run.status in FETCHED and run.started == last.get("fetch"):
        return (f"it is the last fetch of {where}: when its budget lowers the cadence "
                "(options.budget), the next call waits that long after it; without it the next "
                "run would call at once.")  # fmt: skip
    if run.started == last.get("run"):
        return (f"it is the last run of {where}: /api/enrichment/current and the status page "
                "show it (its status and error) as the last run.")  # fmt: skip
    return ""
