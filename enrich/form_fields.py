"""Number fields of the forms (the first-run setup, the admin) that read a number as the API does
(enrich.numerals): digits 0-9 only. Django's FloatField and IntegerField read with float() and
int(), which also take other scripts' digits ("١٢", full-width "１２") and "1_0": a site at
latitude "１２" would be saved at 12, a load of "١" hour as 1. Spaces around the number are dropped,
as a person may type them; NaN, infinities and numbers past a float (1e400) are refused, as
Django's FloatField refuses them."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.db import models

from enrich.numerals import decimal, whole


def _read(field: forms.Field, value: Any, reader: Callable[[str], Any]) -> Any:
    """`value` (text a form was sent) read by `reader` (None: it is no number), spaces around it
    dropped; None when it is empty."""
    text = str(value or "").strip()
    if not text:
        return None
    number = reader(text)
    if number is None:
        raise forms.ValidationError(field.error_messages["invalid"], code="invalid")
    return number


class Number(forms.FloatField):
    """A number; refused, the message shows `example`, a number the field takes (a load's hours
    cannot be negative: not a longitude's -0.12)."""

    def __init__(self, *, example: str = "2.5", **kwargs: Any) -> None:
        said = {"invalid": f"Enter a number in the digits 0-9, e.g. {example}."}
        super().__init__(error_messages=said | (kwargs.pop("error_messages", None) or {}), **kwargs)

    def to_python(self, value: Any) -> float | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return super().to_python(value)  # a value the form was given as a number
        return _read(self, value, decimal)


class Whole(forms.IntegerField):
    default_error_messages = {"invalid": "Enter a whole number in the digits 0-9, e.g. 3600."}

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return _read(self, value, whole)


# A site's position, each with its example (a ModelForm's Meta.field_classes).
POSITION = {"latitude": partial(Number, example="51.5"),
            "longitude": partial(Number, example="-0.12")}  # fmt: skip

# An admin's (or inline's) formfield_overrides: its model's number fields read as above.
ADMIN_NUMBERS = {
    models.FloatField: {"form_class": Number},
    models.IntegerField: {"form_class": Whole},
}
