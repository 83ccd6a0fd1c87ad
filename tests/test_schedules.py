"""The beat table in code is installed and followed; admin edits survive later starts."""

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from celery.schedules import crontab
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import QUEUES, app
from config.schedule import SCHEDULE
from enrich.schedules import install_schedules

pytestmark = pytest.mark.django_db


def test_every_entry_names_a_registered_task_and_a_declared_queue():
    app.loader.import_default_modules()
    for entry in SCHEDULE:
        assert entry.task in app.tasks, entry.task
        assert entry.queue in QUEUES
        assert (entry.every_seconds is None) != (entry.crontab is None)
        interval = entry.every_seconds
        if entry.crontab and re.fullmatch(r"\*(/\d+)? \* \* \* \*", entry.crontab):
            interval = int(entry.crontab.split()[0][2:] or 1) * 60  # every (N) minute(s)
        if interval:
            assert 0 < entry.expires < interval, "expires must be just under the interval"


def test_the_queue_each_entry_names_is_where_celery_routes_its_task():
    """Queues are declared once (config/queues.py); the beat table reads them from there."""
    app.loader.import_default_modules()
    router = app.amqp.router
    for entry in SCHEDULE:
        routed = router.route({}, entry.task)["queue"].name
        assert entry.queue == routed, entry.task
    assert router.route({}, "retention.check_alerts")["queue"].name == "default"
    assert router.route({}, "retention.archive")["queue"].name == "retention"


def test_entry_names_and_tasks_are_unique():
    names = [e.name for e in SCHEDULE]
    tasks = [e.task for e in SCHEDULE]
    assert len(names) == len(set(names)), names
    assert len(tasks) == len(set(tasks)), tasks


def test_install_creates_entries_then_keeps_admin_edits(capsys):
    call_command("install_schedules")
    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert set(tasks) >= {e.name for e in SCHEDULE}
    for entry in SCHEDULE:
        task = tasks[entry.name]
        assert (task.task, task.queue, task.expire_seconds) == (
            entry.task,
            entry.queue,
            entry.expires,
        )
        if entry.every_seconds:
            assert (task.interval.every, task.crontab) == (entry.every_seconds, None)
        else:
            c = task.crontab
            cron = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
            assert (cron, str(c.timezone), task.interval) == (entry.crontab, "UTC", None)
    first = SCHEDULE[0]
    task = tasks[first.name]

    task.enabled = False
    task.queue = "retention"
    task.save()
    call_command("install_schedules")
    task.refresh_from_db()
    assert task.enabled is False and task.queue == "retention"
    assert PeriodicTask.objects.filter(name=first.name).count() == 1
    out = capsys.readouterr().out
    assert f"0 installed, 0 updated, {len(SCHEDULE) - 1} unchanged, 1 kept as edited" in out
    assert f"Schedule kept: {first.name} (edited in the admin: " in out


def test_a_changed_cadence_reaches_rows_nobody_edited(capsys):
    """A cadence changed in config/schedule.py reaches an existing install; the row edited in
    the admin keeps its edit, and the command says what it changed."""
    call_command("install_schedules")
    carbon, prices = SCHEDULE[0], SCHEDULE[1]
    edited = PeriodicTask.objects.get(name=prices.name)
    edited.queue = "retention"
    edited.save()
    slower = replace(carbon, crontab=None, every_seconds=1800, expires=1700)
    moved = replace(prices, every_seconds=7200, expires=7000)
    changes = {c.name: c for c in install_schedules((slower, moved, *SCHEDULE[2:]))}

    assert changes[carbon.name].action == "updated"
    assert changes[carbon.name].detail.endswith("every 1800s, expires 1700s, enabled")
    task = PeriodicTask.objects.get(name=carbon.name)
    assert (task.interval.every, task.expire_seconds, task.enabled) == (1800, 1700, True)
    assert changes[prices.name].action == "kept"
    edited.refresh_from_db()
    assert (edited.queue, edited.interval.every) == ("retention", prices.every_seconds)
    assert {c.action for n, c in changes.items() if n not in (carbon.name, prices.name)} == {
        "unchanged"
    }


def test_rows_without_a_record_of_what_was_installed_are_kept():
    """A row without a fingerprint that no release installed as it is (made by hand, or
    edited since) may hold someone's change: kept."""
    entry = next(e for e in SCHEDULE if e.every_seconds)
    call_command("install_schedules")
    PeriodicTask.objects.filter(name=entry.name).update(description="", expire_seconds=1000)
    changes = {c.name: c for c in install_schedules((replace(entry, every_seconds=1200),))}
    assert changes[entry.name].action == "kept"
    task = PeriodicTask.objects.get(name=entry.name)
    assert (task.interval.every, task.expire_seconds) == (entry.every_seconds, 1000)


def _row_as_first_releases_installed(name, task, queue, expires, every=None, hour=None):
    """A beat row as install_schedules wrote it before fingerprints (up to 2026-12-03): the
    entry's task, queue, schedule (an interval in seconds, or a daily-hours UTC crontab at
    minute 0) and expiry, and an empty description."""
    if every:
        row, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        when = {"interval": row}
    else:
        row, _ = CrontabSchedule.objects.get_or_create(minute="0", hour=hour, timezone="UTC")
        when = {"crontab": row}
    return PeriodicTask.objects.create(
        name=name, task=task, queue=queue, expire_seconds=expires, args="[]", **when
    )


def test_an_install_from_before_fingerprints_follows_the_table_except_what_was_edited(capsys):
    """An install made by the first releases (no fingerprints) upgraded: the rows nobody
    edited take the table's cadence (carbon and occupancy on the quarter hours, air quality at
    :35 and :55), each gets its fingerprint so later releases move it too; the row edited in the admin
    and the one made by hand stay as they are. Every row used to be 'kept as edited', so no
    cadence change of a later release ever reached such an install."""
    old = _row_as_first_releases_installed
    old("Carbon intensity", "collectors.dispatch_carbon_intensity", "collectors", 840, every=900)
    old(
        "Electricity prices",
        "collectors.dispatch_electricity_pricing",
        "collectors",
        3300,
        every=3600,
    )
    old("Air quality", "collectors.dispatch_air_quality", "collectors", 3300, every=3600)
    old("Occupancy prediction", "collectors.dispatch_occupancy", "collectors", 840, every=900)
    old("Smart meter", "collectors.dispatch_smart_meter", "collectors", 270, every=600)  # edited
    old(
        "Refresh materialized views",
        "retention.refresh_views",
        "retention",
        10800,
        hour="*/4",
    )
    old("Check retention alerts", "retention.check_alerts", "default", 240, every=300)
    old("My carbon", "collectors.dispatch_carbon_intensity", "collectors", 240, every=300)
    call_command("install_schedules")

    def state(name):
        t = PeriodicTask.objects.get(name=name)
        c = t.crontab
        when = f"every {t.interval.every}s" if t.interval else f"cron {c.minute} {c.hour}"
        return when, t.expire_seconds, t.enabled, t.description.startswith("Installed from")

    assert state("Carbon intensity") == ("cron */15 *", 840, True, True)
    assert state("Occupancy prediction") == ("cron */15 *", 840, True, True)
    assert state("Air quality") == ("cron 35,55 *", 1140, True, True)
    assert state("Electricity prices") == ("every 3600s", 3300, True, True)
    assert state("Refresh materialized views") == ("cron 0 */4", 10800, True, True)
    assert state("Check retention alerts") == ("every 300s", 240, True, True)
    assert state("Smart meter") == ("every 600s", 270, True, False)
    assert state("My carbon") == ("every 300s", 240, True, False)
    out = capsys.readouterr().out
    installed = len(SCHEDULE) - 7
    assert f"{installed} installed, 3 updated, 3 unchanged, 1 kept as edited" in out
    assert "Schedule kept: Smart meter (edited in the admin: " in out

    call_command("install_schedules")
    out = capsys.readouterr().out
    assert f"0 installed, 0 updated, {len(SCHEDULE) - 1} unchanged, 1 kept as edited" in out


def _runs(task: str) -> crontab:
    """When beat runs `task`: its entry's crontab, as celery reads it."""
    [entry] = [e for e in SCHEDULE if e.task == task]
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


@pytest.mark.parametrize(
    "task", ["collectors.dispatch_carbon_intensity", "collectors.dispatch_occupancy"]
)
def test_slot_and_event_sources_run_at_every_quarter_hour_start(task):
    """UK carbon slots are half hours and Electricity Maps' hours, from :00 UTC; calendar
    events start and end on quarter hours. These dispatches run at those starts (every 15 min
    from :00), so a new slot's value, or "home now", changes in its first minute rather than
    up to 15 min later."""
    runs = _runs(task)
    assert runs.minute == {0, 15, 30, 45} and runs.hour == set(range(24))
    assert runs.day_of_week == set(range(7)) and runs.day_of_month == set(range(1, 32))


def test_air_quality_is_asked_after_airnow_publishes_the_hour():
    """AirNow's observations of an hour appear 10-30 min past it: asked at :35 each hour, the
    new hour is in the answer, every hour the same; asked again at :55, where an hour published
    late is (the run calls only then: tests/collectors/air_quality/test_airnow_late_hour.py).
    Each run is dropped once the next is due."""
    [entry] = [e for e in SCHEDULE if e.task == "collectors.dispatch_air_quality"]
    runs = _runs("collectors.dispatch_air_quality")
    assert runs.minute == {35, 55} and runs.hour == set(range(24))
    assert 0 < entry.expires < 20 * 60


ARCHIVE = next(e for e in SCHEDULE if e.task == "retention.archive")
OLD_ARCHIVE = "Archive to S3"  # its name up to 2026-12-06: the archive may be a local directory


def _archive_rows() -> list[tuple[str, bool, str]]:
    """(name, enabled, hour) of every beat row that runs the archive."""
    rows = PeriodicTask.objects.filter(task="retention.archive").order_by("name")
    return [(t.name, t.enabled, t.crontab.hour) for t in rows]


@pytest.mark.parametrize("edited", [False, True])
def test_the_archive_entry_renamed_keeps_one_row_with_its_edits(edited, capsys):
    """An install whose archive row has the old name: the row takes the new one, keeping its
    admin edits and its last run. Installed beside it, a second row would run the archive
    twice a week (and a disabled archive would run again)."""
    install_schedules((replace(ARCHIVE, name=OLD_ARCHIVE),))  # as the release before installed it
    old = PeriodicTask.objects.get(name=OLD_ARCHIVE)
    old.last_run_at = datetime(2026, 11, 29, 3, tzinfo=UTC)
    old.enabled = not edited  # disabled in the admin (django-celery-beat forgets the last run)
    old.save()
    last_run = old.last_run_at

    call_command("install_schedules")

    assert _archive_rows() == [("Archive daily aggregates", not edited, "3")]
    task = PeriodicTask.objects.get(task="retention.archive")
    assert task.last_run_at == last_run
    out = capsys.readouterr().out
    assert "Schedule renamed: Archive daily aggregates (from Archive to S3)" in out
    kept = "Schedule kept: Archive daily aggregates (edited in the admin: " in out
    assert kept is edited, out
    summary = out.splitlines()[-1]  # the last line alone says a row was renamed
    assert summary.startswith("Schedules: ") and summary.endswith(", 1 renamed."), out


def test_an_install_from_before_fingerprints_renames_the_archive_row_and_follows_the_table():
    """The archive row as the first releases installed it (no fingerprint), renamed, still
    counts as nobody's edit: it gets its fingerprint and follows later changes of the table."""
    sundays, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="0", timezone="UTC"
    )
    PeriodicTask.objects.create(name=OLD_ARCHIVE, task="retention.archive", queue="retention",
                                expire_seconds=21600, args="[]", crontab=sundays)  # fmt: skip

    changes = {c.name: c.action for c in install_schedules()}

    assert changes["Archive daily aggregates"] == "unchanged", changes
    assert _archive_rows() == [("Archive daily aggregates", True, "3")]
    task = PeriodicTask.objects.get(task="retention.archive")
    assert task.description.startswith("Installed from config/schedule.py")


def test_an_old_archive_row_beside_one_of_the_new_name_is_removed():
    """A row of the old name beside one of the new (an earlier release started again after the
    upgrade installed it once more): the old one goes, so the archive runs once."""
    call_command("install_schedules")
    install_schedules((replace(ARCHIVE, name=OLD_ARCHIVE),))
    assert len(_archive_rows()) == 2

    call_command("install_schedules")

    assert _archive_rows() == [("Archive daily aggregates", True, "3")]


def test_schedules_added_again_in_the_admin_do_not_stop_the_next_start(admin_client):
    """An operator adds an interval or a crontab the install already has ("every 300 seconds",
    "*/15 * * * *" UTC: django-celery-beat allows two alike) and deletes one of enrich's
    entries; the next start installs it again on one of them. get_or_create found two and raised
    MultipleObjectsReturned: install_schedules, and the start with it, failed."""
    call_command("install_schedules")
    management = {"periodictask_set-TOTAL_FORMS": "0", "periodictask_set-INITIAL_FORMS": "0"}
    added = admin_client.post(
        "/admin/django_celery_beat/intervalschedule/add/",
        {"every": "300", "period": "seconds", **management},
    )
    assert added.status_code == 302
    cron = {"minute": "*/15", "hour": "*", "day_of_month": "*", "month_of_year": "*",
            "day_of_week": "*", "timezone": "UTC", **management}  # fmt: skip
    assert (
        admin_client.post("/admin/django_celery_beat/crontabschedule/add/", cron).status_code == 302
    )
    assert IntervalSchedule.objects.filter(every=300, period="seconds").count() == 2
    assert CrontabSchedule.objects.filter(minute="*/15", hour="*").count() == 2
    PeriodicTask.objects.filter(name__in=["Smart meter", "Carbon intensity"]).delete()

    changes = {c.name: c.action for c in install_schedules()}

    assert changes["Smart meter"] == changes["Carbon intensity"] == "installed"
    meter = PeriodicTask.objects.get(name="Smart meter")
    carbon = PeriodicTask.objects.get(name="Carbon intensity")
    assert (meter.interval.every, meter.interval.period, meter.enabled) == (300, "seconds", True)
    assert (carbon.crontab.minute, str(carbon.crontab.timezone)) == ("*/15", "UTC")


def test_a_row_kept_as_edited_says_what_the_table_changed_that_it_does_not_follow(capsys):
    """An upgrade moves an entry the operator edited (here: disabled) in the admin: the row is
    kept, and the command says what the release changed that the row does not take, so the
    operator can take it over by hand. It said only "kept", as on every start, and the new
    cadence went unnoticed."""
    call_command("install_schedules")
    metrics = next(e for e in SCHEDULE if e.task == "retention.record_metrics")
    PeriodicTask.objects.filter(name=metrics.name).update(enabled=False)
    capsys.readouterr()
    later = replace(metrics, crontab="45 9 * * *")

    [change] = [c for c in install_schedules((later,)) if c.name == metrics.name]

    assert change.action == "kept"
    assert change.detail == (
        "edited in the admin: retention.record_metrics on retention, cron 15 8 * * *, expires "
        "3600s, disabled; config/schedule.py changed since it was installed (cron 15 8 * * * -> "
        "cron 45 9 * * *), which it does not take"
    )
    task = PeriodicTask.objects.get(name=metrics.name)
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("15", "8", False)
    unchanged = {c.name: c.detail for c in install_schedules((metrics,))}
    assert unchanged[metrics.name].endswith("expires 3600s, disabled")  # the table as installed


def test_an_entry_edited_in_the_admin_is_not_described_as_unchanged(admin_client):
    """The fingerprint in an entry's description read "Installed from config/schedule.py;
    unchanged since: … every 300s" on the page of an entry the operator had just set to every
    600 s. It says what was installed, which stays true after an edit; rows described so
    before are reworded by the next start, edited or not, and still followed or kept."""
    call_command("install_schedules")
    meter = PeriodicTask.objects.get(name="Smart meter")
    slower = IntervalSchedule.objects.create(every=600, period="seconds")
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{meter.pk}/change/")
    form = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    form.update(interval=slower.pk, crontab="", solar="", clocked="", regtask=meter.task,
                start_time_0="", start_time_1="", expires_0="", expires_1="")  # fmt: skip
    assert admin_client.post(page.request["PATH_INFO"], form).status_code == 302
    meter.refresh_from_db()
    assert meter.interval.every == 600
    assert "unchanged" not in meter.description
    assert meter.description == (
        "Installed from config/schedule.py as: collectors.dispatch_smart_meter on collectors, "
        "every 300s, expires 270s, enabled"
    )

    old = "Installed from config/schedule.py; unchanged since: "  # up to 2026-12-06
    for task in PeriodicTask.objects.filter(name__in=["Smart meter", "Air quality"]):
        _, state = task.description.split(": ", 1)
        PeriodicTask.objects.filter(pk=task.pk).update(description=old + state)
    changes = {c.name: c.action for c in install_schedules()}
    assert (changes["Smart meter"], changes["Air quality"]) == ("kept", "unchanged")
    for name in ("Smart meter", "Air quality"):
        described = PeriodicTask.objects.get(name=name).description
        assert described.startswith("Installed from config/schedule.py as: "), described


def test_a_kept_row_is_described_with_the_schedule_it_has():
    """A tier run moved to 02:00 Berlin time and the meter set to every 10 minutes in the
    admin: the command said "kept (edited in the admin: …, another schedule, …)", naming
    neither the time nor the interval kept."""
    call_command("install_schedules")
    berlin = CrontabSchedule.objects.create(minute="0", hour="2", timezone="Europe/Berlin")
    PeriodicTask.objects.filter(task="retention.downsample_hourly").update(crontab=berlin)
    minutes = IntervalSchedule.objects.create(every=10, period="minutes")
    PeriodicTask.objects.filter(name="Smart meter").update(interval=minutes)

    changes = {c.name: c for c in install_schedules()}

    hourly, meter = changes["Downsample raw to hourly"], changes["Smart meter"]
    assert (hourly.action, meter.action) == ("kept", "kept")
    assert hourly.detail == (
        "edited in the admin: retention.downsample_hourly on retention, cron 0 2 * * * "
        "Europe/Berlin, expires 3600s, enabled"
    )
    assert meter.detail == (
        "edited in the admin: collectors.dispatch_smart_meter on collectors, every 10 minutes, "
        "expires 270s, enabled"
    )
