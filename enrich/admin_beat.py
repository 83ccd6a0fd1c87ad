"""django-celery-beat's admin (Periodic tasks, Crontabs), with what its own forms let through.

- A periodic task's arguments, keyword arguments and message headers are checked as the beat
  reads them: a JSON list, a JSON object, a JSON object. django-celery-beat's form checks only
  that they parse: headers that are no JSON would be saved and the beat would leave the task out
  without a word, headers that are JSON but no object (`[]`, `-1`) would stop the beat loading
  any schedule, arguments of the wrong shape would fail every run. Empty headers (otherwise an
  IntegrityError, a 500) mean `{}`.
- A custom task name over 200 characters is refused, not a 500 (the base form read it anyway).
- An expiry moment that has passed is refused: the beat would disable the task at once.
- A task no worker has registered (the base form takes any name picked as "registered", even
  one with a NUL: a 500), arguments the task cannot take, and a queue, exchange or routing key
  that is none of the workers' queues (config.queues) are refused (`unsendable`): the beat would
  send a task the workers drop, one failing every run, or none (Celery refuses an undeclared
  queue). "Run selected tasks" sends none of the selection when one of them is so.
- A crontab form refused for a bad field (`-1`) is no 500: its description is the saved
  schedule's, not one computed from the refused values.
- An interval under a second or over 365 days is refused: the beat would send its task on
  each of its loops, or overflow its dates and stop loading any schedule.
- A periodic task saved on an interval, or a crontab, whose (shortest) time between two runs
  is at or below its Expire seconds (a crontab's in its time zone, a change of daylight saving
  time included), or an interval or crontab changed to that, is saved with a warning naming
  each such task: its late runs would pile up behind a busy worker instead of being dropped
  (enrich.beat_intervals).
- A crontab whose days of the month no month of its months has (31 in 2, 4, 6, 9, 11; 30 in
  2) is refused: its tasks would never run.
- A crontab's time zone must be a place's (not "localtime", the beat host's own). One stored
  that this host cannot load (enrich.beat_zones) is shown with what it stops (the beat leaves
  its tasks out: enrich.beat_scheduler), and its form asks for a zone instead of showing the
  first of the list as chosen.
- The list actions say what they did: "enabled" only for the tasks that were disabled, the
  others named as they were; whether enrich's own entries are kept as set on later starts
  (enrich.schedules); "Run selected tasks" sends them to the workers (with the header
  `queued_by`, the user's name, which a retention run records), and says so, or why it sent
  none (a task not registered, arguments the task cannot take, the broker out of reach or
  hung: the last two would otherwise be 500s). Deleting one of enrich's own entries says that
  the next start installs it again, and how to stop it for good.
- The periodic tasks' list shows each schedule once, in words ("Every 15 minutes UTC", "every 5
  minutes"), not a cron expression or an interval twice; a crontab's fields are labelled
  "Minutes", "Days of the month", not "Minute(s)", "Day(s) Of The Month".
"""

import inspect
import json

from celery import current_app
from celery.result import denied_join_result
from celery.schedules import ParseException
from celery.schedules import crontab as celery_crontab
from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.admin import IntervalScheduleAdmin as BeatIntervalScheduleAdmin
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks
from kombu.exceptions import OperationalError

from config.queues import QUEUES
from enrich.admin_selection import SelectionAdmin
from enrich.beat_intervals import SECONDS_IN, entries_on, interval_in_words, outlasting
from enrich.beat_zones import unknown_zone
from enrich.models import validate_timezone
from enrich.schedules import ENTRY_NAMES, follows_table
from enrich.wording import json_problem

# The JSON each text field must hold for the beat to send the task, and what empty means.
JSON_SHAPES = {"args": (list, "[]"), "kwargs": (dict, "{}"), "headers": (dict, "{}")}
SHAPE_NAMES = {list: 'a JSON list, e.g. [1, "a"]', dict: 'a JSON object, e.g. {"a": 1}'}


class PeriodicTaskForm(BeatPeriodicTaskForm):
    def _clean_json(self, field: str) -> str:
        shape, empty = JSON_SHAPES[field]
        text = self.cleaned_data.get(field) or empty
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond json's reach
            raise forms.ValidationError(f"Enter valid JSON: {json_problem(exc)}.") from None
        if not isinstance(value, shape):
            raise forms.ValidationError(f"Enter {SHAPE_NAMES[shape]}; the beat cannot send this.")
        return text

    def clean_headers(self) -> str:
        return self._clean_json("headers")

    def clean_expires(self):
        expires = self.cleaned_data.get("expires")
        if expires and expires <= timezone.now():  # the beat disables such a task at once
            raise forms.ValidationError("This moment has passed: the beat would disable the task "
                                        "at once. Give a later one, or none.")  # fmt: skip
        return expires

    def clean(self) -> dict:
        if "task" in self.errors:  # refused (too long): the base form would read it anyway
            return self.cleaned_data
        cleaned = super().clean()
        if any(name in self.errors for name in ("args", "kwargs")):
            return cleaned
        args, kwargs = (json.loads(cleaned.get(name) or JSON_SHAPES[name][1])
                        for name in ("args", "kwargs"))  # fmt: skip
        routing = {name: cleaned.get(name) for name in ROUTING}
        for field, problem in unsendable(cleaned["task"], args, kwargs, routing):
            if field == "task" and cleaned.get("regtask"):
                field = "regtask"  # the task was chosen from the list
            self.add_error(field, f"{problem[:1].upper()}{problem[1:]}.")
        return cleaned


# Where the beat sends a task: each a queue's own name (config.celery declares each queue with
# an exchange and routing key of its name), or empty for the task's route.
ROUTING = {"queue": "queue", "exchange": "exchange", "routing_key": "routing key"}


def unsendable(name: str, args: list, kwargs: dict, routing: dict) -> list[tuple[str, str]]:
    """(field, what is wrong) for each thing that keeps the beat from sending the task `name`
    with `args`, `kwargs` and `routing` to a worker that runs it: a task no worker has
    registered (the message is dropped), arguments it cannot take (every run fails), a queue,
    exchange or routing key none of the workers' queues is (the beat cannot send it)."""
    current_app.loader.import_default_modules()
    problems = []
    registered = current_app.tasks.get(name)
    if registered is None:
        problems.append(("task", f"no task {name[:200]!r} is registered with the workers"))
    else:
        try:
            inspect.signature(registered.run).bind(*args, **kwargs)
        except TypeError as exc:
            field = "kwargs" if kwargs and not args else "args"
            problems.append((field, f"the task {name} cannot take these arguments ({exc})"))
    for field, label in ROUTING.items():
        if (value := routing.get(field)) and value not in QUEUES:
            problems.append((field, f"its {label} {value[:100]!r} is none of the workers' "
                             f"queues: give {', '.join(QUEUES)}, or leave it empty for the "
                             "task's own"))  # fmt: skip
    return problems


def _arguments(task: PeriodicTask) -> tuple[list, dict]:
    """The task's stored arguments, or a ValueError saying what is wrong with them."""
    parsed = []
    for field in ("args", "kwargs"):
        shape, empty = JSON_SHAPES[field]
        try:
            value = json.loads(getattr(task, field) or empty)
        except ValueError:
            value = None
        if not isinstance(value, shape):
            raise ValueError(f"its {field} are not {SHAPE_NAMES[shape]}; correct them on its page")
        parsed.append(value)
    return parsed[0], parsed[1]


def _names(tasks) -> str:
    return ", ".join(task.name for task in tasks)


def crontab_in_words(crontab: CrontabSchedule) -> str:
    """The crontab's description, or what keeps the beat from reading it."""
    stored = CrontabSchedule.objects.filter(pk=crontab.pk).first()
    if stored and unknown_zone(stored):
        return f"{stored.human_readable} (unknown here: choose a time zone)"
    return stored.human_readable if stored else "-"


def schedule_in_words(task: PeriodicTask) -> str:
    """The periodic task's schedule as its list shows it ("every 5 minutes")."""
    if task.interval is not None:
        return interval_in_words(task.interval)
    if task.crontab is not None:
        return crontab_in_words(task.crontab)
    return str(task.scheduler or "-")


class PeriodicTaskAdmin(SelectionAdmin, BeatPeriodicTaskAdmin):
    form = PeriodicTaskForm
    # One column for the schedule, in words: django-celery-beat lists a crontab as
    # "*/15 * * * * (m/h/dM/MY/d) UTC" and an interval twice ("Scheduler" and "Interval
    # Schedule": "every 300 seconds").
    list_display = ("name", "enabled", "schedule", "start_time", "last_run_at", "one_off")

    @admin.display(description="schedule")
    def schedule(self, task: PeriodicTask) -> str:
        return schedule_in_words(task)

    def changelist_view(self, request, extra_context=None):
        warn_unknown_zones(request)
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj: PeriodicTask, form, change) -> None:
        super().save_model(request, obj, form, change)
        for said in outlasting([obj]):
            messages.warning(request, said)

    def delete_model(self, request, obj: PeriodicTask) -> None:
        super().delete_model(request, obj)
        warn_reinstalled(request, [obj.name])

    def delete_queryset(self, request, queryset) -> None:
        names = list(queryset.order_by("name").values_list("name", flat=True))
        super().delete_queryset(request, queryset)
        warn_reinstalled(request, names)

    @admin.action(description=BeatPeriodicTaskAdmin.enable_tasks.short_description)
    def enable_tasks(self, request, queryset) -> None:
        self._switch(request, queryset, enable=True)

    @admin.action(description=BeatPeriodicTaskAdmin.disable_tasks.short_description)
    def disable_tasks(self, request, queryset) -> None:
        self._switch(request, queryset, disable=True)

    @admin.action(description=BeatPeriodicTaskAdmin.toggle_tasks.short_description)
    def toggle_tasks(self, request, queryset) -> None:
        self._switch(request, queryset, enable=True, disable=True)

    def _switch(self, request, queryset, enable: bool = False, disable: bool = False) -> None:
        """Enable and/or disable the selected tasks that are not so yet; say which changed,
        which were so already, and what the next start does with enrich's own entries."""
        tasks = list(queryset.order_by("name"))
        turned_on = [t for t in tasks if enable and not t.enabled]
        turned_off = [t for t in tasks if disable and t.enabled]
        if turned_on:
            PeriodicTask.objects.filter(pk__in=[t.pk for t in turned_on]).update(enabled=True)
        if turned_off:  # as django-celery-beat's: disabling (not toggling) forgets the last run
            forget = {} if enable else {"last_run_at": None}
            PeriodicTask.objects.filter(pk__in=[t.pk for t in turned_off]).update(
                enabled=False, **forget
            )
        if turned_on or turned_off:
            PeriodicTasks.update_changed()  # the beat reads the schedules again
        said = [f"Enabled: {_names(turned_on)}." if turned_on else "",
                f"Disabled: {_names(turned_off)}." if turned_off else ""]  # fmt: skip
        if not enable or not disable:
            same = [t for t in tasks if t not in turned_on + turned_off]
            state = "enabled" if enable else "disabled"
            said.append(f"Already {state}: {_names(same)}." if same else "")
        changed = [PeriodicTask.objects.get(pk=t.pk) for t in turned_on + turned_off]
        kept = [t for t in changed if follows_table(t) is False]
        back = [t for t in changed if follows_table(t)]
        if kept:
            said.append(f"Later starts keep {_names(kept)} as set here (install_schedules "
                        "keeps an entry changed in the admin).")  # fmt: skip
        if back:
            said.append(f"{_names(back)}: as installed again, so later starts bring "
                        f"{'it' if len(back) == 1 else 'them'} up to config/schedule.py.")  # fmt: skip
        self.message_user(request, " ".join(s for s in said if s))

    @admin.action(description=BeatPeriodicTaskAdmin.run_tasks.short_description)
    def run_tasks(self, request, queryset) -> None:
        """Send each selected task to the workers now, as the beat would; none when one of
        them cannot be sent (not registered, arguments it cannot take)."""
        ready, problems = [], []
        for task in queryset.order_by("name"):
            try:
                args, kwargs = _arguments(task)
            except ValueError as exc:
                problems.append(f"{task.name}: {exc}")
                continue
            routing = {name: getattr(task, name) for name in ROUTING}
            if found := unsendable(task.task, args, kwargs, routing):
                problems.append(f"{task.name}: {'; '.join(problem for _, problem in found)}")
            else:
                ready.append((task, current_app.tasks[task.task], args, kwargs))
        if problems:
            self.message_user(request, f"Nothing was sent. {'; '.join(problems)}.",
                              messages.ERROR)  # fmt: skip
            return
        sent = []
        for task, registered, args, kwargs in ready:
            options = {"queue": task.queue} if task.queue else {}
            try:
                # `queued_by` (the beat sends none): a task recording runs names who sent it.
                headers = {"periodic_task_name": task.name, "queued_by": str(request.user)}
                with denied_join_result():  # nobody waits for its result (retention.queued)
                    registered.apply_async(args=args, kwargs=kwargs, headers=headers, **options)
            except OperationalError as exc:
                before = f"Sent before it: {_names(sent)}." if sent else "Nothing was sent."
                self.message_user(request, f"{task.name} could not be sent: Redis, the Celery "
                                  f"broker, cannot be reached ({exc}). {before}",
                                  messages.ERROR)  # fmt: skip
                return
            sent.append(task)
        self.message_user(request, f"Sent to the workers: {_names(sent)}. Each runs once a "
                          "worker of its queue takes it (Flower shows it).")  # fmt: skip


def warn_reinstalled(request, names: list[str]) -> None:
    """Deleted entries of config/schedule.py come back: install_schedules installs the
    missing ones on every start."""
    ours = [name for name in names if name in ENTRY_NAMES]
    if ours:
        messages.warning(request, f"{', '.join(ours)}: enrich's own (config/schedule.py), "
                         "installed again on the next start. To stop one for good, disable it "
                         "instead: later starts keep it disabled.")  # fmt: skip


def warn_unknown_zones(request) -> None:
    """Say which crontabs hold a time zone this host cannot load: the beat leaves their tasks
    out (enrich.beat_scheduler)."""
    unknown = [c for c in CrontabSchedule.objects.order_by("pk") if unknown_zone(c)]
    if unknown:
        listed = ", ".join(f"{c.pk} ({unknown_zone(c)!r})" for c in unknown)
        messages.warning(request, f"The beat leaves out the periodic tasks of a crontab whose "
                         f"time zone is unknown here (the others run): crontab {listed}. Choose "
                         "its time zone on its page.")  # fmt: skip


# django-celery-beat labels them "Minute(s)", "Day(s) Of The Month", "Cron Timezone".
CRON_LABELS = {"minute": "Minutes", "hour": "Hours", "day_of_month": "Days of the month",
               "month_of_year": "Months", "day_of_week": "Days of the week",
               "timezone": "Time zone"}  # fmt: skip


class CrontabScheduleForm(forms.ModelForm):
    """A place's time zone; one stored that this host cannot load is to be chosen again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in CRON_LABELS.items():
            if name in self.fields:
                self.fields[name].label = label
        field = self.fields.get("timezone")
        if field is not None and (zone := unknown_zone(self.instance)):
            field.choices = [("", "---------"), *field.choices]
            field.help_text = f"The saved time zone {zone!r} is unknown here: choose one."
            self.initial["timezone"] = ""

    def clean_timezone(self):
        zone = self.cleaned_data["timezone"]
        validate_timezone(str(zone))
        return zone

    def clean(self) -> dict:
        cleaned = super().clean()
        if not any(name in self.errors for name in ("day_of_month", "month_of_year")):
            days, months = (cleaned.get(name) or "*" for name in ("day_of_month", "month_of_year"))
            try:  # celery's check: a day of the month one of the months has
                celery_crontab(day_of_month=days, month_of_year=months)
            except ParseException:  # "-1": its field's own check (the model's) names it
                pass
            except ValueError:
                self.add_error("day_of_month", f"No month of {months!r} has a day {days!r}: the "
                               "tasks of this crontab would never run.")  # fmt: skip
        return cleaned


class CrontabScheduleAdmin(SelectionAdmin, BeatCrontabScheduleAdmin):
    form = CrontabScheduleForm

    def changelist_view(self, request, extra_context=None):
        warn_unknown_zones(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            warn_unknown_zones(request)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="human readable")
    def human_readable(self, obj: CrontabSchedule) -> str:
        return crontab_in_words(obj)

    def save_model(self, request, obj: CrontabSchedule, form, change) -> None:
        super().save_model(request, obj, form, change)
        for said in outlasting(entries_on(obj)):
            messages.warning(request, said)


# An interval the beat can keep: one under a second it would send on each of its loops, one far
# over a year (2147483647 days) overflows its dates, and the beat stops loading any schedule.
LONGEST_INTERVAL = 365 * 86400


class IntervalScheduleForm(forms.ModelForm):
    def clean(self) -> dict:
        cleaned = super().clean()
        every, period = cleaned.get("every"), cleaned.get("period")
        if every and period:
            seconds = every * SECONDS_IN.get(period, 1e-6)  # else microseconds
            if not 1 <= seconds <= LONGEST_INTERVAL:
                self.add_error("every", f"Give an interval from 1 second to 365 days (not {every} "
                               f"{period}); for rarer runs use a crontab.")  # fmt: skip
        return cleaned


class IntervalScheduleAdmin(SelectionAdmin, BeatIntervalScheduleAdmin):
    form = IntervalScheduleForm

    def save_model(self, request, obj: IntervalSchedule, form, change) -> None:
        super().save_model(request, obj, form, change)
        for said in outlasting(entries_on(obj)):
            messages.warning(request, said)


for model, model_admin in ((PeriodicTask, PeriodicTaskAdmin),
                           (CrontabSchedule, CrontabScheduleAdmin),
                           (IntervalSchedule, IntervalScheduleAdmin)):  # fmt: skip
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
