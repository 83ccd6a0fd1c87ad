"""django-celery-beat's admin (Crontabs, Periodic tasks) as a user clicks through it: a
crontab's time zone, the list actions and what they say (enrich.admin_beat)."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.text import capfirst
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from tests.support.bad_input import sent_tasks
from tests.support.beat import store_zone
from tests.support.broker import broker_at, broker_down, empty_queues  # noqa: F401  (fixtures)
from tests.support.proxy import silent_server

pytestmark = pytest.mark.django_db

CRONTABS = "admin:django_celery_beat_crontabschedule"
TASKS = "admin:django_celery_beat_periodictask"
CRON_FORM = {"minute": "5", "hour": "3", "day_of_month": "*", "month_of_year": "*",
             "day_of_week": "*", "periodictask_set-TOTAL_FORMS": "0",
             "periodictask_set-INITIAL_FORMS": "0"}  # fmt: skip


def said(client, url: str) -> list[str]:
    return [str(m) for m in client.get(url).context["messages"]]


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", "Europe"])
def test_a_crontab_whose_zone_is_unknown_here_is_shown_and_its_zone_asked_for(admin_client, zone):
    # The crontab list, the periodic task pages and the beat read every crontab: each was a
    # 500 (ValidationError, ValueError; OSError for a folder of the zone database, "Europe"),
    # and the crontab's own page said it did not exist.
    cron = CrontabSchedule.objects.create(minute="5", hour="3", timezone="UTC")
    PeriodicTask.objects.create(name="Nightly", task="enrich.check_services", crontab=cron)
    store_zone(cron, zone)
    page = admin_client.get(reverse(f"{CRONTABS}_changelist"))
    assert page.status_code == 200
    assert "At 03:05 AM " + zone + " (unknown here: choose a time zone)" in page.content.decode()
    warning = (f"The beat leaves out the periodic tasks of a crontab whose time zone is unknown "
               f"here (the others run): crontab {cron.pk} ({zone!r}). Choose its time zone on "
               "its page.")  # fmt: skip
    assert [str(m) for m in page.context["messages"]] == [warning]
    for url in (reverse(f"{TASKS}_changelist"), reverse(f"{TASKS}_add"),
                reverse(f"{TASKS}_change", args=[PeriodicTask.objects.get().pk])):  # fmt: skip
        assert admin_client.get(url).status_code == 200, url
    change = reverse(f"{CRONTABS}_change", args=[cron.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form["timezone"].value() == ""  # not the first zone of the list, as if chosen
    assert (
        form.fields["timezone"].help_text
        == f"The saved time zone {zone!r} is unknown here: choose one."
    )
    page = admin_client.post(change, {**CRON_FORM, "timezone": ""})
    assert page.context["adminform"].form.errors["timezone"] == ["This field is required."]
    assert admin_client.post(change, {**CRON_FORM, "timezone": "Europe/Zurich"}).status_code == 302
    assert str(CrontabSchedule.objects.get().timezone) == "Europe/Zurich"
    # The form's hidden copy of the zone shown (it tells what changed), sent back as a name too
    # long for a file name: a 500 (OSError) after the change was saved.
    tampered = {**CRON_FORM, "timezone": "Europe/Zurich", "initial-timezone": "x" * 300}
    assert admin_client.post(change, tampered).status_code == 302
    DatabaseScheduler(app=app, lazy=True).all_as_schedule()  # the beat loads again
    assert str(PeriodicTask.objects.get().schedule.tz) == "Europe/Zurich"


def test_a_crontab_in_the_hosts_own_zone_is_refused(admin_client):
    # 'localtime' (zoneinfo lists it: the host's /etc/localtime) was saved: the schedule moved
    # with the beat host's setting, in no place's time.
    page = admin_client.post(reverse(f"{CRONTABS}_add"), {**CRON_FORM, "timezone": "localtime"})
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["timezone"] == [
        "'localtime' is not an IANA time zone name (e.g. Europe/Berlin)."
    ]
    assert not CrontabSchedule.objects.exists()
    page = admin_client.post(reverse(f"{CRONTABS}_add"), {**CRON_FORM, "timezone": "Europe/Zurich"})
    assert page.status_code == 302


def act(client, action: str, *tasks: PeriodicTask) -> list[str]:
    url = reverse(f"{TASKS}_changelist")
    page = client.post(url, {"action": action, "_selected_action": [t.pk for t in tasks]})
    assert page.status_code == 302
    return said(client, url)


def every_5_minutes(name: str, task: str = "enrich.check_services") -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    return PeriodicTask.objects.create(name=name, task=task, interval=every)


def installed(*names: str) -> list[PeriodicTask]:
    return [PeriodicTask.objects.get(name=name) for name in names]


def test_enabling_names_the_tasks_it_enabled_and_those_enabled_already(admin_client):
    # "2 tasks were successfully enabled" of two tasks that were enabled already.
    call_command("install_schedules")
    health, meter = installed("Service health check", "Smart meter")
    PeriodicTask.objects.filter(pk=meter.pk).update(enabled=False)
    assert act(admin_client, "enable_tasks", health, meter) == [
        "Enabled: Smart meter. Already enabled: Service health check. Smart meter: as installed "
        "again, so later starts bring it up to config/schedule.py."
    ]
    assert act(admin_client, "disable_tasks", health) == [
        "Disabled: Service health check. Later starts keep Service health check as set here "
        "(install_schedules keeps an entry changed in the admin)."
    ]
    call_command("install_schedules")  # the next start
    assert [t.enabled for t in installed("Service health check", "Smart meter")] == [False, True]
    assert act(admin_client, "toggle_tasks", health, meter)[0].startswith(
        "Enabled: Service health check. Disabled: Smart meter. Later starts keep Smart meter"
    )


@pytest.mark.usefixtures("empty_queues")
def test_running_selected_tasks_sends_them_and_says_so(admin_client):
    # "1 task was successfully run": it was sent to the broker, no worker had run it.
    call_command("install_schedules")
    [health] = installed("Service health check")
    sent = sent_tasks()
    assert act(admin_client, "run_tasks", health) == [
        "Sent to the workers: Service health check. Each runs once a worker of its queue takes "
        "it (Flower shows it)."
    ]
    assert sent_tasks() == sent + 1


@pytest.mark.usefixtures("empty_queues")
def test_running_tasks_the_workers_cannot_take_sends_none_and_says_why(admin_client):
    # Arguments that are no JSON list were a 500 (written past the form); an unknown task
    # was named, but the message did not say the others were not sent either.
    good, odd, gone = (
        every_5_minutes("Good"),
        every_5_minutes("Odd"),
        every_5_minutes("Gone", "no.such.task"),
    )
    PeriodicTask.objects.filter(pk=odd.pk).update(args="not json")
    sent = sent_tasks()
    assert act(admin_client, "run_tasks", good, odd, gone) == [
        "Nothing was sent. Gone: no task 'no.such.task' is registered with the workers; Odd: "
        'its args are not a JSON list, e.g. [1, "a"]; correct them on its page.'
    ]
    assert sent_tasks() == sent


@pytest.mark.usefixtures("broker_down")
def test_running_tasks_with_the_broker_out_of_reach_says_so(admin_client):
    # A 500 (kombu's OperationalError).
    [message] = act(admin_client, "run_tasks", every_5_minutes("Good"))
    assert message.startswith(
        "Good could not be sent: Redis, the Celery broker, cannot be reached ("
    )
    assert message.endswith(". Nothing was sent.")


@pytest.mark.usefixtures("empty_queues")
def test_running_tasks_with_a_hung_broker_says_so_within_the_request(admin_client, settings):
    # A broker taking connections but never answering held the request (kombu's publish has no
    # read timeout) until gunicorn killed its worker: no message, a dropped connection.
    settings.WEB_TIMEOUT = 10
    sent = sent_tasks()
    with silent_server("redis") as url, broker_at(url):
        [message] = act(admin_client, "run_tasks", every_5_minutes("Good"))
    assert message == (
        "Good could not be sent: Redis, the Celery broker, cannot be reached (Timeout reading "
        "from socket). Nothing was sent."
    )
    assert sent_tasks() == sent


def test_deleting_one_of_enrichs_entries_says_the_next_start_installs_it_again(admin_client):
    # "deleted successfully", and the next start installed it again without a word.
    call_command("install_schedules")
    [archive], mine = installed("Archive daily aggregates"), every_5_minutes("Mine")
    url = reverse(f"{TASKS}_changelist")
    form = {"action": "delete_selected", "_selected_action": [archive.pk, mine.pk], "post": "yes"}
    page = admin_client.post(url, form, follow=True)
    assert [str(m) for m in page.context["messages"]] == [
        "Archive daily aggregates: enrich's own (config/schedule.py), installed again on the next "
        "start. To stop one for good, disable it instead: later starts keep it disabled.",
        "Successfully deleted 2 periodic tasks.",
    ]
    call_command("install_schedules")
    assert installed("Archive daily aggregates")[0].enabled
    assert not PeriodicTask.objects.filter(name="Mine").exists()


def test_the_periodic_tasks_list_says_each_installed_schedule_once_in_words(admin_client):
    # The list had a "Scheduler" column reading "*/15 * * * * (m/h/dM/MY/d) UTC" and, beside it,
    # "Interval Schedule", which repeated "every 300 seconds" for the interval tasks.
    call_command("install_schedules")
    page = admin_client.get(reverse(f"{TASKS}_changelist"))
    html = page.content.decode()
    rows = re.findall(r'<th class="field-name"><a [^>]*>([^<]*)</a></th>.*?'
                      r'<td class="field-schedule">([^<]*)</td>', html)  # fmt: skip
    shown = dict(rows)
    assert len(shown) == PeriodicTask.objects.count()
    assert {name: shown[name] for name in ("Carbon intensity", "Electricity prices",
            "Smart meter", "Current electricity price", "Archive daily aggregates")} == {
        "Carbon intensity": "Every 15 minutes UTC",
        "Electricity prices": "every hour",
        "Smart meter": "every 5 minutes",
        "Current electricity price": "Every minute UTC",
        "Archive daily aggregates": "At 03:00 AM, only on Sunday UTC",
    }  # fmt: skip
    assert not [when for when in shown.values() if "(m/h/dM/MY/d)" in when or "seconds" in when]
    headings = [column["text"] for column in page.context["result_headers"]]
    assert [capfirst(h) for h in headings][1:] == ["Name", "Enabled", "Schedule", "Start Datetime",
                                              "Last Run Datetime", "One-off Task"]  # fmt: skip


def test_a_crontabs_fields_are_labelled_in_words(admin_client):
    # "Minute(s):", "Day(s) Of The Month:", "Cron Timezone:".
    cron = CrontabSchedule.objects.create(minute="*/15", timezone="UTC")
    form = admin_client.get(reverse(f"{CRONTABS}_change", args=[cron.pk])).context["adminform"].form
    assert [form.fields[name].label for name in ("minute", "hour", "day_of_month",
            "month_of_year", "day_of_week", "timezone")] == [
        "Minutes", "Hours", "Days of the month", "Months", "Days of the week", "Time zone"]  # fmt: skip


QUEUES_SAID = "none of the workers' queues: give collectors, retention, default, or leave it empty "


@pytest.mark.parametrize(
    ("given", "field", "error"),
    [
        ({"regtask": "no.such.task"}, "regtask", "No task 'no.such.task' is registered with the workers."),
        ({"regtask": "a\x00"}, "regtask", "No task 'a\\x00' is registered with the workers."),
        ({"regtask": "x" * 300}, "regtask", f"No task {'x' * 200!r} is registered with the workers."),
        ({"regtask": "", "task": "enrich.check_servces"}, "task",
         "No task 'enrich.check_servces' is registered with the workers."),
        ({"kwargs": '{"site": 1}'}, "kwargs", "The task enrich.check_services cannot take these "
         "arguments (got an unexpected keyword argument 'site')."),
        ({"args": "[1]"}, "args", "The task enrich.check_services cannot take these arguments "
         "(too many positional arguments)."),
        ({"queue": "colectors"}, "queue", f"Its queue 'colectors' is {QUEUES_SAID}for the task's own."),
        ({"exchange": "x"}, "exchange", f"Its exchange 'x' is {QUEUES_SAID}for the task's own."),
        ({"routing_key": " é\n"}, "routing_key", f"Its routing key 'é' is {QUEUES_SAID}for the task's own."),
    ],
)  # fmt: skip
def test_a_periodic_task_no_worker_would_run_is_refused(admin_client, given, field, error):
    # Each was saved: the beat sent a task no worker has (dropped), with arguments it cannot
    # take (every run failed), to a queue or exchange no worker reads (Celery refuses to send
    # to an undeclared queue: the beat failed on every tick); a NUL or over-long task name
    # picked as registered was a 500 (PostgreSQL's DataError).
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    form = {"name": "Mine", "regtask": "enrich.check_services", "task": "", "interval": every.pk,
            "args": "[]", "kwargs": "{}", "headers": "{}", "enabled": "on", "queue": "",
            "exchange": "", "routing_key": ""}  # fmt: skip
    page = admin_client.post(reverse(f"{TASKS}_add"), {**form, **given})
    assert page.status_code == 200
    assert page.context["adminform"].form.errors[field] == [error]
    assert not PeriodicTask.objects.exists()
    form.update(queue="default", exchange="default", routing_key="default", kwargs="{}")
    assert admin_client.post(reverse(f"{TASKS}_add"), form).status_code == 302
    assert PeriodicTask.objects.get().queue == "default"


@pytest.mark.usefixtures("empty_queues")
def test_running_a_task_stored_with_a_queue_no_worker_reads_sends_none_and_says_why(admin_client):
    # A 500 (Celery's QueueNotFound) for a queue stored past the form.
    good, odd = every_5_minutes("Good"), every_5_minutes("Odd")
    PeriodicTask.objects.filter(pk=odd.pk).update(queue="colectors")
    sent = sent_tasks()
    assert act(admin_client, "run_tasks", good, odd) == [
        f"Nothing was sent. Odd: its queue 'colectors' is {QUEUES_SAID}for the task's own."
    ]
    assert sent_tasks() == sent


@pytest.mark.parametrize(
    ("days", "months"),
    [("31", "2"), ("30", "2"), ("31", "4,6,9,11"), ("30-31", "2"), ("31", "2-2")],
)
def test_a_crontab_on_a_day_no_chosen_month_has_is_refused(admin_client, days, months):
    # Saved without a word: the beat cannot read such a crontab (celery refuses the 30th of
    # February), so it left its tasks out and they never ran.
    form = {**CRON_FORM, "day_of_month": days, "month_of_year": months, "timezone": "UTC"}
    page = admin_client.post(reverse(f"{CRONTABS}_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["day_of_month"] == [
        f"No month of {months!r} has a day {days!r}: the tasks of this crontab would never run."
    ]
    assert not CrontabSchedule.objects.exists()
    form.update(day_of_month="29", month_of_year="2")  # in a leap year
    assert admin_client.post(reverse(f"{CRONTABS}_add"), form).status_code == 302
    form.update(day_of_month="31", month_of_year="2,3")
    assert admin_client.post(reverse(f"{CRONTABS}_add"), form).status_code == 302
    assert CrontabSchedule.objects.count() == 2


@pytest.mark.parametrize(
    ("every", "period"),
    [("2147483647", "days"), ("366", "days"), ("8785", "hours"), ("999999", "microseconds"),
     ("2147483647", "seconds")],
)  # fmt: skip
def test_an_interval_the_beat_cannot_keep_is_refused(admin_client, every, period):
    # Saved: 2147483647 days overflowed the beat's dates as it loaded the schedules (an
    # OverflowError: no schedule ran), 999999 microseconds had it send the task on each loop.
    url = reverse("admin:django_celery_beat_intervalschedule_add")
    form = {"every": every, "period": period, "periodictask_set-TOTAL_FORMS": "0",
            "periodictask_set-INITIAL_FORMS": "0"}  # fmt: skip
    page = admin_client.post(url, form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["every"] == [
        f"Give an interval from 1 second to 365 days (not {every} {period}); for rarer runs use "
        "a crontab."
    ]
    assert not IntervalSchedule.objects.exists()
    for every, period in (("365", "days"), ("1", "seconds"), ("1000000", "microseconds")):
        assert admin_client.post(url, {**form, "every": every, "period": period}).status_code == 302
    assert IntervalSchedule.objects.count() == 3


def test_a_periodic_task_expiring_in_the_past_is_refused(admin_client):
    # Saved: the beat disabled it at its first look, and the admin had said it was saved.
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    form = {"name": "Mine", "regtask": "enrich.check_services", "task": "", "interval": every.pk,
            "args": "[]", "kwargs": "{}", "headers": "{}", "enabled": "on",
            "expires_0": "2020-01-01", "expires_1": "00:00:00"}  # fmt: skip
    page = admin_client.post(reverse(f"{TASKS}_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["expires"] == [
        "This moment has passed: the beat would disable the task at once. Give a later one, or "
        "none."
    ]
    assert not PeriodicTask.objects.exists()
    form.update(expires_0="2999-01-01")
    assert admin_client.post(reverse(f"{TASKS}_add"), form).status_code == 302
    assert PeriodicTask.objects.get().expires.year == 2999


@pytest.mark.parametrize(("field", "value"), [("day_of_month", "-1"), ("month_of_year", "-0")])
def test_a_crontab_with_a_negative_day_or_month_is_refused_naming_the_field(
    admin_client, field, value
):
    # A 500: celery's check of the days against the months raised its ParseException ("negative
    # numbers not supported"), which is no ValueError.
    form = {**CRON_FORM, field: value, "timezone": "UTC"}
    page = admin_client.post(reverse(f"{CRONTABS}_add"), form)
    assert page.status_code == 200
    assert list(page.context["adminform"].form.errors) == [field]
    assert not CrontabSchedule.objects.exists()


@pytest.mark.parametrize("field", ["args", "kwargs", "headers"])
def test_a_periodic_tasks_json_nested_too_deep_to_read_is_a_form_error(admin_client, field):
    # A 500: Python's json raises RecursionError, which is no ValueError.
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    form = {"name": "Mine", "regtask": "enrich.check_services", "task": "", "interval": every.pk,
            "args": "[]", "kwargs": "{}", "headers": "{}", "enabled": "on",
            field: "[" * 100_000 + "]" * 100_000}  # fmt: skip
    page = admin_client.post(reverse(f"{TASKS}_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors[field] == ["Enter valid JSON: nested too deeply."]
    assert not PeriodicTask.objects.exists()
