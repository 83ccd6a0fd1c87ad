"""What a provider's last collection of a target did, in words: the reason an answer that finds
nothing stored gives, where "check that the collector runs (GET /api/health/)" sent the reader
to a health check that says nothing of collections."""

from django.conf import settings

from collectors.models import CollectorRun
from config.schedule import SCHEDULE
from enrich.addresses import hidden
from enrich.influx import TimeseriesError, get_timeseries


def last_collection(source: str, provider: str, target: str, noun: str) -> str:
    """E.g. "the last price collection (<UTC time>) failed: <its message>."; `noun` names the
    collection ("price", "carbon")."""
    run = CollectorRun.objects.filter(source=source, provider=provider, target=target).first()
    if run is None:
        return _none_yet(source, provider, target, noun)
    said = f"the last {noun} collection ({run.started.isoformat()}) {run.get_status_display()}"
    if run.status in (CollectorRun.Status.OK, CollectorRun.Status.CACHED):
        if not _database_exists():  # what a run wrote is nowhere the reader looks
            return (f"{said}, but InfluxDB does not have the database INFLUXDB_DATABASE names: "
                    "check INFLUXDB_DATABASE (the web server's and the workers' alike), and "
                    "whether the database was dropped.")  # fmt: skip
        return (f"{said}: check that the {noun} collector still runs (GET /api/processes/, "
                "the collector runs in the admin).")  # fmt: skip
    return f"{said}: {hidden(run.message).rstrip('.')}." if run.message else f"{said}."


def _none_yet(source: str, provider: str, target: str, noun: str) -> str:
    """No collection of this target yet: the beat and a worker may not run, or they collect
    another target of the source (a provider or region changed in the admin since)."""
    other = CollectorRun.objects.filter(source=source).first()
    if other is None:
        return (f"no {noun} collection has run yet: check that the beat and a worker run "
                "(GET /api/processes/).")  # fmt: skip
    entry = next(e.name for e in SCHEDULE if e.task == f"collectors.dispatch_{source}")
    return (f"no {noun} collection of {provider} {target} has run yet (the last, "
            f"{other.started.isoformat()}, was of {other.provider} {other.target}): the beat's "
            f'next "{entry}" collects it, or "Run selected tasks" on it in the admin\'s '
            "Periodic tasks at once.")  # fmt: skip


def _database_exists() -> bool:
    """Whether InfluxDB has enrich's database (INFLUXDB_DATABASE); True when it cannot be asked
    (the last collection is then said as it was)."""
    try:
        return settings.INFLUXDB_DATABASE in get_timeseries().databases()
    except TimeseriesError:
        return True
