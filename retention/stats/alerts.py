"""Alerts when a retention operation fails or runs too long, at most once per incident.

An incident is (run, kind): the run failed, or it ran (or is still running) longer than
ALERT_MAX_DURATION_SECONDS. `check_alerts()` (every 5 minutes) first closes the runs left
"running" by a process that died (retention.liveness), so those are failures, not runs that
hang; then it finds new incidents among the recorded runs, records one `Alert` each, logs it
at ERROR and POSTs it to ALERT_WEBHOOK_URL.

Once per incident, also with concurrent checkers:
- recording: the unique (run, kind) constraint lets one insert win; the loser's
  IntegrityError means "already recorded" and it does nothing more;
- delivery: an alert is sent while its checker holds the alert's Redis lock (renewed as long
  as the receiver takes to answer; a second checker skips the alert), and `sent` is saved once
  the receiver answered. No database transaction is open while the POST waits: on SQLite a
  transaction holds the database's one write lock, so every other write (a collector's run
  record, an admin save) would wait for the receiver. A webhook that fails leaves `sent` empty
  and the error in `delivery_error`; the next check retries the delivery of the same alert (no
  new alert), for up to DELIVERY_WINDOW after it was raised. Only a process killed between the
  receiver's answer and the save of `sent` sends one twice (the next check sends it again).

An alert without a run is a condition (retention.stats.conditions): entities gone from Home
Assistant still counted in the views (retention.entities.gone), Home Assistant's database
receiving no point for HA_SILENT_HOURS, missing, or holding no point of Home Assistant's
(retention.entities.silent), a tier's retention policy that
drops data before its next step takes it (`conditions.sync_slack`). The check opens one
(delivered as above), keeps its message current, and sets `cleared` once it is over; the
raw -> hourly runs do so for the tiered entities they leave out (`conditions.sync_left_out`),
and a tier run opens one for a tier policy it created again (`conditions.note_created_again`),
delivered by the next check.

`notify_run_finished(run)` does the same for one run right after it was recorded; modules
may call it, the periodic check catches whatever they do not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, When

from enrich.addresses import hidden, hidden_host
from enrich.http import HttpError, request
from enrich.redis.lock import RunLock
from enrich.wording import lasting, shortened
from retention import liveness
from retention.entities import gone, silent
from retention.models import Alert, RetentionRun
from retention.queued import waiting
from retention.stats import conditions, incidents
from retention.stats.history import iso

logger = logging.getLogger(__name__)

WEBHOOK = "alert_webhook"  # the name enrich.http logs the calls under
# What a refused delivery (4xx, a bad URL) tells a person to check: not a provider's settings.
WEBHOOK_CHECK = (
    "ALERT_WEBHOOK_URL: the receiver's full address with its webhook id (Home Assistant: "
    "http://homeassistant.local:8123/api/webhook/<id>, the id of an automation's webhook "
    "trigger), and that the receiver accepts a JSON POST there"
)
DELIVERY_WINDOW = timedelta(hours=24)  # an alert not delivered by then is given up on
# What an alert without a run names as its operation: the task whose results raise it.
# A tier policy's: the step that takes its data on (retention.tiers.slack).
CONDITION_OPERATION = {
    Alert.Kind.GONE_FROM_HA: "discover_entities",
    Alert.Kind.RAW_POLICY_SHORT: RetentionRun.Operation.DOWNSAMPLE_HOURLY,
    Alert.Kind.HOURLY_POLICY_SHORT: RetentionRun.Operation.DOWNSAMPLE_DAILY,
    Alert.Kind.DAILY_POLICY_SHORT: RetentionRun.Operation.ARCHIVE,
    Alert.Kind.ENTITIES_LEFT_OUT: RetentionRun.Operation.DOWNSAMPLE_HOURLY,
    Alert.Kind.TIER_POLICY_LOST: RetentionRun.Operation.DOWNSAMPLE_HOURLY,
    Alert.Kind.HA_SILENT: "check_alerts",
}
CONDITION_OPERATION_LABEL = {
    Alert.Kind.GONE_FROM_HA: "entity discovery",
    Alert.Kind.RAW_POLICY_SHORT: RetentionRun.Operation.DOWNSAMPLE_HOURLY.label,
    Alert.Kind.HOURLY_POLICY_SHORT: RetentionRun.Operation.DOWNSAMPLE_DAILY.label,
    Alert.Kind.DAILY_POLICY_SHORT: RetentionRun.Operation.ARCHIVE.label,
    Alert.Kind.ENTITIES_LEFT_OUT: RetentionRun.Operation.DOWNSAMPLE_HOURLY.label,
    Alert.Kind.TIER_POLICY_LOST: RetentionRun.Operation.DOWNSAMPLE_HOURLY.label,
    Alert.Kind.HA_SILENT: "alert check",
}
# Finished runs older than this are history, not news (e.g. on the first check after an
# upgrade); a run still running is checked however long ago it started.
DETECTION_WINDOW = timedelta(days=7)
ERRORS_EXCERPT = 800  # characters of a run's errors put into the message, at most


@dataclass
class CheckResult:
    closed: list[int] = field(default_factory=list)  # ids of dead runs closed (liveness)
    raised: list[int] = field(default_factory=list)  # ids of alerts raised by this check
    delivered: list[int] = field(default_factory=list)
    delivery_failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {
            "closed": self.closed,
            "raised": self.raised,
            "delivered": self.delivered,
            "delivery_failed": self.delivery_failed,
        }


def max_duration() -> timedelta:
    return timedelta(seconds=settings.ALERT_MAX_DURATION_SECONDS)


def _age(run: RetentionRun, now: datetime) -> float:
    """Seconds the run took, or has been running so far."""
    if run.duration_seconds is not None:
        return run.duration_seconds
    return ((run.finished or now) - run.started).total_seconds()


def _started(run: RetentionRun) -> str:
    return run.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _named(run: RetentionRun, began: str = "started") -> str:
    """How a message names the run: its operation in the admin's words ("raw -> hourly"; the
    id stays in the webhook's `operation`), its id, when it began."""
    return (
        f"Retention operation {run.get_operation_display()} (run {run.pk}, {began} {_started(run)})"
    )


def failed_message(run: RetentionRun, now: datetime) -> str:
    # A long error is shortened in its longest stretch (a library's connection error) first:
    # the sentences after it say what was kept and not done (the views not refreshed) and when.
    errors = shortened(run.errors or "no error text was recorded", ERRORS_EXCERPT)
    return (
        f"{_named(run)} failed after {lasting(_age(run, now))}: {errors} Retention steps are "
        f"idempotent: fix the cause and rerun it. Details in the admin (retention run {run.pk}) and the worker log."
    )


def overrun_message(run: RetentionRun, now: datetime) -> str:
    limit = settings.ALERT_MAX_DURATION_SECONDS
    took = lasting(_age(run, now))
    retries = (run.details or {}).get("retries") if waiting(run) else None
    if retries:  # a worker ran it; its task tries it again when the retry is due
        last = retries[-1]
        return (
            f"{_named(run)} waits for its retry (retry {last.get('retry')}, due {last.get('at')}) "
            f"after {last.get('error')}, and has taken {took} in all, longer than the limit of "
            f"{lasting(limit)} (ALERT_MAX_DURATION_SECONDS={limit}). It fails once its retries "
            "are spent; check what it waits for (InfluxDB, S3, or the run holding its lock)."
        )
    if waiting(run):
        return (
            f"{_named(run, 'queued')} has waited {took} in the queue, longer than the limit "
            f"of {lasting(limit)} (ALERT_MAX_DURATION_SECONDS={limit}), and no worker has started it. Check in "
            "Flower that a worker consumes the retention queue and what it is busy with."
        )
    # The status in a sentence of its own: a label may hold parentheses ("skipped (another run
    # holds the lock)"), which read nested inside the message's.
    running = run.status == RetentionRun.Status.RUNNING
    what = f"has been running for {took}" if running else f"ran for {took}"
    # A run a worker took names its task or who queued it; else a command (manage.py) ran it.
    worker = bool({"task_id", "queued_by"} & set(run.details or {}))
    if running:
        who = "the retention worker in Flower" if worker else "the command running it"
        who += "" if worker else " (manage.py, not the worker)"
        check = f" Check {who}: it may be stuck on InfluxDB or S3, or the data grew"
    else:  # not stuck: slow
        where = "" if worker else " (a command ran it, not the worker)"
        status = run.get_status_display()
        check = (
            f" It finished with status: {status}. Check why it was slow{where}: InfluxDB or S3 "
            "answering slowly, or the data grew"
        )
    return (
        f"{_named(run)} {what}, longer than the limit of {lasting(limit)} "
        f"(ALERT_MAX_DURATION_SECONDS={limit}).{check}; raise the limit if this is expected."
    )


def raise_alert(run: RetentionRun, kind: str, message: str) -> Alert | None:
    """Record the incident and log it at ERROR; None when it was recorded already (by this
    or a concurrent checker): the unique (run, kind) constraint decides."""
    try:
        with transaction.atomic():  # a savepoint: the failed insert leaves no broken txn
            alert = Alert.objects.create(run=run, kind=kind, message=message)
    except IntegrityError:
        return None
    logger.error("retention alert %s (%s): %s", alert.pk, kind, message)
    return alert


def _incidents(runs, now: datetime) -> list[tuple[RetentionRun, str, str]]:
    """(run, kind, message) of the runs' incidents that have no alert yet."""
    limit = max_duration()
    runs = runs.filter(
        Q(started__gte=now - DETECTION_WINDOW) | Q(status=RetentionRun.Status.RUNNING)
    )
    found = []
    failed = runs.filter(status=RetentionRun.Status.FAILED).exclude(alerts__kind=Alert.Kind.FAILED)
    for run in failed.order_by("started", "pk"):
        found.append((run, Alert.Kind.FAILED, failed_message(run, now)))
    too_long = Q(status=RetentionRun.Status.RUNNING, started__lt=now - limit) | Q(
        duration_seconds__gt=limit.total_seconds()
    )
    overrun = runs.filter(too_long).exclude(alerts__kind=Alert.Kind.OVERRUN)
    for run in overrun.order_by("started", "pk"):
        found.append((run, Alert.Kind.OVERRUN, overrun_message(run, now)))
    return found


def detect(now: datetime | None = None, runs=None) -> list[Alert]:
    """Raise the alerts of new incidents among `runs` (default: every recorded run)."""
    now = now or datetime.now(UTC)
    queryset = RetentionRun.objects.all() if runs is None else runs
    raised = []
    for run, kind, message in _incidents(queryset, now):
        alert = raise_alert(run, kind, message)
        if alert is not None:
            raised.append(alert)
    return raised


def payload(alert: Alert, now: datetime) -> dict[str, Any]:
    """The webhook's JSON body (Home Assistant: `trigger.json.<key>`)."""
    run = alert.run
    return {
        "source": "enrich",
        "alert_id": alert.pk,
        "kind": alert.kind,
        "operation": operation_of(alert),
        "status": run.status if run else None,
        "message": alert.message,
        "run_id": alert.run_id,
        "started": iso(run.started) if run else None,
        "duration_seconds": round(_age(run, now), 3) if run else None,
        "alert_created": iso(alert.created),
    }


def operation_of(alert: Alert) -> str:
    return alert.run.operation if alert.run else CONDITION_OPERATION.get(alert.kind, "")


def operation_label(alert: Alert) -> str:
    """The operation in words, as the admin's filter says it ("raw -> hourly")."""
    if alert.run:
        return alert.run.get_operation_display()
    return CONDITION_OPERATION_LABEL.get(alert.kind, "")


def _deliver_one(alert_id: int, url: str, now: datetime) -> bool | None:
    """POST one alert; True sent, False failed, None skipped (another checker has it).

    The guard is the alert's Redis lock (on every database), kept while the receiver takes its
    time: a checker that finds it held skips the alert, one that takes it after the holder
    finds `sent` saved."""
    lock = RunLock(f"alert-delivery:{alert_id}", owner="alert check", ttl_seconds=120)
    if not lock.acquire():
        return None
    with lock.kept_alive():
        return _deliver_locked(alert_id, url, now)


def _deliver_locked(alert_id: int, url: str, now: datetime) -> bool | None:
    alert = Alert.objects.select_related("run").filter(pk=alert_id, sent__isnull=True).first()
    if alert is None:
        return None  # sent meanwhile by the checker that held the lock before
    # No transaction is open while the receiver answers (see the module docstring), and no
    # inline retries: the next check retries.
    saved = Alert.objects.filter(pk=alert.pk)  # an alert deleted meanwhile saves nothing
    try:
        request(WEBHOOK, "POST", url, json=payload(alert, now), max_retries=0, check=WEBHOOK_CHECK)
    except HttpError as exc:
        saved.filter(sent__isnull=True).update(delivery_error=f"{now:%Y-%m-%d %H:%M:%S} UTC: {exc}")
        logger.error(
            "retention alert %s could not be delivered to ALERT_WEBHOOK_URL (retried "
            "at the next check): %s",
            alert.pk,
            exc,
        )
        return False
    saved.update(sent=datetime.now(UTC), delivery_error="")
    logger.info("retention alert %s delivered to ALERT_WEBHOOK_URL", alert.pk)
    return True


def deliver_pending(
    now: datetime | None = None, ids: list[int] | None = None
) -> tuple[list[int], list[int]]:
    """Send every alert not sent yet (raised within DELIVERY_WINDOW, or only `ids`).
    Returns (delivered ids, failed ids). Without ALERT_WEBHOOK_URL nothing is sent."""
    now = now or datetime.now(UTC)
    url = settings.ALERT_WEBHOOK_URL
    if not url:
        return [], []
    pending = Alert.objects.filter(sent__isnull=True, created__gte=now - DELIVERY_WINDOW)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    delivered, failed = [], []
    for alert_id in pending.order_by("created", "pk").values_list("pk", flat=True):
        outcome = _deliver_one(alert_id, url, now)
        if outcome is True:
            delivered.append(alert_id)
        elif outcome is False:
            failed.append(alert_id)
    return delivered, failed


def check_alerts(now: datetime | None = None) -> CheckResult:
    """The periodic check: close the runs whose process died (retention.liveness: alerted as
    failed, not as runs that hang), open or clear the conditions' alerts (entities gone from
    Home Assistant, Home Assistant's database missing or receiving no point, a tier's
    retention policy too short for its next step), raise alerts for new incidents, deliver
    what is not sent yet."""
    now = now or datetime.now(UTC)
    result = CheckResult(closed=[run.pk for run in liveness.close_dead()])
    held = gone.sync_alert(now) + silent.sync_alert(now) + conditions.sync_slack(now)
    result.raised = [a.pk for a in detect(now) + held]
    result.delivered, result.delivery_failed = deliver_pending(now)
    return result


def notify_run_finished(run: RetentionRun) -> list[Alert]:
    """Call right after recording a run: alerts for its incidents now, not at the next check.

    Never raises (alerting must not turn a recorded run into a failed task); problems are
    logged and the periodic check tries again."""
    try:
        now = datetime.now(UTC)
        raised = detect(now, RetentionRun.objects.filter(pk=run.pk))
        if raised:
            deliver_pending(now, ids=[a.pk for a in raised])
        return raised
    except Exception:
        logger.exception(
            "alert check for retention run %s failed; the periodic check will retry", run.pk
        )
        return []


# --- As the API shows them -------------------------------------------------------------
def with_state():
    """Alerts with `over_at`: when their incident was over, None while it is not
    (`retention.stats.incidents`); an alert without a run is over when `cleared`."""
    over = incidents.over_at("run__", When(run__isnull=True, then=F("cleared")))
    return (
        Alert.objects.select_related("run")
        .annotate(**incidents.annotations("run__"))
        .annotate(over_at=over)
    )


def open_alerts():
    """Alerts whose incident is not over (`with_state`), newest first."""
    return with_state().filter(over_at__isnull=True).order_by("-created", "-pk")


def alert_summary(alert: Alert) -> dict[str, Any]:
    """An alert as the API shows it, its message without the addresses of enrich's services;
    `cleared` is when its incident was over (`with_state`: for a run's alert, when the run
    that closed it finished), null while it is open."""
    return {
        "alert_id": alert.pk,
        "kind": alert.kind,
        "kind_label": alert.get_kind_display(),  # the words of the admin and status page
        "operation_type": operation_of(alert),
        "operation_label": operation_label(alert),
        "run_id": alert.run_id,
        "run_status": alert.run.status if alert.run else None,
        "message": hidden(alert.message),  # the webhook is sent it whole (enrich.addresses)
        "created": iso(alert.created),
        "sent": iso(alert.sent),
        # Why it failed (a status, a refused connection, a timeout), not where it went: the
        # receiver's URL may hold a secret and its host is configuration; the admin shows it.
        "delivery_error": hidden_host(alert.delivery_error, settings.ALERT_WEBHOOK_URL) or None,
        "cleared": iso(getattr(alert, "over_at", alert.cleared)),
    }
