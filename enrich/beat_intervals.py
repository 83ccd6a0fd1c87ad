"""Periodic tasks' schedules: in words, and whether a task's runs outlast the time between two.

config/schedule.py keeps each entry's `expires` a little under the time between two of its
runs: a run a busy worker has not taken by the next send is dropped, not run late beside the
next one. An interval set in the admin at or below the task's Expire seconds undoes that, and
so does a crontab whose runs come that close anywhere in its pattern (`shortest_gap`: "*/5" of
a minute, two hours of a day, the hour a change of daylight saving time takes out of a night):
the late runs stay valid and pile up behind the worker (`outlasting`). The admin
(enrich.admin_beat) saves it and says so.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab as celery_crontab
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from enrich.beat_zones import unknown_zone
from enrich.wording import counted

# An interval in its largest whole unit: install_schedules stores them in seconds.
UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
SECONDS_IN = {IntervalSchedule.DAYS: 86400, IntervalSchedule.HOURS: 3600,
              IntervalSchedule.MINUTES: 60, IntervalSchedule.SECONDS: 1}  # fmt: skip
# The years a crontab's pattern is followed through: its days of the week, of the month and
# its months (29 February too) come round together within 28 years (1901-2099), and each year
# holds every change of daylight saving time of its zone.
CRONTAB_YEARS = 28


def _duration(seconds: int) -> str:
    """`seconds` in their largest whole unit: "5 minutes", "1 hour", "90 seconds"."""
    size, unit = next((size, unit) for size, unit in UNITS if seconds % size == 0)
    return counted(seconds // size, unit)


def interval_in_words(interval: IntervalSchedule) -> str:
    """The interval in words: "every 5 minutes" for 300 seconds, "every hour" for 3600
    (django-celery-beat: "every 300 seconds")."""
    if interval.period not in SECONDS_IN or interval.every < 1:
        return str(interval)
    seconds = interval.every * SECONDS_IN[interval.period]
    size, unit = next((size, unit) for size, unit in UNITS if seconds % size == 0)
    return f"every {unit}" if seconds == size else f"every {_duration(seconds)}"


def shortest_gap(crontab: CrontabSchedule, since: date | None = None) -> tuple[int, bool] | None:
    """The shortest time in seconds between two runs of `crontab` from `since` (default:
    today) over a year when it runs every day, else over CRONTAB_YEARS, its times read in its
    time zone as the clocks there show them; and whether a change of daylight saving time
    makes it that short (an hour the clocks skip or repeat). None when it never runs or its
    zone is unknown here. A time the clocks skip or show twice is read in the offset after the
    change (`fold=1`: the runs stay in order), and two times naming one moment are one run."""
    if unknown_zone(crontab):
        return None
    cron: celery_crontab = crontab.schedule
    zone = ZoneInfo(str(crontab.timezone))
    minutes = sorted(hour * 60 + minute for hour in cron.hour for minute in cron.minute)
    inner = min((b - a for a, b in zip(minutes, minutes[1:], strict=False)), default=None)
    every_day = len(cron.day_of_month) == 31 and len(cron.month_of_year) == 12 and len(
        cron.day_of_week) == 7  # fmt: skip
    first = since or date.today()
    days = round(365.25 * (1 if every_day else CRONTAB_YEARS)) + 31  # whole years, and a month
    # The UTC offset at each midnight: a day whose next midnight has another one holds a change.
    midnights = [datetime.combine(first + timedelta(n), time()) for n in range(days + 1)]
    offsets = [midnight.replace(tzinfo=zone, fold=1).utcoffset() for midnight in midnights]
    real = wall = None
    plain = False  # a day of runs that no change of daylight saving time touches
    previous: tuple[datetime, datetime] | None = None  # the last run: on the clock, in UTC
    for n, midnight in enumerate(midnights[:-1]):
        if (midnight.month not in cron.month_of_year or midnight.day not in cron.day_of_month
                or midnight.isoweekday() % 7 not in cron.day_of_week):  # fmt: skip
            continue
        shifts = offsets[n] != offsets[n + 1]
        plain = plain or not shifts
        # Between two runs on the same side of a change the clocks tell the time between them.
        ends = {minutes[0], minutes[-1]}
        if shifts:
            change = _change(zone, midnight, minutes, offsets[n])
            ends.update(minutes[max(change, 1) - 1 : change + 1])
        for minute in sorted(ends):
            clock = midnight + timedelta(minutes=minute)
            if shifts:
                at = clock.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(tzinfo=None)
            else:
                at = clock - offsets[n]
            if previous is not None and (gap := (at - previous[1]).total_seconds()) > 0:
                real = gap if real is None else min(real, gap)
                on_clock = (clock - previous[0]).total_seconds()
                wall = on_clock if wall is None else min(wall, on_clock)
            previous = (clock, at)
    if plain and inner is not None:  # runs of one day, the same on every day they run
        real = inner * 60 if real is None else min(real, inner * 60)
        wall = inner * 60 if wall is None else min(wall, inner * 60)
    if real is None or wall is None:
        return None
    return int(real), real < wall


def _change(zone: ZoneInfo, midnight: datetime, minutes: list[int], start) -> int:
    """The index of the first of the day's `minutes` in another UTC offset than `start`, the
    day's at midnight (a change of daylight saving time; found by halving)."""
    low, high = 0, len(minutes)
    while low < high:
        middle = (low + high) // 2
        clock = midnight + timedelta(minutes=minutes[middle])
        if clock.replace(tzinfo=zone, fold=1).utcoffset() == start:
            low = middle + 1
        else:
            high = middle
    return low


def _schedule(task: PeriodicTask) -> tuple[str, int] | None:
    """The task's schedule in words and the shortest time between two of its runs (seconds);
    None for one it cannot be told of (no interval or crontab, a zone unknown here)."""
    interval, crontab = task.interval, task.crontab
    if interval is not None and interval.period in SECONDS_IN:
        return interval_in_words(interval), interval.every * SECONDS_IN[interval.period]
    if crontab is None or (gap := shortest_gap(crontab)) is None:
        return None
    seconds, dst = gap
    where = " where daylight saving time changes" if dst else ""
    return f"{crontab.human_readable}, as little as {_duration(seconds)} apart{where}", seconds


def outlasting(tasks) -> list[str]:
    """What to say of each of `tasks` (periodic tasks) on an interval, or a crontab, whose runs
    stay valid (Expire seconds) as long as the time between two or longer ([] = none)."""
    said = []
    for task in tasks:
        if not task.expire_seconds or (schedule := _schedule(task)) is None:
            continue
        words, seconds = schedule
        if task.expire_seconds >= seconds:
            said.append(
                f"{task.name} runs {words}, but a run it sends stays valid "
                f"{task.expire_seconds} seconds (Expire seconds): runs a busy worker has not "
                "taken yet are still valid when the next is sent and pile up behind it, instead "
                f"of the late one being dropped. Set Expire seconds under {seconds}, or run it "
                "less often."
            )
    return said


def entries_on(schedule: IntervalSchedule | CrontabSchedule):
    """The periodic tasks that run on `schedule` (an interval or a crontab), by name."""
    field = "interval" if isinstance(schedule, IntervalSchedule) else "crontab"
    return (
        PeriodicTask.objects.filter(**{field: schedule})
        .select_related("interval", "crontab")
        .order_by("name")
    )
