"""The Google Calendar adapter's options read, or refused with a ConfigError naming the option:
the calendars and whose they are (`calendars`, `person`), and the prediction rules. Both are
option parsers of GoogleCalendarAdapter: the admin refuses what they refuse before saving, and
dispatch refuses it, with the same message, before any call."""

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from collectors.base import ConfigError, tag_option
from collectors.occupancy.google import prediction


def _strings(options: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = options.get(name, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"google_calendar: options.{name} must be a list of strings, e.g. {list(default)}."
        )
    return tuple(value)


def _minutes(options: Mapping[str, Any], name: str, default: int) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 24 * 60:
        raise ConfigError(
            f"google_calendar: options.{name} must be a number of minutes from 0 to 1440 "
            f"(default {default}); got {value!r}."
        )
    return float(value)


def _working_hours(options: Mapping[str, Any]) -> tuple[time, time]:
    value = options.get("working_hours", "09:00-17:00")
    found = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", str(value))
    hours = found and (time(int(found[1]), int(found[2])), time(int(found[3]), int(found[4])))
    if not isinstance(value, str) or not hours or hours[0] == hours[1]:
        raise ConfigError(
            "google_calendar: options.working_hours must be a start and an end, e.g. "
            f'"09:00-17:00" (default; "22:00-06:00" ends the next day); got {value!r}.'
        )
    return hours


def rules_from(options: Mapping[str, Any]) -> prediction.Rules:
    home_address = options.get("home_address", "")
    if not isinstance(home_address, str):
        raise ConfigError(
            "google_calendar: options.home_address must be text (your street address)."
        )
    return prediction.Rules(
        home_keywords=_strings(options, "home_keywords", prediction.DEFAULT_HOME_KEYWORDS),
        home_address=home_address,
        online_keywords=_strings(options, "online_keywords", prediction.DEFAULT_ONLINE_KEYWORDS),
        travel_minutes=_minutes(options, "travel_minutes", prediction.DEFAULT_TRAVEL_MINUTES),
        lead_minutes=_minutes(options, "lead_minutes", prediction.DEFAULT_LEAD_MINUTES),
        working_hours=_working_hours(options),
    )


def calendars_from(options: Mapping[str, Any]) -> list[dict[str, str]]:
    """[{id, person}] from options.calendars (default: the primary calendar)."""
    raw = options.get("calendars", ["primary"])
    default_person = options.get("person") or options.get("account") or "primary"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            'google_calendar: options.calendars must be a non-empty list, e.g. ["primary"] or '
            '[{"id": "family@group.calendar.google.com", "person": "alex"}].'
        )
    calendars = []
    for entry in raw:
        if isinstance(entry, str) and entry:
            calendars.append({"id": entry, "person": str(default_person)})
        elif isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"]:
            person = entry.get("person")
            if person == prediction.HOUSEHOLD:
                raise _reserved(f"the person of options.calendars entry {entry!r}")
            calendars.append({"id": entry["id"], "person": str(person or default_person)})
        else:
            raise ConfigError(
                f"google_calendar: options.calendars entry {entry!r} is neither a calendar id nor "
                '{"id": ..., "person": ...}.'
            )
    for calendar in calendars:
        if calendar["person"] == prediction.HOUSEHOLD:  # the default person: options.person
            raise _reserved("options.person" if options.get("person") else "the account")
        tag_option("google_calendar: the person", calendar["person"])
    return calendars


def _reserved(where: str) -> ConfigError:
    """The person named `household`: its points would be the same series as the household's
    (person=household) and one of them would overwrite the other at every fetch."""
    return ConfigError(
        f"google_calendar: {where} is {prediction.HOUSEHOLD!r}, a reserved word: the points "
        f"with person={prediction.HOUSEHOLD} are the whole household's (anyone home), and this "
        "person's would overwrite them. Give the person another name, e.g. their first name."
    )
