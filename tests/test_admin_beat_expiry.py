"""A periodic task whose runs outlast its interval: its Expire seconds not under the time
between two sends. config/schedule.py keeps each entry's expiry a little under its interval, so
a run a busy worker has not taken by the next send is dropped; set in the admin to an interval
at or below the expiry (every minute, expiring after 240 s), the late runs stay valid and pile
up behind the worker, and the admin saved it without a word (enrich.admin_beat)."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

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
