"""A list action posted for rows another user deleted since the list was shown: every action of
enrich's admins says none of them exists any more and does nothing (Django ran it on no row:
"Delete selected" said nothing, "Run selected tasks" said "Sent to the workers: ." and the
entities' switches "0 entities"); of a selection partly gone, the rows left are acted on."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.support.bad_input import sent_tasks
from tests.support.broker import empty_queues  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

# enrich's admins: its apps' models, and the periodic tasks, crontabs, intervals and login
# attempts it customises (django-celery-beat's clocked and solar schedules and axes' logs keep
# their own admin).
CUSTOMISED = ("django_celery_beat.PeriodicTask", "django_celery_beat.CrontabSchedule",
              "django_celery_beat.IntervalSchedule", "axes.AccessAttempt")  # fmt: skip
OURS = [
    model
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label)
    if model._meta.app_label in ("enrich", "collectors", "retention")
    or model._meta.label in CUSTOMISED
]


def actions(model) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = type("Staff", (), {"has_perm": lambda *_: True})()
    return list(admin.site._registry[model].get_actions(request))


ACTIONS = [(model, name) for model in OURS for name in actions(model)]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def said(client, url: str, data: dict) -> list[str]:
    page = client.post(url, data)
    assert page.status_code == 302
    return [str(m) for m in client.get(url).context["messages"]]


@pytest.mark.usefixtures("empty_queues")
@pytest.mark.parametrize("confirmed", [False, True], ids=["asked", "confirmed"])
@pytest.mark.parametrize(("model", "action"), ACTIONS, ids=lambda x: getattr(x, "__name__", x))
def test_an_action_on_rows_deleted_meanwhile_says_so_and_does_nothing(
    admin_client, model, action, confirmed
):
    sent = sent_tasks()
    form = {
        "action": action,
        "_selected_action": ["999999"],
        **({"post": "yes"} if confirmed else {}),
    }
    assert said(admin_client, changelist(model), form) == [
        f"None of the selected {model._meta.verbose_name_plural} exists any more (deleted since "
        "the list was shown): nothing was done."
    ]
    assert sent_tasks() == sent


@pytest.mark.usefixtures("empty_queues")
def test_of_a_selection_partly_gone_the_rows_left_are_acted_on(admin_client):
    every = IntervalSchedule.objects.create(every=5, period="minutes")
    good = PeriodicTask.objects.create(name="Good", task="enrich.check_services", interval=every)
    sent = sent_tasks()
    form = {"action": "run_tasks", "_selected_action": [good.pk, 999999]}
    assert said(admin_client, changelist(PeriodicTask), form) == [
        "Sent to the workers: Good. Each runs once a worker of its queue takes it (Flower shows it)."
    ]
    assert sent_tasks() == sent + 1
