"""Diagnostic entities: storage by tier and the last retention run (as GET /retention/stats).

The sizes are measured at every publication; they carry no `measured_at`, which would only
repeat the publication time and make Home Assistant record every publication (any attribute
change is a state_changed event). HA's `last_changed` says when a size last changed."""

from collectors.ha_mqtt.discovery import EntitySpec, EntityState
from enrich.api.influx_down import unreadable
from enrich.influx import TimeseriesError
from retention.models import RetentionRun
from retention.stats.history import run_summary
from retention.stats.measure import archive_bytes, measure_tiers

TIERS = ("raw", "hourly", "daily", "enrichment")
# Dry runs and skipped runs change nothing: the last run is the last that could have.
NOT_SHOWN = (RetentionRun.Status.DRY_RUN, RetentionRun.Status.SKIPPED)
# The enum's options: exactly the statuses it publishes (Home Assistant logs a state not among
# them, and one that never comes would only mislead an automation written for it).
RUN_STATUSES = tuple(s for s in RetentionRun.Status.values if s not in NOT_SHOWN)


def _size_spec(tier: str) -> EntitySpec:
    return EntitySpec(
        f"storage_{tier}",
        f"Storage {tier}",
        device_class="data_size",
        state_class="measurement",
        unit="B",
        diagnostic=True,
    )


LAST_RUN = EntitySpec(
    "last_retention_run", "Last retention run", device_class="timestamp", diagnostic=True
)
LAST_RUN_STATUS = EntitySpec(
    "last_retention_run_status",
    "Last retention run status",
    device_class="enum",
    options=RUN_STATUSES,
    diagnostic=True,
)


def storage_states() -> list[EntityState]:
    """Computed once per publish and shared by every site's device."""
    states = []
    try:
        tiers = measure_tiers()
        problem = ""
    except TimeseriesError as exc:
        tiers, problem = {}, unreadable("InfluxDB's sizes", exc)
    for tier in TIERS:
        size = tiers.get(tier)
        if size is None or size.bytes is None:  # not measured (e.g. no such database)
            reason = size.reason if size else problem
            states.append(EntityState(_size_spec(tier), None, {"reason": reason}))
            continue
        attributes = {
            "database": size.database,
            "retention_policies": list(size.retention_policies),
        }
        states.append(EntityState(_size_spec(tier), str(size.bytes), attributes))
    archived, objects = archive_bytes()
    states.append(
        EntityState(
            _size_spec("archive"),
            str(archived),
            {"objects": objects},
        )
    )
    run = RetentionRun.objects.exclude(status__in=NOT_SHOWN).order_by("-started", "-pk").first()
    if run is None:
        reason = {"reason": "no retention run has been recorded yet"}
        states += [EntityState(LAST_RUN, None, reason), EntityState(LAST_RUN_STATUS, None, reason)]
    else:
        summary = run_summary(run)
        when = (run.finished or run.started).isoformat()
        states += [
            EntityState(LAST_RUN, when, summary),
            EntityState(LAST_RUN_STATUS, run.status, summary),
        ]
    return states
