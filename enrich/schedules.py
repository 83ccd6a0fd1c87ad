"""Install config.schedule's table into django-celery-beat, without overwriting admin edits.

Each row enrich installs carries, in its description, a fingerprint of what was installed
(task, queue, schedule, expiry, enabled). On the next start a row whose fields still match
its fingerprint was not touched by anyone, so it follows the table: a cadence changed in
config/schedule.py reaches existing installs. A row whose fields differ from its fingerprint
was edited in the admin and is kept as edited. A row without a fingerprint was installed by a
release before fingerprints existed (up to 2026-12-03): one still exactly as that release
installed it (UNMARKED_INSTALLS) was not edited either and follows the table; any other is kept,
since nobody can tell what was changed there.

A renamed entry (`Entry.formerly`) takes over its row of an old name, admin edits and last run
included: a row installed beside it would run the task twice (and an entry disabled in the
admin would run again). An old-name row beside one of the new name (an earlier release started
again after the upgrade) is deleted.
"""

import json
from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.schedule import SCHEDULE, Entry

MARK = "Installed from config/schedule.py as: "
# The fingerprint's wording up to 2026-12-06, which an edited entry's page showed as if it were
# unchanged: read as MARK, and reworded by the next start.
FORMER_MARK = "Installed from config/schedule.py; unchanged since: "
ENTRY_NAMES = frozenset(entry.name for entry in SCHEDULE)

# What install_schedules wrote, per entry, before it kept fingerprints (every release up to
# 2026-12-03 02:26 UTC installed each entry in one state, with an empty description). Without
# this, every row of such an install counted as edited and no cadence change ever reached it.
# fmt: off
UNMARKED_INSTALLS: dict[str, str] = {
    "Carbon intensity":                 "collectors.dispatch_carbon_intensity on collectors, every 900s, expires 840s, enabled",
    "Electricity prices":               "collectors.dispatch_electricity_pricing on collectors, every 3600s, expires 3300s, enabled",
    "Current electricity price":        "collectors.write_current_prices on collectors, every 60s, expires 50s, enabled",
    "Air quality":                      "collectors.dispatch_air_quality on collectors, every 3600s, expires 3300s, enabled",
    "Occupancy prediction":             "collectors.dispatch_occupancy on collectors, every 900s, expires 840s, enabled",
    "Smart meter":                      "collectors.dispatch_smart_meter on collectors, every 300s, expires 270s, enabled",
    "Refresh materialized views":       "retention.refresh_views on retention, cron 0 */4 * * *, expires 10800s, enabled",
    "Record storage metrics":           "retention.record_metrics on retention, cron 15 4 * * *, expires 3600s, enabled",
    "Check retention alerts":           "retention.check_alerts on default, every 300s, expires 240s, enabled",
    # installed as "Archive to S3" (Entry.formerly): looked up once renamed
    "Archive daily aggregates":         "retention.archive on retention, cron 0 3 * * 0, expires 21600s, enabled",
    "Discover Home Assistant entities": "retention.discover_entities on retention, cron 30 1 * * *, expires 3600s, enabled",
    "Downsample raw to hourly":         "retention.downsample_hourly on retention, cron 0 2 * * *, expires 3600s, enabled",
    "Downsample hourly to daily":       "retention.downsample_daily on retention, cron 30 2 * * *, expires 3600s, enabled",
    "Home Assistant MQTT states":       "mqtt.publish_states on default, cron * * * * *, expires 50s, enabled",
    "Service health check":             "enrich.check_services on default, every 300s, expires 240s, enabled",
}
# fmt: on


@dataclass(frozen=True)
class Change:
    name: str
    # "installed", "updated", "kept" (edited in the admin), "unchanged"; besides one of those,
    # "renamed" (from a former name) or "deleted" (an old-name row beside the renamed one)
    action: str
    detail: str = ""


def _one(model, **fields):
    """The first row of `model` with `fields`, made when there is none: the admin lets an
    operator add a schedule alike to one installed (get_or_create would raise on two)."""
    return model.objects.filter(**fields).order_by("pk").first() or model.objects.create(**fields)


def _schedule_kwargs(entry: Entry) -> dict:
    if entry.every_seconds is not None:
        interval = _one(
            IntervalSchedule, every=entry.every_seconds, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None}
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    crontab = _one(
        CrontabSchedule,
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return {"crontab": crontab, "interval": None}


def _entry_state(entry: Entry) -> str:
    schedule = f"every {entry.every_seconds}s" if entry.every_seconds else f"cron {entry.crontab}"
    return f"{entry.task} on {entry.queue}, {schedule}, expires {entry.expires}s, enabled"


def _row_state(task: PeriodicTask) -> str:
    # As _entry_state writes an entry (seconds, UTC), else with its unit or zone: never equal to
    # what was installed, and what install_schedules says it kept.
    if (i := task.interval) is not None:
        schedule = f"every {i.every}s" if i.period == IntervalSchedule.SECONDS else str(i)
    elif (c := task.crontab) is not None:
        zone = "" if str(c.timezone) == "UTC" else f" {c.timezone}"
        schedule = (
            f"cron {c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}{zone}"
        )
    else:
        schedule = "another schedule"  # a clocked or solar one
    enabled = "enabled" if task.enabled else "disabled"
    return f"{task.task} on {task.queue}, {schedule}, expires {task.expire_seconds}s, {enabled}"


def _installed_state(task: PeriodicTask) -> str | None:
    """The state enrich installed this row in, or None when it cannot tell (made by hand, or
    an unmarked row no longer as its release installed it: edited)."""
    for mark in (MARK, FORMER_MARK):
        if task.description.startswith(mark):
            return task.description[len(mark) :]
    if task.description == "" and UNMARKED_INSTALLS.get(task.name) == _row_state(task):
        return UNMARKED_INSTALLS[task.name]
    return None


def _not_taken(installed: str | None, entry: Entry) -> str:
    """What config/schedule.py changed in `entry` since its row, kept as edited, was installed:
    the operator may take it over by hand ("" when nothing, or unknown)."""
    table = _entry_state(entry)
    if installed is None or installed == table:
        return ""
    parts = zip(installed.split(", "), table.split(", "), strict=False)
    changed = ", ".join(f"{was} -> {now}" for was, now in parts if was != now)
    return (
        f"; config/schedule.py changed since it was installed ({changed}), which it does not take"
    )


def _install(entry: Entry, task: PeriodicTask | None = None) -> PeriodicTask:
    task = task or PeriodicTask(name=entry.name)
    task.task, task.queue, task.enabled = entry.task, entry.queue, True
    task.expires, task.expire_seconds, task.args = None, entry.expires, json.dumps([])
    for field, value in _schedule_kwargs(entry).items():
        setattr(task, field, value)
    task.description = MARK + _entry_state(entry)
    task.save()
    return task


def _take_over_former(entry: Entry) -> list[Change]:
    """Rename the entry's row of a former name to its name, or delete one when a row of its name
    exists already: one row runs the task, never two."""
    changes = []
    for task in PeriodicTask.objects.filter(name__in=entry.formerly).order_by("name"):
        old = task.name
        if PeriodicTask.objects.filter(name=entry.name).exists():
            task.delete()
            changes.append(Change(entry.name, "deleted", f"the row of its former name {old}"))
        else:
            task.name = entry.name
            task.save()
            changes.append(Change(entry.name, "renamed", f"from {old}"))
    return changes


@transaction.atomic
def install_schedules(entries: tuple[Entry, ...] = SCHEDULE) -> list[Change]:
    """Install missing rows, bring rows nobody edited up to the table, keep edited rows; returns
    what happened to each entry (and each rename: `_take_over_former`)."""
    changes = []
    for entry in entries:
        changes.extend(_take_over_former(entry))
        task = PeriodicTask.objects.filter(name=entry.name).first()
        if task is None:
            _install(entry)
            changes.append(Change(entry.name, "installed", _entry_state(entry)))
            continue
        if task.description.startswith(FORMER_MARK):  # its edits kept: only the wording
            task.description = MARK + task.description[len(FORMER_MARK) :]
            PeriodicTask.objects.filter(pk=task.pk).update(description=task.description)
        installed = _installed_state(task)
        now = _row_state(task)
        if installed is None or now != installed:
            detail = f"edited in the admin: {now}{_not_taken(installed, entry)}"
            changes.append(Change(entry.name, "kept", detail))
        elif installed == _entry_state(entry):
            if not task.description.startswith(MARK):
                _install(entry, task)  # the same state, now with its fingerprint
            changes.append(Change(entry.name, "unchanged"))
        else:
            _install(entry, task)
            changes.append(Change(entry.name, "updated", f"{installed} -> {_entry_state(entry)}"))
    return changes


def follows_table(task: PeriodicTask) -> bool | None:
    """Whether the next start brings this row up to config/schedule.py (nobody changed it
    since it was installed); False: it is kept as changed; None: enrich installed no such row."""
    if task.name not in ENTRY_NAMES:
        return None
    installed = _installed_state(task)
    return installed is not None and _row_state(task) == installed
