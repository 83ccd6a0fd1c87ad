"""Reading calendar events: Google's JSON to `CalendarEvent`s the rules in prediction.py read,
and the local days they are read for (the horizon: today and tomorrow, DST-aware)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from collectors.answers import STORABLE


@dataclass(frozen=True)
class CalendarEvent:
    """One event as the rules need it (built by `parse_event` from the API's JSON)."""

    summary: str
    start: datetime  # aware
    end: datetime  # aware, exclusive
    all_day: bool = False
    location: str = ""
    event_type: str = "default"
    transparent: bool = False
    working_location: str = ""  # homeOffice | officeLocation | customLocation
    working_location_label: str = ""


# Arithmetic and comparisons run in UTC: Python compares and subtracts two datetimes that
# share a ZoneInfo by wall clock, which is wrong across a DST change.


def horizon(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight today .. the end of tomorrow (local midnight after it), in the site's
    zone (DST-aware: days of 23 h or 25 h exist)."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=2), time(0), tzinfo=zone)
    return start, end


def _when(value: Any, what: str, zone: tzinfo) -> tuple[datetime, bool]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} is not an object")
    all_day = not isinstance(value.get("dateTime"), str)
    key = "date" if all_day else "dateTime"
    if not isinstance(value.get(key), str):
        raise ValueError(f"{what} has neither 'dateTime' nor 'date'")
    what = f"{what}.{key} {value[key]!r:.60}"
    try:
        if all_day:
            moment = datetime.combine(date.fromisoformat(value[key]), time(0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(value[key])
    except ValueError:
        raise ValueError(f"{what} is not an ISO 8601 {'date' if all_day else 'time'}") from None
    if moment.tzinfo is None:  # RFC3339 requires an offset; be strict about guessing
        raise ValueError(f"{what} has no UTC offset")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        utc = None
    # The rules add days and minutes to event times: near years 1 and 9999 that overflows.
    if utc is None or not STORABLE[0] <= utc < STORABLE[1]:
        raise ValueError(f"{what} is outside the years 1678-2261")
    return utc, all_day


def _field(obj: Mapping[str, Any], key: str, kind: type, what: str, within: str = "") -> Any:
    """`obj[key]` when it is a `kind` (str or Mapping), None when absent or null."""
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        wanted = "text" if kind is str else "an object"
        shown = f"{type(value).__name__} {value!r:.60}"
        raise ValueError(f"{what} {within}{key} is {shown}, not {wanted}")
    return value


def _going(item: Mapping[str, Any], attendees: list, what: str) -> bool:
    """Whether the calendar's owner goes: not when they declined, nor when an invitation of
    someone else's waits for their answer (Google puts invitations in the calendar before
    any answer); "maybe" (tentative) counts as going, as their own event does. An invitation
    through a group lists the group, not the calendar (no `self` entry), until its owner
    answers (Google then adds them): unanswered too, unless Google left attendees out or the
    event is a private copy (`privateCopy`: nobody's invitation)."""
    mine = [a for a in attendees if a.get("self")]
    answer = mine[0].get("responseStatus") if mine else None
    if answer == "declined":
        return False
    organiser = _field(item, "organizer", Mapping, what) or {}
    if organiser.get("self") or (mine and mine[0].get("organizer")):
        return True
    if not mine:
        return not attendees or True in (item.get("attendeesOmitted"), item.get("privateCopy"))
    return answer != "needsAction"


def parse_event(item: Any, zone: tzinfo) -> CalendarEvent | None:
    """The event, or None when it does not count (cancelled, declined, not answered, birthday).

    Raises ValueError saying what is wrong with an event the rules cannot read.
    """
    if not isinstance(item, Mapping):
        raise ValueError("an event is not an object")
    what = f"event {item.get('id', '?')}"
    status, event_type = _field(item, "status", str, what), _field(item, "eventType", str, what)
    if status == "cancelled" or event_type == "birthday":
        return None
    attendees = item.get("attendees") or []
    if not isinstance(attendees, list) or not all(isinstance(a, Mapping) for a in attendees):
        raise ValueError(f"{what} attendees is not a list of objects")
    if not _going(item, attendees, what):
        return None
    start, all_day = _when(item.get("start"), f"{what} start", zone)
    end, _ = _when(item.get("end"), f"{what} end", zone)
    if end < start:
        raise ValueError(f"{what} ends ({end.isoformat()}) before it starts")
    working = _field(item, "workingLocationProperties", Mapping, what) or {}
    kind = _field(working, "type", str, what, "workingLocationProperties.") or ""
    label = ""
    if kind in ("customLocation", "officeLocation"):
        place = _field(working, kind, Mapping, what, "workingLocationProperties.") or {}
        label = _field(place, "label", str, what, f"workingLocationProperties.{kind}.") or ""
    return CalendarEvent(
        summary=_field(item, "summary", str, what) or "",
        start=start,
        end=end,
        all_day=all_day,
        location=_field(item, "location", str, what) or "",
        event_type=event_type or "default",
        transparent=_field(item, "transparency", str, what) == "transparent",
        working_location=kind,
        working_location_label=label,
    )
