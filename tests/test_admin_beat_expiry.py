"""A periodic task whose runs outlast its interval: its Expire seconds not under the time
between two sends. config/schedule.py keeps each entry's expiry a little under its interval, so
a run a busy worker has not taken by the next send is dropped; set in the admin to an interval
at or below the expiry (every minute, expiring after 240 s), the late runs stay valid and pile
up behind the worker, and the admin saved it without a word (enrich.admin_beat)."""

from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from enrich.beat_intervals import shortest_gap

pytestmark = pytest.mark.django_db

TASKS = "admin:django_celery_beat_periodictask"
INTERVALS = "admin:django_celery_beat_intervalschedule"


def messages_of(page) -> list[str]:
    return [str(m) for m in page.context["messages"]]


def outlasts(name: str, every: str, expiry: int, under: int) -> str:
    return (
        f"{name} runs {every}, but a run it sends stays valid {expiry} seconds (Expire "
        "seconds): runs a busy worker has not taken yet are still valid when the next is sent "
        f"and pile up behind it, instead of the late one being dropped. Set Expire seconds under "
        f"{under}, or run it less often."
    )


def test_an_entry_saved_with_runs_that_outlast_its_interval_is_warned_about(admin_client):
    minute = IntervalSchedule.objects.create(every=1, period="minutes")
    form = {"name": "Mine", "regtask": "enrich.check_services", "task": "", "interval": minute.pk,
            "args": "[]", "kwargs": "{}", "headers": "{}", "enabled": "on",
            "expire_seconds": "240", "queue": "", "exchange": "", "routing_key": ""}  # fmt: skip

    page = admin_client.post(reverse(f"{TASKS}_add"), form, follow=True)

    entry = PeriodicTask.objects.get()
    assert (entry.expire_seconds, entry.interval_id) == (240, minute.pk)  # saved, as asked
    assert outlasts("Mine", "every minute", 240, 60) in messages_of(page)
    form.update(expire_seconds="50")
    page = admin_client.post(reverse(f"{TASKS}_change", args=[entry.pk]), form, follow=True)
    assert not [m for m in messages_of(page) if "Expire seconds" in m]
    form.update(expire_seconds="60")  # as long as the interval: two are valid at a send
    page = admin_client.post(reverse(f"{TASKS}_change", args=[entry.pk]), form, follow=True)
    assert outlasts("Mine", "every minute", 60, 60) in messages_of(page)


def test_an_interval_shortened_below_the_expiry_of_its_entries_names_each(admin_client):
    call_command("install_schedules")
    five = PeriodicTask.objects.get(name="Smart meter").interval  # every 300 s, expiring at 270
    users = sorted(PeriodicTask.objects.filter(interval=five).values_list("name", flat=True))
    assert users == ["Check retention alerts", "Service health check", "Smart meter"]
    form = {"every": "250", "period": "seconds", "periodictask_set-TOTAL_FORMS": "0",
            "periodictask_set-INITIAL_FORMS": "0"}  # fmt: skip

    page = admin_client.post(reverse(f"{INTERVALS}_change", args=[five.pk]), form, follow=True)

    said = messages_of(page)
    assert outlasts("Smart meter", "every 250 seconds", 270, 250) in said
    assert not [m for m in said if m.startswith(("Check retention alerts", "Service health"))]


CRONTABS = "admin:django_celery_beat_crontabschedule"
CRON_FORM = {"minute": "*/5", "hour": "*", "day_of_month": "*", "month_of_year": "*",
             "day_of_week": "*", "timezone": "UTC", "periodictask_set-TOTAL_FORMS": "0",
             "periodictask_set-INITIAL_FORMS": "0"}  # fmt: skip


def task_form(**changed) -> dict:
    return {"name": "Mine", "regtask": "enrich.check_services", "task": "", "args": "[]",
            "kwargs": "{}", "headers": "{}", "enabled": "on", "queue": "", "exchange": "",
            "routing_key": "", **changed}  # fmt: skip


def test_an_entry_saved_on_a_crontab_its_runs_outlast_is_warned_about(admin_client):
    """Only an interval was checked: an entry every 5 minutes by a crontab, its runs valid
    for 10 minutes, was saved without a word, and its late runs piled up as an interval's."""
    every_five = CrontabSchedule.objects.create(minute="*/5", timezone="UTC")
    form = task_form(crontab=every_five.pk, expire_seconds="600")

    page = admin_client.post(reverse(f"{TASKS}_add"), form, follow=True)

    entry = PeriodicTask.objects.get()
    assert (entry.expire_seconds, entry.crontab_id) == (600, every_five.pk)  # saved, as asked
    assert outlasts("Mine", "Every 5 minutes UTC, as little as 5 minutes apart", 600, 300) in (
        messages_of(page)
    )
    form.update(expire_seconds="290")
    page = admin_client.post(reverse(f"{TASKS}_change", args=[entry.pk]), form, follow=True)
    assert not [m for m in messages_of(page) if "Expire seconds" in m]
    # Two runs an hour apart in a day that otherwise has none: the shortest gap, not the day.
    twice = CrontabSchedule.objects.create(minute="0", hour="6,7", timezone="UTC")
    form.update(crontab=twice.pk, expire_seconds="3600", interval="")
    page = admin_client.post(reverse(f"{TASKS}_change", args=[entry.pk]), form, follow=True)
    assert outlasts("Mine", f"{twice.human_readable}, as little as 1 hour apart", 3600, 3600) in (
        messages_of(page)
    )


def test_a_crontab_whose_daylight_saving_night_brings_two_runs_closer_is_warned_about(
    admin_client,
):
    """Every 4 hours in Berlin: on the night the clocks go forward 00:00 and 04:00 are three
    hours apart, and a run valid for three hours is still valid when the next is sent."""
    call_command("install_schedules")
    views = PeriodicTask.objects.get(name="Refresh materialized views")  # 0 */4, expiring at 3 h
    assert views.expire_seconds == 3 * 3600 and str(views.crontab.timezone) == "UTC"
    form = {**CRON_FORM, "minute": "0", "hour": "*/4", "timezone": "Europe/Berlin"}

    page = admin_client.post(reverse(f"{CRONTABS}_change", args=[views.crontab.pk]), form,
                             follow=True)  # fmt: skip

    views.crontab.refresh_from_db()
    assert str(views.crontab.timezone) == "Europe/Berlin"  # saved, as asked
    said = messages_of(page)
    words = (
        "Every 4 hours Europe/Berlin, as little as 3 hours apart where daylight saving time changes"
    )
    assert outlasts("Refresh materialized views", words, 10800, 10800) in said
    form.update(timezone="UTC")  # 4 hours apart every night: the expiry is under it
    page = admin_client.post(reverse(f"{CRONTABS}_change", args=[views.crontab.pk]), form,
                             follow=True)  # fmt: skip
    assert not [m for m in messages_of(page) if "Expire seconds" in m]


@pytest.mark.parametrize(
    ("cron", "zone", "gap"),
    [
        (("0", "2", "*", "*", "*"), "Europe/Berlin", (23 * 3600, True)),  # 02:00 skipped: 03:00
        (("30", "1,2", "*", "*", "*"), "Europe/Berlin", (3600, False)),
        (("0", "1,3", "*", "*", "0"), "America/New_York", (3600, True)),  # a Sunday's 2 h: 1 h
        (("0", "3", "*", "*", "0"), "UTC", (7 * 86400, False)),
        (("0", "0", "29", "2", "*"), "UTC", (4 * 365 * 86400 + 86400, False)),
        (("*", "*", "*", "*", "*"), "Europe/Berlin", (60, False)),
    ],
)
def test_a_crontabs_shortest_gap_covers_its_pattern_in_its_time_zone(cron, zone, gap):
    minute, hour, day_of_month, month_of_year, day_of_week = cron
    crontab = CrontabSchedule(minute=minute, hour=hour, day_of_month=day_of_month,
                              month_of_year=month_of_year, day_of_week=day_of_week,
                              timezone=zone)  # fmt: skip
    assert shortest_gap(crontab, date(2026, 12, 6)) == gap
