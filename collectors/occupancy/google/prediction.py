"""Who is home, now and later today, from calendar events: pure rules, no I/O.

Events (read by events.py) are read for a horizon from local midnight today to local midnight
after tomorrow (the site's time zone), so today and tomorrow are both known whole: the last away
event of tomorrow, and so the arrival after it, may be in the afternoon (and the events that
ended up to ``travel_minutes`` before it: the way home from them runs past midnight).
Cancelled events, events the person declined, invitations they have not answered (Google's
``needsAction``, or through a group, listed without them; an event they organise counts)
and birthdays are ignored; an invitation
answered "maybe" (``tentative``) counts as going. An all-day event covers local midnight of its
start date to local midnight of its end date (Google's end date is exclusive).

Signals. Each event gives at most one, named by the rule that produced it. A rule's
confidence says how directly the calendar states where the person is, on a ladder from
0.5 ("no information": a coin toss about being home) towards 1.0 (never reached: plans change):

- ``working_location`` (0.95): a Google working-location status event. The person set it
  for exactly this purpose: ``homeOffice`` (or a custom location naming home) is a home
  signal; an office or other custom location is an away signal while it runs, an all-day one
  (Google's span one day and hold for the person's working hours, which the API does not
  give) during ``working_hours`` of its day (default 09:00-17:00, the site's time).
- ``out_of_office`` (0.90): a Google out-of-office status event: structured, but it states
  absence from work, and being away from home is inferred. Away signal.
- ``keyword`` (0.80): a home keyword (``home_keywords``, default WFH and HOME; whole words,
  any case) in the title, or in a location that names home (no address: no number in it; or
  ``home_address``). Explicit, but free text. Home signal, also from transparent ("free")
  events: an all-day "WFH" marked free still says where they work.
- ``event_location`` (0.70): a busy (opaque) timed event, or an all-day one busy or free,
  at a physical place that is not home (not naming home as above, not ``home_address``, not a
  URL or online-meeting word): being there is inferred from where the event happens. Away
  signal, whatever the title says ("Home game" at a stadium, "The Home Depot, 1 Main St").
  Free (transparent) timed events and events without a location are not away signals; an
  all-day event's free/busy says nothing (Google makes all-day events free unless told
  otherwise: a day trip or a vacation entered as one is "free").
- ``default_home`` (0.50): no signal covers the moment: assume home, the usual state
  outside scheduled commitments, with no information beyond that.

Presence at a moment: a timed away signal covers it until ``travel_minutes`` after its end
(on the way home: away until the arrival). Timed signals covering it outrank all-day ones (they are
more specific: a dentist appointment, and the way back, during an all-day "home office" day
means away for that time). Among
the signals left, the strongest home and strongest away signal are compared (a missing side
counts as the 0.5 default). The stronger side decides; confidence is
0.5 + (stronger - weaker), so agreeing evidence keeps the strongest rule's confidence and
conflicting evidence lowers it (equal strength: home, 0.5).

Per person: ``currently_home`` (presence now), ``wfh_today`` (any home signal today),
``next_arrival_time`` (end of the last away event of the day of the next away event, plus
``travel_minutes``, default 30, for a timed one, so still ahead while the person is on the way;
an all-day one's end as it is, when presence turns home; the end of an away event still running
then instead, a vacation the day after a day trip; omitted when no away event lies ahead),
``prepare_time`` (arrival minus ``lead_minutes``, default 60).
``confidence`` is the confidence of ``currently_home``.

Household (person "household"): home when anyone is home (confidence of the most confident
person at home); away when nobody is (confidence of the least confident person, the weakest
link); WFH when anyone works from home; next arrival = the earliest person's, unless someone
is home and has no away event ahead (the house stays occupied: no arrival).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from collectors.occupancy.google.events import CalendarEvent
from retention.timeutil import day_start

HOUSEHOLD = "household"
DEFAULT_HOME_KEYWORDS = ("WFH", "HOME")
DEFAULT_ONLINE_KEYWORDS = (
    "Zoom",
    "Teams",
    "Google Meet",
    "Webex",
    "Skype",
    "online",
    "virtual",
    "phone",
)
DEFAULT_TRAVEL_MINUTES = 30
DEFAULT_LEAD_MINUTES = 60
DEFAULT_WORKING_HOURS = (time(9), time(17))

# The rules, from most to least explicit (see the module docstring for why each sits where).
RULES: dict[str, float] = {
    "working_location": 0.95,
    "out_of_office": 0.90,
    "keyword": 0.80,
    "event_location": 0.70,
    "default_home": 0.50,
}
NO_INFORMATION = RULES["default_home"]


@dataclass(frozen=True)
class Rules:
    home_keywords: Sequence[str] = DEFAULT_HOME_KEYWORDS
    home_address: str = ""
    online_keywords: Sequence[str] = DEFAULT_ONLINE_KEYWORDS
    travel_minutes: float = DEFAULT_TRAVEL_MINUTES
    lead_minutes: float = DEFAULT_LEAD_MINUTES
    working_hours: tuple[time, time] = DEFAULT_WORKING_HOURS  # an end not after the start: +1 day

    def __post_init__(self) -> None:
        object.__setattr__(self, "_home", _words(self.home_keywords))
        object.__setattr__(self, "_online", _words(self.online_keywords))

    def is_home_text(self, text: str) -> bool:
        return bool(text) and self._home is not None and bool(self._home.search(text))

    def is_home_place(self, location: str) -> bool:
        """`home_address` in it, or a home keyword in a place that is no address (a number in
        it): "Home", "WFH"; in "The Home Depot, 1 Main St" the word is part of a name."""
        home = _normalise(self.home_address)
        if home and home in _normalise(location):
            return True
        return self.is_home_text(location) and not any(c.isdigit() for c in location)

    def is_physical_place(self, location: str) -> bool:
        text = location.strip()
        if not text or "://" in text or text.lower().startswith("www."):
            return False
        return not (self._online is not None and self._online.search(text))


def _words(words: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = [w.strip() for w in words if w and w.strip()]
    if not cleaned:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, cleaned)) + r")(?!\w)", re.I)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


@dataclass(frozen=True)
class Signal:
    home: bool
    rule: str
    start: datetime
    end: datetime
    event: str
    all_day: bool = False

    @property
    def confidence(self) -> float:
        return RULES[self.rule]

    def covers(self, moment: datetime, travel: timedelta) -> bool:
        """From the start to the end; a timed away signal `travel` longer (on the way home)."""
        return self.start <= moment < self.end + (travel if self.on_the_way else timedelta(0))

    @property
    def on_the_way(self) -> bool:
        return not (self.home or self.all_day)


@dataclass(frozen=True)
class Prediction:
    person: str
    currently_home: bool
    wfh_today: bool
    confidence: float
    rule: str  # the rule that decided currently_home
    next_arrival_time: datetime | None = None
    prepare_time: datetime | None = None
    signals: tuple[Signal, ...] = field(default=(), repr=False)

    def fields(self) -> dict[str, Any]:
        """InfluxDB fields: flags as booleans, times as ISO strings (omitted when unknown)."""
        values: dict[str, Any] = {
            "currently_home": self.currently_home,
            "wfh_today": self.wfh_today,
            "confidence": float(self.confidence),
        }
        if self.next_arrival_time is not None:
            values["next_arrival_time"] = self.next_arrival_time.isoformat()
        if self.prepare_time is not None:
            values["prepare_time"] = self.prepare_time.isoformat()
        return values


# --- rules -----------------------------------------------------------------------------------


def signal_of(event: CalendarEvent, rules: Rules, zone: tzinfo) -> Signal | None:
    def make(home: bool, rule: str) -> Signal:
        return Signal(home, rule, event.start, event.end, event.summary, event.all_day)

    if event.event_type == "workingLocation":
        if event.working_location == "homeOffice" or (
            event.working_location_label and rules.is_home_place(event.working_location_label)
        ):
            return make(True, "working_location")
        if event.working_location not in ("officeLocation", "customLocation"):
            return None
        if not event.all_day:
            return make(False, "working_location")
        # Google's all-day working location is one day's, for the working hours.
        day = event.start.astimezone(zone).date()
        begin, until = (datetime.combine(day, t, tzinfo=zone) for t in rules.working_hours)
        if until <= begin:
            until = datetime.combine(day + timedelta(days=1), rules.working_hours[1], tzinfo=zone)
        return Signal(False, "working_location", begin.astimezone(UTC), until.astimezone(UTC),
                      event.summary)  # fmt: skip
    if event.event_type == "outOfOffice":
        return make(False, "out_of_office")
    at_home = rules.is_home_place(event.location)
    # Google makes an all-day event "free" unless told otherwise: its free/busy says nothing.
    # Where a busy event takes place outranks a word of its title ("Home game", at a stadium).
    busy = event.all_day or not event.transparent
    if busy and rules.is_physical_place(event.location) and not at_home:
        return make(False, "event_location")
    if rules.is_home_text(event.summary) or (at_home and rules.is_home_text(event.location)):
        return make(True, "keyword")
    return None


def _presence(signals: Sequence[Signal], moment: datetime, rules: Rules) -> tuple[bool, float, str]:
    covering = [s for s in signals if s.covers(moment, timedelta(minutes=rules.travel_minutes))]
    timed = [s for s in covering if not s.all_day]
    if timed:  # more specific in time: an appointment beats the all-day note around it
        covering = timed
    home = max((s for s in covering if s.home), key=_strength, default=None)
    away = max((s for s in covering if not s.home), key=_strength, default=None)
    home_c = home.confidence if home else NO_INFORMATION
    away_c = away.confidence if away else NO_INFORMATION
    if away is not None and away_c > home_c:
        return False, round(0.5 + (away_c - home_c), 4), away.rule
    if home is not None:
        return True, round(0.5 + (home_c - away_c), 4), home.rule
    return True, NO_INFORMATION, "default_home"


def _strength(signal: Signal) -> float:
    return signal.confidence


def _next_arrival(
    signals: Sequence[Signal], now: datetime, zone: tzinfo, rules: Rules
) -> datetime | None:
    """The latest arrival of the next away day's away signals: a timed one's end plus the way
    home, an all-day one's end (a trip: the calendar says nothing of the way back, and presence
    turns home then: adding the way home would give 00:30 for a person home from midnight)."""
    travel = timedelta(minutes=rules.travel_minutes)

    def arrival(signal: Signal) -> datetime:
        return signal.end + (travel if signal.on_the_way else timedelta(0))

    ahead = sorted((s for s in signals if not s.home and arrival(s) > now), key=lambda s: s.start)
    if not ahead:
        return None
    day = max(ahead[0].start, now - travel).astimezone(zone).date()
    day_end = day_start(day + timedelta(days=1), zone)
    last = max(arrival(s) for s in ahead if s.start < day_end)
    # An away event running at that moment (a trip the day after a day trip) is no arrival:
    # the person comes home when the last of them ends.
    while later := [arrival(s) for s in ahead if s.start <= last < arrival(s)]:
        last = max(later)
    return last


def predict_person(
    person: str, events: Iterable[CalendarEvent], now: datetime, zone: tzinfo, rules: Rules
) -> Prediction:
    now = now.astimezone(UTC)
    signals = tuple(s for s in (signal_of(e, rules, zone) for e in events) if s is not None)
    home, confidence, rule = _presence(signals, now, rules)
    today = now.astimezone(zone).date()
    today_start = day_start(today, zone)
    day_end = day_start(today + timedelta(days=1), zone)
    wfh = any(s.home and s.start < day_end and s.end > today_start for s in signals)
    arrival = _next_arrival(signals, now, zone, rules)
    prepare = arrival - timedelta(minutes=rules.lead_minutes) if arrival else None
    return Prediction(
        person=person,
        currently_home=home,
        wfh_today=wfh,
        confidence=confidence,
        rule=rule,
        next_arrival_time=arrival.astimezone(zone) if arrival else None,
        prepare_time=prepare.astimezone(zone) if prepare else None,
        signals=signals,
    )


def predict_household(people: Sequence[Prediction], now: datetime) -> Prediction:
    if not people:
        raise ValueError("a household prediction needs at least one person")
    at_home = [p for p in people if p.currently_home]
    if at_home:
        decider = max(at_home, key=lambda p: p.confidence)
    else:
        decider = min(people, key=lambda p: p.confidence)
    stays_home = any(p.currently_home and p.next_arrival_time is None for p in people)
    arrivals = [p for p in people if p.next_arrival_time is not None]
    first = (
        None
        if stays_home or not arrivals
        else min(arrivals, key=lambda p: p.next_arrival_time.astimezone(UTC))
    )
    return Prediction(
        person=HOUSEHOLD,
        currently_home=bool(at_home),
        wfh_today=any(p.wfh_today for p in people),
        confidence=decider.confidence,
        rule=decider.rule,
        next_arrival_time=first.next_arrival_time if first else None,
        prepare_time=first.prepare_time if first else None,
    )


def predict(
    events_by_person: Mapping[str, Iterable[CalendarEvent]],
    now: datetime,
    zone: tzinfo,
    rules: Rules,
) -> tuple[list[Prediction], Prediction]:
    """Every person's prediction and the household's."""
    people = [predict_person(p, evs, now, zone, rules) for p, evs in events_by_person.items()]
    return people, predict_household(people, now)


def slot_start(moment: datetime, minutes: int = 15) -> datetime:
    """The start of the `minutes` slot holding `moment` (reruns in one slot overwrite)."""
    step = minutes * 60
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % step, tz=UTC)
