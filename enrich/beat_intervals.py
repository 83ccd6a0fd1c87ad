"""Periodic tasks' intervals: in words, and whether a task's runs outlast the time between two.

config/schedule.py keeps each entry's `expires` a little under its interval: a run a busy worker
has not taken by the next send is dropped, not run late beside the next one. An interval set in
the admin at or below the task's Expire seconds undoes that: the late runs stay valid and pile
up behind the worker (`outlasting`). The admin (enrich.admin_beat) saves it and says so.
"""

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from enrich.wording import counted

# An interval in its largest whole unit: install_schedules stores them in seconds.
UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
SECONDS_IN = {IntervalSchedule.DAYS: 86400, IntervalSchedule.HOURS: 3600,
              IntervalSchedule.MINUTES: 60, IntervalSchedule.SECONDS: 1}  # fmt: skip


def interval_in_words(interval: IntervalSchedule) -> str:
    """The interval in words: "every 5 minutes" for 300 seconds, "every hour" for 3600
    (django-celery-beat: "every 300 seconds")."""
    if interval.period not in SECONDS_IN or interval.every < 1:
        return str(interval)
    seconds = interval.every * SECONDS_IN[interval.period]
    size, unit = next((size, unit) for size, unit in UNITS if seconds % size == 0)
    return f"every {unit}" if seconds == size else f"every {counted(seconds // size, unit)}"


def outlasting(tasks) -> list[str]:
    """What to say of each of `tasks` (periodic tasks) on an interval whose runs stay valid
    (Expire seconds) as long as the interval or longer ([] = none)."""
    said = []
    for task in tasks:
        interval = task.interval
        if interval is None or not task.expire_seconds or interval.period not in SECONDS_IN:
            continue
        seconds = interval.every * SECONDS_IN[interval.period]
        if task.expire_seconds >= seconds:
            said.append(
                f"{task.name} runs {interval_in_words(interval)}, but a run it sends stays valid "
                f"{task.expire_seconds} seconds (Expire seconds): runs a busy worker has not "
                "taken yet are still valid when the next is sent and pile up behind it, instead "
                f"of the late one being dropped. Set Expire seconds under {seconds}, or run it "
                "less often."
            )
    return said


def entries_on(interval: IntervalSchedule):
    """The periodic tasks that run on `interval`, by name."""
    return (
        PeriodicTask.objects.filter(interval=interval).select_related("interval").order_by("name")
    )
