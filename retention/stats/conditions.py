"""Alerts without a run: a condition that stays open while it holds (retention.stats.alerts).

`sync(kind, message)` opens the alert of `kind` while `message` says the condition holds
(returned, to be delivered), keeps an open one's message current (not delivered again) and
clears it once `message` is empty. The partial unique constraint of `Alert` lets one of two
concurrent checkers open it. Conditions: entities gone from Home Assistant still counted in
the views (retention.entities.gone), a tier's retention policy that drops data before the
step after it takes it: the raw policy leaving little slack for failed nightly runs, any
policy with a duration while its step cannot run (retention.tiers.slack); tiered entities the
raw -> hourly run leaves out, their points kept raw (`sync_left_out`); a tier's retention
policy a real tier run created again after an earlier one had created it (`note_created_again`:
dropped, its rows lost), which no check clears.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from enrich.influx import TimeseriesError
from enrich.wording import counted
from retention.models import Alert, RetentionRun
from retention.schema import DAILY_RP, HOURLY_RP
from retention.stats.sizes import TIER_RUNS, tier_database_created
from retention.tiers.slack import STEPS, Step, check_slack

logger = logging.getLogger("retention.stats.alerts")


def sync(kind: str, message: str, now: datetime) -> list[Alert]:
    """Open, keep current or clear the alert of the condition `kind` ("" = it is over)."""
    opened = Alert.objects.filter(kind=kind, run__isnull=True, cleared__isnull=True)
    if not message:
        opened.update(cleared=now)
        return []
    if opened.exclude(message=message).update(message=message) or opened.exists():
        return []  # the same incident: its message says what holds now
    try:
        with transaction.atomic():  # the partial unique constraint lets one checker win
            alert = Alert.objects.create(kind=kind, message=message)
    except IntegrityError:
        return []
    logger.error("retention alert %s (%s): %s", alert.pk, kind, message)
    return [alert]


def sync_slack(
    now: datetime, only: Step | None = None, warnings: list[str] | None = None
) -> list[Alert]:
    """Open the alert of each tier's step (`retention.tiers.slack.STEPS`; `only` that one)
    while its policy drops data the step does not take in time: the raw policy short of
    RAW_WAIT_DAYS of failed nightly runs, or any policy with a duration while its step cannot
    run (`check_slack`, or the run's `warnings`); clear it once that is over. InfluxDB
    unreachable changes nothing."""
    opened = []
    for step in [only] if only else STEPS:
        said = warnings
        if said is None:
            try:
                said = check_slack(step)
            except TimeseriesError as exc:
                logger.warning("retention policies not checked, their alerts left as is: %s", exc)
                return opened
        opened += sync(step.kind, " ".join(said), now)
    return opened


def note_slack(run: RetentionRun, step: Step) -> None:
    """The warnings of the policy `step` takes its data from (`check_slack`), in the step's
    run or dry run: its `details.warnings` (the admin, GET /retention/runs/<run_id>, its
    summary), logged; its alert opened, kept current or cleared (`sync_slack`)."""
    warnings = check_slack(step)
    if warnings:
        run.details = {**run.details, "warnings": warnings}
        logger.warning("%s run: %s", step.run, " ".join(warnings))
    sync_slack(datetime.now(UTC), step, warnings)


NAMED = 5  # entities the left-out alert names; it counts the rest


def sync_left_out(run: RetentionRun, left_out: dict[str, str], all_read: bool) -> list[Alert]:
    """Open the alert of the tiered entities the raw -> hourly `run` left out (`left_out`:
    entity id -> the run's note of it, naming why and what to do) or keep its message current;
    clear it once a run of the whole range (the nightly one) finishes ok leaving none out, with
    `all_read`: no raw points of done days left to a later run (a run of some days, or one that
    leaves them, does not read every entity's fields)."""
    whole = run.range_start is None and run.range_end is None and all_read
    if not left_out and not (whole and run.status == RetentionRun.Status.OK):
        return []
    notes = [left_out[entity_id] for entity_id in sorted(left_out)]
    more = f" … and {len(notes) - NAMED} more" if len(notes) > NAMED else ""
    message = (
        f"The raw -> hourly run {run.pk} left out "
        f"{counted(len(notes), 'tiered entity', 'tiered entities')}, whose points stay raw: no "
        "hourly row holds them, and a retention policy with a duration on Home Assistant's "
        f"database drops them as any raw point. {'. '.join(notes[:NAMED])}{more}. Details in "
        f"the run's details.waiting (admin, retention run {run.pk})."
    )
    return sync(Alert.Kind.ENTITIES_LEFT_OUT, message if notes else "", datetime.now(UTC))


CREATED_AGAIN = "policies_created_again"  # the run's details: policy -> what was lost
TIER_ROWS = {HOURLY_RP: "hourly", DAILY_RP: "daily"}


def note_created_again(run: RetentionRun, created: list[str]) -> None:
    """The tier policies `created` by the real tier `run` (`ensure_tiers`) that an earlier real
    tier run had created (`tier_database_created`): dropped since, and their rows with them. Each
    is said in the run's `details.policies_created_again`, logged at WARNING, and added to the
    open `tier_policy_lost` alert (opened if none is; the next check delivers it). The stats'
    savings name the run (retention.stats.measure). The alert stays open until it is deleted in
    the admin: nothing brings the rows back."""
    if not created or not tier_database_created():
        return
    database = settings.TIER_DATABASE
    found = (
        RetentionRun.objects.filter(TIER_RUNS, storage_before_bytes__isnull=False)
        .exclude(pk=run.pk)
        .order_by("-started", "-pk")
        .first()
    )
    since = "enrich cannot tell when it was dropped" + (
        f": after the {found.get_operation_display()} run {found.pk}, started "
        f"{found.started:%Y-%m-%d %H:%M} UTC, the last tier run that found it"
        if found
        else ""
    )
    said = {
        name: (
            f"The {run.get_operation_display()} run {run.pk} created the retention policy "
            f"{name!r} in database {database!r} (TIER_DATABASE) again, empty, which a tier run "
            f"had created before: it was dropped (DROP RETENTION POLICY), and the "
            f"{TIER_ROWS.get(name, name)} rows it held were lost with it, or TIER_DATABASE names "
            f"another database since; {since}. From this run on storage_saved_gb counts the lost "
            "rows as saved."
        )
        for name in created
    }
    run.details = {**run.details, CREATED_AGAIN: said}
    logger.warning("%s run: %s", run.get_operation_display(), " ".join(said.values()))
    opened = Alert.objects.filter(kind=Alert.Kind.TIER_POLICY_LOST, run__isnull=True,
                                  cleared__isnull=True).first()  # fmt: skip
    message = " ".join([*([opened.message] if opened else []), *said.values()])
    sync(Alert.Kind.TIER_POLICY_LOST, message, datetime.now(UTC))
