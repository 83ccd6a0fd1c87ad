"""Retention policies that pass the runs' check (`retention.tiers.safety`) but still let
InfluxDB drop data before the next step takes it: warnings, not refusals.

Each tier's policy hands its data to a step: Home Assistant's raw policy to the raw -> hourly
run, `enrich_hourly` to the hourly -> daily run, `enrich_daily` to the archive (`STEPS`). While
that step cannot run — every beat entry of its task disabled in the admin, or, the archive, no
target set — a policy with a duration drops what no later tier holds once it is that old,
however long the duration (`check_slack`). The raw policy is also warned about when it leaves
less than RAW_WAIT_DAYS of failed nightly runs (`check_raw_slack`): the tier policies' hard
minimum allows for their step's failures already. `retention.stats.alerts` keeps one alert open
per step while its warnings hold; each step's runs and dry runs note its warnings in their
record too (`retention.stats.conditions.note_slack`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django_celery_beat.models import PeriodicTask

from enrich.influx import RetentionTier
from enrich.wording import counted
from retention.archive.target import archive_configured
from retention.models import Alert
from retention.tiers.rows import DAILY_RP, HOURLY_RP
from retention.tiers.safety import (
    RAW_WAIT_DAYS,
    infinite,
    lengthen,
    policies_of,
    raw_needed_days,
    raw_policies,
)


@dataclass(frozen=True)
class Step:
    """A tier's retention policy and the step that takes its data on to the next tier."""

    kind: str  # the alert kept open while the step cannot take the data in time
    task: str  # the step's Celery task, as its beat entries name it
    run: str  # the step in the admin's words
    tier: str  # whose data the policy holds
    held: str  # what it drops
    keeper: str  # what holds that data once the step took it
    policy: str | None = None  # None: Home Assistant's default policies

    def policies(self) -> tuple[str, list[RetentionTier]]:
        """The step's database and its policies that have a duration (not INF)."""
        if self.policy is None:
            database = settings.HA_INFLUXDB_DATABASE
            return database, raw_policies(policies_of(database) or {})
        database = settings.TIER_DATABASE
        policy = (policies_of(database) or {}).get(self.policy)
        return database, [policy] if policy is not None and policy.seconds is not None else []

    def blocked(self) -> tuple[str, str]:
        """Why no run of the step takes the data, and what to do instead of an infinite
        policy; ("", "") while it can run."""
        disabled = _disabled_entries(self.task)
        if disabled:
            return (
                f"no {self.run} run is scheduled: the beat entry {disabled} is disabled",
                "Enable the entry again (admin → Periodic tasks), or, to keep it disabled,",
            )
        if self.task == "retention.archive" and not archive_configured():
            return (
                "no archive run can keep them: no archive target is set (neither "
                "S3_ARCHIVE_BUCKET nor ARCHIVE_LOCAL_DIR) and every run refuses",
                "Set S3_ARCHIVE_BUCKET or ARCHIVE_LOCAL_DIR, or, to keep none,",
            )
        return "", ""


RAW = Step(
    Alert.Kind.RAW_POLICY_SHORT,
    "retention.downsample_hourly",
    "raw -> hourly",
    "Home Assistant's raw data",
    "raw points",
    "hourly row",
)
HOURLY = Step(
    Alert.Kind.HOURLY_POLICY_SHORT,
    "retention.downsample_daily",
    "hourly -> daily",
    "the hourly tier",
    "hourly rows",
    "daily row",
    HOURLY_RP,
)
DAILY = Step(
    Alert.Kind.DAILY_POLICY_SHORT,
    "retention.archive",
    "archive",
    "the daily tier",
    "daily rows",
    "archive file",
    DAILY_RP,
)
STEPS = (RAW, HOURLY, DAILY)


def _disabled_entries(task: str) -> str:
    """The beat entries of `task` when each is disabled in the admin ("" while one is
    enabled, or none exists: install_schedules installs it on the next start)."""
    entries = PeriodicTask.objects.filter(task=task)
    if entries.filter(enabled=True).exists():
        return ""
    return ", ".join(repr(name) for name in entries.order_by("name").values_list("name", flat=True))


def check_slack(step: Step) -> list[str]:
    """Warnings for the policies of `step` that drop data the step does not take in time
    ([] = none, INF, or no such database or policy). A step that cannot run (`Step.blocked`)
    takes nothing: any duration is too short then, also one the runs' check would refuse, as
    no run is there to refuse it."""
    database, policies = step.policies()
    why, instead = step.blocked()
    warnings = []
    for policy in policies:
        if why:
            warnings.append(
                f"Retention policy {policy.name!r} of {database!r} ({step.tier}) keeps data "
                f"{policy.duration}, and {why}, so InfluxDB drops {step.held} no {step.keeper} "
                f"holds once they are {policy.duration} old. {instead} set the policy's "
                f"duration to {infinite(policy.name, database)}."
            )
        elif step is RAW:
            warnings.extend(_failed_nights(policy))
    return warnings


def check_raw_slack() -> list[str]:
    """Warnings for Home Assistant's raw policy (`check_slack` of `RAW`): short of
    RAW_WAIT_DAYS of failed nightly runs, or any duration while no raw -> hourly run is
    scheduled. The run goes on."""
    return check_slack(RAW)


def _failed_nights(policy: RetentionTier) -> list[str]:
    """A raw policy that passes `check_retention_policies` but leaves less than RAW_WAIT_DAYS
    of failed nightly runs before InfluxDB drops points no hourly row holds.

    Each nightly run that fails leaves its days a day older when a later run takes them; the
    count takes a point as dropped once it is as old as the policy's duration (InfluxDB drops
    a whole shard group once its newest point is: some stay longer, not to be counted on)."""
    needed = raw_needed_days()
    days = policy.seconds / 86400
    if not needed <= days < needed + RAW_WAIT_DAYS:  # shorter: check_retention_policies refuses it
        return []
    lost = math.floor(days - needed) + 1
    nights = counted(lost, "failed night") + (" in a row" if lost > 1 else "")
    let = "lets" if lost == 1 else "let"
    return [
        f"Retention policy {policy.name!r} of {settings.HA_INFLUXDB_DATABASE!r} (Home "
        f"Assistant's raw data) keeps data {policy.duration}: enough while every "
        f"nightly raw -> hourly run succeeds, but {nights} (InfluxDB down, another "
        f"run holding the tier's lock past its retries) {let} InfluxDB drop raw points "
        f"before an hourly row holds them. {lengthen(policy.name, needed + RAW_WAIT_DAYS)}"
        f" to allow for {RAW_WAIT_DAYS} failed nights."
    ]
