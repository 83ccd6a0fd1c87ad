"""django-celery-beat's crontab time zones, read as the database holds them.

A crontab row whose time zone this host's zone database cannot load (written past the admin's
form: SQL, a fixture, a database moved from a host whose zone database had the name) would fail
as it is read: the admin's crontab list and every periodic task page listing it would be a 500,
and its own page would say it does not exist. Such a row reads as an `UnknownZone` (the stored
name, saved back as it was): the admin shows it, says what it stops, and asks for a zone
(enrich.admin_beat). The beat leaves such a crontab's tasks out and runs every other schedule
(enrich.beat_scheduler).
"""

from django.core.exceptions import ValidationError
from django_celery_beat.models import CrontabSchedule


class UnknownZone(str):
    """A stored crontab time zone name this host's zone database cannot load."""


def unknown_zone(crontab: CrontabSchedule) -> str:
    """The crontab's stored zone name when it cannot be loaded, else ""."""
    return str(crontab.timezone) if isinstance(crontab.timezone, UnknownZone) else ""


def read_unknown_zones() -> None:
    """Make CrontabSchedule read a stored zone it cannot load as an UnknownZone (once)."""
    field = CrontabSchedule._meta.get_field("timezone")
    if getattr(field, "reads_unknown_zones", False):
        return
    python_and_db, from_db = field._get_python_and_db_repr, field.from_db_value

    def get_python_and_db(value):
        if isinstance(value, UnknownZone):  # as read: saved back as it was
            return value, str(value)
        try:
            return python_and_db(value)
        except OSError:  # a folder of the zone database ("Europe"), a name too long for a file
            raise ValidationError(f"Invalid timezone {str(value)[:100]!r}") from None

    def from_db_value(value, *args):
        try:
            return from_db(value, *args)
        except (ValidationError, ValueError):  # ValueError: a name such as "../x"
            return UnknownZone(value)

    field._get_python_and_db_repr, field.from_db_value = get_python_and_db, from_db_value
    field.reads_unknown_zones = True
