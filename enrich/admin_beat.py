"""django-celery-beat's admin (Periodic tasks, Crontabs), with what its own forms let through.

- A periodic task's arguments, keyword arguments and message headers are checked as the beat
  reads them: a JSON list, a JSON object, a JSON object. Its form checked only that they parse:
  headers that were no JSON were saved and the beat left the task out without a word, headers
  that were JSON but no object (`[]`, `-1`) stopped the beat loading any schedule, arguments of
  the wrong shape failed every run. Empty headers (an IntegrityError, a 500) mean `{}`.
- A custom task name over 200 characters was a 500 (the form read the field it had refused).
- A crontab form refused for a bad field (`-1`) was a 500: its description was computed from
  the refused values; it is the saved schedule's.
"""

import json

from django import forms
from django.contrib import admin
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# The JSON each text field must hold for the beat to send the task, and what empty means.
JSON_SHAPES = {"args": (list, "[]"), "kwargs": (dict, "{}"), "headers": (dict, "{}")}
SHAPE_NAMES = {list: 'a JSON list, e.g. [1, "a"]', dict: 'a JSON object, e.g. {"a": 1}'}


class PeriodicTaskForm(BeatPeriodicTaskForm):
    def _clean_json(self, field: str) -> str:
        shape, empty = JSON_SHAPES[field]
        text = self.cleaned_data.get(field) or empty
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Enter valid JSON: {exc}.") from None
        if not isinstance(value, shape):
            raise forms.ValidationError(f"Enter {SHAPE_NAMES[shape]}; the beat cannot send this.")
        return text

    def clean_headers(self) -> str:
        return self._clean_json("headers")

    def clean(self) -> dict:
        if "task" in self.errors:  # refused (too long): the base form would read it anyway
            return self.cleaned_data
        return super().clean()


class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    form = PeriodicTaskForm


class CrontabScheduleAdmin(BeatCrontabScheduleAdmin):
    @admin.display(description="human readable")
    def human_readable(self, obj: CrontabSchedule) -> str:
        stored = CrontabSchedule.objects.filter(pk=obj.pk).first()
        return stored.human_readable if stored else "-"


for model, model_admin in ((PeriodicTask, PeriodicTaskAdmin),
                           (CrontabSchedule, CrontabScheduleAdmin)):  # fmt: skip
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
