"""A realistic week of one person's Google Calendar, as events.list pages give it, and what
its owner expects the occupancy to be at any minute of it, worked out from the events here.

The week runs from Thursday 26 March 2026 to Wednesday 1 April 2026 (Berlin), over the night
Berlin's clocks skip 02:00-03:00 (Sunday 29 March). Times are what the person sees in Berlin;
the pages give them as Google does, in the calendar's own zone (the answer's `timeZone`), which
may be New York's: five hours behind Berlin until that night (New York changed on 8 March),
six after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
ME = "alex.morgan@example.com"
SAM = "sam.lee@example.com"
TRAVEL = timedelta(minutes=30)  # travel_minutes' default
LEAD = timedelta(minutes=60)  # lead_minutes' default
FIRST_DAY = date(2026, 3, 26)  # a Thursday
DAYS = 7


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """`hour`:`minute` in Berlin on the week's `day` (0: Thursday 26 March)."""
    return datetime.combine(FIRST_DAY + timedelta(days=day), time(hour, minute), BERLIN)


def midnight(day: int, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=day), time(0), zone)


@dataclass(frozen=True)
class Planned:
    """One event of the week, as its owner entered it (Berlin times), and what it means."""

    ident: str
    summary: str
    start: datetime | date
    end: datetime | date  # exclusive (an all-day event's end date too)
    location: str = ""
    event_type: str = "default"
    transparent: bool = False
    status: str = "confirmed"
    my_answer: str = ""  # responseStatus of the person's own attendee entry ("" = no attendees)
    organised_by_me: bool = True
    recurring: str = ""
    extra: tuple = ()
    away: bool = False  # what the owner expects: away while it runs (+ the way home)
    home_day: bool = False  # a home-office day (wfh_today)

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    def span(self, zone: ZoneInfo = BERLIN) -> tuple[datetime, datetime]:
        if self.all_day:
            return (
                datetime.combine(self.start, time(0), zone).astimezone(UTC),
                datetime.combine(self.end, time(0), zone).astimezone(UTC),
            )
        return self.start.astimezone(UTC), self.end.astimezone(UTC)

    def item(self, calendar_zone: ZoneInfo) -> dict:
        """The events.list item: dateTime in the calendar's zone (Google's default), with the
        event's time zone; date for an all-day event."""
        if self.all_day:
            when = ({"date": self.start.isoformat()}, {"date": self.end.isoformat()})
        else:
            zone = BERLIN if self.recurring else calendar_zone
            when = tuple(
                {"dateTime": t.astimezone(calendar_zone).isoformat(), "timeZone": zone.key}
                for t in (self.start, self.end)
            )
        organizer = {"email": ME, "self": True} if self.organised_by_me else {"email": SAM}
        item = {
            "kind": "calendar#event",
            "etag": '"3541234567890000"',
            "id": self.ident,
            "status": self.status,
            "htmlLink": f"https://www.google.com/calendar/event?eid={self.ident}",
            "summary": self.summary,
            "creator": organizer,
            "organizer": organizer,
            "start": when[0],
            "end": when[1],
            "iCalUID": f"{self.ident}@google.com",
            "sequence": 0,
            "eventType": self.event_type,
        }
        if self.location:
            item["location"] = self.location
        if self.transparent:
            item["transparency"] = "transparent"
        if self.recurring:
            item["recurringEventId"] = self.recurring
            item["originalStartTime"] = when[0]
        if self.my_answer:
            me = {"email": ME, "self": True, "responseStatus": self.my_answer}
            other = {"email": SAM, "responseStatus": "accepted"}
            if self.organised_by_me:
                me["organizer"] = True
                other["responseStatus"] = "needsAction"
            else:
                other["organizer"] = True
            item["attendees"] = [other, me]
        item.update(dict(self.extra))
        return item


def _office(day: int, **more) -> Planned:
    stamp = local(day, 9).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Planned(
        f"office_{stamp}",
        "Office",
        local(day, 9),
        local(day, 17, 30),
        location="Alexanderplatz 1, 10178 Berlin",
        recurring="office",
        away=True,
        **more,
    )


HOME_OFFICE = (("workingLocationProperties", {"type": "homeOffice", "homeOffice": {}}),)
AT_THE_DOCTOR = (
    ("outOfOfficeProperties", {"autoDeclineMode": "declineOnlyNewConflictingInvitations",
                               "declineMessage": "At the doctor's"}),
)  # fmt: skip
FREE = {"transparent": True}  # Google's default for an all-day event

# fmt: off
WEEK: tuple[Planned, ...] = (
    # Thursday 26 March: the office, then a dinner the person answered "maybe" to
    _office(0),
    Planned("teamdinner", "Team dinner", local(0, 19), local(0, 21, 30),
            "Lokal, Linienstraße 160, 10115 Berlin", my_answer="tentative",
            organised_by_me=False, away=True),
    # Friday 27 March: the office, then a party across midnight
    _office(1),
    Planned("party", "Sam's birthday party", local(1, 21), local(2, 2),
            "Warschauer Straße 10, 10243 Berlin", my_answer="accepted", organised_by_me=False,
            away=True),
    # Saturday 28 March: the person's own event (no attendees), an invitation they declined
    Planned("market", "Farmers market", local(2, 10), local(2, 11), "Kollwitzplatz, Berlin",
            away=True),
    Planned("football", "Football", local(2, 14), local(2, 16), "Olympiastadion Berlin",
            my_answer="declined", organised_by_me=False),
    # The night the clocks skip an hour: 23:00 CET to 05:00 CEST, six hours
    Planned("club", "Club night", local(2, 23), local(3, 5), "Am Wriezener Bahnhof, Berlin",
            away=True),
    # Sunday 29 March (23 hours): a brunch the person organises, the guest not answering yet
    Planned("brunch", "Brunch", local(3, 11, 30), local(3, 13),
            "Kollwitzstraße 83, 10435 Berlin", my_answer="accepted", away=True),
    # Monday 30 March: a home-office day, focus time, an afternoon off, an unanswered invitation
    _office(4, status="cancelled"),
    Planned("home0330", "Home", date(2026, 3, 30), date(2026, 3, 31),
            event_type="workingLocation", extra=HOME_OFFICE, home_day=True, **FREE),
    Planned("focus", "Focus time", local(4, 8), local(4, 9), event_type="focusTime"),
    Planned("doctor", "Out of office", local(4, 13), local(4, 17), event_type="outOfOffice",
            extra=AT_THE_DOCTOR, away=True),
    # not answered: an invitation Google put in the calendar, no plan of the person's
    Planned("bookclub", "Book club", local(4, 19, 30), local(4, 21),
            "Schönhauser Allee 36, 10435 Berlin", my_answer="needsAction",
            organised_by_me=False),
    # Tuesday 31 March: a day trip, entered as an all-day event
    _office(5, status="cancelled"),
    Planned("hamburg", "Day trip to Hamburg", date(2026, 3, 31), date(2026, 4, 1), "Hamburg",
            away=True, **FREE),
    # Wednesday 1 April: a vacation of several days begins, with the flight Gmail added
    _office(6, status="cancelled"),
    Planned("lisbon", "Vacation in Lisbon", date(2026, 4, 1), date(2026, 4, 6),
            "Lisbon, Portugal", away=True, **FREE),
    Planned("flight", "Flight to Lisbon (TP 541)", local(6, 7, 15), local(6, 10, 40),
            "Berlin Brandenburg Airport (BER)", event_type="fromGmail", away=True),
)
# fmt: on


def page_of(items: list[dict], calendar_zone: ZoneInfo, token: str | None) -> dict:
    page = {
        "kind": "calendar#events",
        "etag": '"p33c8o0kq7quou0o"',
        "summary": ME,
        "updated": "2026-03-25T18:00:00.000Z",
        "timeZone": calendar_zone.key,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
        "items": items,
    }
    if token:
        page["nextPageToken"] = token
    return page


def listed(time_min: datetime, time_max: datetime, calendar_zone: ZoneInfo) -> list[dict]:
    """What events.list answers for timeMin..timeMax (singleEvents, orderBy startTime): the
    events ending after timeMin and starting before timeMax, all-day ones in the calendar's
    zone, cancelled instances of a recurring event included (as Google lists them with
    singleEvents)."""
    chosen = [
        p for p in WEEK if (span := p.span(calendar_zone))[1] > time_min and span[0] < time_max
    ]
    chosen.sort(key=lambda p: p.span(calendar_zone)[0])
    return [p.item(calendar_zone) for p in chosen]


# --- what the person expects --------------------------------------------------------------


@dataclass(frozen=True)
class Away:
    start: datetime
    end: datetime  # when the event ends (UTC)
    all_day: bool

    @property
    def arrival(self) -> datetime:
        return self.end if self.all_day else self.end + TRAVEL


def away_spans() -> list[Away]:
    """Each away event's start and end (a timed one is away up to `arrival`, on the way)."""
    return [Away(*p.span(), p.all_day) for p in WEEK if p.away and p.status != "cancelled"]


def expected(moment: datetime) -> dict:
    """currently_home, wfh_today, next_arrival_time and prepare_time at `moment` (UTC), as
    the person reads their week: away at an away event and on the way home from a timed one;
    the day's last arrival of the next day with an away event, or the end of the away event
    still running then (docs/providers.md), of the events a fetch reads (to the end of
    tomorrow)."""
    spans = away_spans()
    home = not any(s.start <= moment < s.arrival for s in spans)
    today = moment.astimezone(BERLIN).date()
    day_start = datetime.combine(today, time(0), BERLIN).astimezone(UTC)
    day_end = datetime.combine(today + timedelta(days=1), time(0), BERLIN).astimezone(UTC)
    wfh = any(p.home_day and p.span()[0] < day_end and p.span()[1] > day_start for p in WEEK)
    ahead = sorted((s for s in spans if s.arrival > moment), key=lambda s: s.start)
    # only what a fetch can see: events up to the end of tomorrow (of the fetch's slot)
    slot = moment - timedelta(minutes=moment.minute % 15, seconds=moment.second)
    horizon = datetime.combine(
        slot.astimezone(BERLIN).date() + timedelta(days=2), time(0), BERLIN
    ).astimezone(UTC)
    ahead = [s for s in ahead if s.start < horizon]
    value = {"currently_home": home, "wfh_today": wfh}
    if ahead:
        day = max(ahead[0].start, moment - TRAVEL).astimezone(BERLIN).date()
        end = datetime.combine(day + timedelta(days=1), time(0), BERLIN).astimezone(UTC)
        arrival = max(s.arrival for s in ahead if s.start < end)
        while running := [s.arrival for s in ahead if s.start <= arrival < s.arrival]:
            arrival = max(running)  # still away then (a trip, then a vacation): not home yet
        value["next_arrival_time"] = arrival.astimezone(BERLIN).isoformat()
        value["prepare_time"] = (arrival - LEAD).astimezone(BERLIN).isoformat()
    return value
