"""Who is home now, computed when asked: from the predictions the last fetch made ahead.

The fetch (every 15 minutes) predicts for the start of its 15-minute slot (where its points are
stored) and for every later moment where an event starts or ends (and local midnight, and
travel_minutes after one an away event runs over: the day of the next arrival turns) up to
the end of the events it read (the end of tomorrow), as `changes` in the cached answer
(`timeline`). When read, the latest of those moments not after now is served, so an event
starting at 10:07 shows at 10:07 and not at the next fetch; before the first of them the
slot's prediction holds. `time` is the moment the prediction is for; `fetched_at`,
`age_seconds` and `stale` still describe the last fetch. `changes` itself is never served.
From the end of the events read on (`events_until`: the fetches since failed), or from the
first moment past the MAX_CHANGES predicted, nothing is known about now, and no prediction is
served (a message says why).
Nothing here touches Redis or the database: the adapter module imports it.

The points of one moment's answer (`readings`: one per person and the household's) are what
the fetch writes for its slot's start and for each moment ahead up to the fetch (a fetch run at
10:09 for 10:00 writes 10:00 and 10:07), and what the beat task
`collectors.write_current_forecasts` writes every minute for each moment ahead not after now
(`current_readings`), at that moment, so InfluxDB shows the meeting from 10:07 at 10:07
too, and a moment whose minute the task missed later, not never. Before the first of them nothing is written: the fetch's own points hold. The fetch's
answer replaces every point stored from its slot's start on (FetchResult.replaces): one an
earlier answer wrote there (an event deleted since) does not stay."""

from datetime import UTC, datetime, timedelta
from typing import Any

from collectors import clock
from collectors.occupancy.google import prediction
from collectors.occupancy.google.connection import PROVIDER
from collectors.occupancy.google.events import CalendarEvent
from enrich.readings import Reading
from retention.timeutil import day_start

MEASUREMENT = "occupancy_prediction"
FIELDS = ("currently_home", "wfh_today", "confidence", "next_arrival_time", "prepare_time")
CHANGES = "changes"  # the cached answer's predictions from each later event edge on
UNTIL = "events_until"  # where the cached answer's predictions end: nothing is known after it
MAX_CHANGES = 200  # a bound for huge calendars (an edge each: a start, an end, midnight)


def headline(people: list[prediction.Prediction], household: prediction.Prediction) -> dict:
    """The household's fields, its rule and each person's: the answer of one moment."""
    return {
        **household.fields(),
        "rule": household.rule,
        "people": {p.person: {**p.fields(), "rule": p.rule} for p in people},
    }


def readings(answer: dict, moment: datetime, site: str) -> list[Reading]:
    """The `occupancy_prediction` points of one moment's answer (see headline) at `moment`:
    each person's, then the household's, tagged with the `site` whose calendars they read
    (every site has a household, and two sites may have a person of one name)."""
    people = [*answer["people"].items(), (prediction.HOUSEHOLD, answer)]
    return [
        Reading(
            MEASUREMENT,
            {name: value[name] for name in FIELDS if name in value},
            moment,
            tags={"source": PROVIDER, "person": person, "provider": PROVIDER, "site": site},
        )
        for person, value in people
    ]


def changes(
    people: list[prediction.Prediction], since: datetime, zone: Any, end: datetime,
    travel: timedelta = timedelta(0),
) -> list[datetime]:  # fmt: skip
    """The moments after `since` and before `end` (the end of the events read) where a
    prediction may change: every signal's start and end, the arrival `travel` after an away
    signal's end, local midnight (a new day for `wfh_today`) and `travel` after a local
    midnight that an away signal runs over (the night out's arrival is `next_arrival_time` up
    to then, the new day's after it: prediction._next_arrival)."""
    since, end = since.astimezone(UTC), end.astimezone(UTC)
    today = since.astimezone(zone).date()
    midnight = day_start(today + timedelta(days=1), zone)
    edges = {midnight} | {t for p in people for s in p.signals for t in (s.start, s.end)}
    away = [s for p in people for s in p.signals if not s.home]
    edges |= {s.end + travel for s in away}
    for turn in (day_start(today, zone), midnight):
        if any(
            s.start < turn and s.end + (travel if s.on_the_way else timedelta(0)) > turn + travel
            for s in away
        ):
            edges.add(turn + travel)
    return sorted(t for t in edges if since < t < end)


def timeline(
    events: dict[str, list[CalendarEvent]],
    slot: datetime,
    now: datetime,
    end: datetime,
    zone: Any,
    rules: prediction.Rules,
    site: str,
) -> tuple[dict, list[Reading]]:
    """A fetch's cached answer and its points. The answer is the prediction of the fetch's
    `slot` (the time its points are stored at) with the predictions of every later edge up to
    `end` (`changes`). The points are those of the slot's prediction and of each edge up to
    `now`: a fetch run late in its slot (at 10:09 for 10:00) stores at 10:00 what holds at
    10:00, and at 10:07 the dentist from 10:07, not at 10:00 what holds at 10:09."""

    def at(moment: datetime, people=None, household=None) -> dict:
        if people is None:
            people, household = prediction.predict(events, moment, zone, rules)
        return {"time": moment.isoformat(), **headline(people, household)}

    people, household = prediction.predict(events, slot, zone, rules)
    current = at(slot, people, household)
    edges = changes(people, slot, zone, end, timedelta(minutes=rules.travel_minutes))
    if len(edges) > MAX_CHANGES:  # the first MAX_CHANGES: nothing is predicted after them
        end, edges = edges[MAX_CHANGES].astimezone(zone), edges[:MAX_CHANGES]
    current[CHANGES] = [at(moment) for moment in edges]
    current[UNTIL] = end.isoformat()
    stored = [(slot, current)] + [
        (moment, change)
        for change in current[CHANGES]
        if (moment := datetime.fromisoformat(change["time"])) <= now
    ]
    return current, [r for moment, answer in stored for r in readings(answer, moment, site)]


def current_value(answer: Any) -> dict[str, Any] | None:
    """The entry of GET /api/enrichment/current for now from the cached answer (an
    enrich.redis.cache.CachedAnswer), or None (no answer yet). From the end of the events the
    answer read on (the fetches since failed) its value is None, with a message saying so."""
    if answer is None or not isinstance(answer.value, dict):
        return None
    about = {
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale,
        "age_seconds": round(answer.age_seconds),
    }
    if until := _past_the_events(answer.value):
        return {
            "value": None,
            "message": f"no prediction for now: the last calendar answer (fetched at "
            f"{about['fetched_at']}) holds the events up to {until} only, and no fetch "
            "succeeded since (see its last run and connection).",
            **about,
        }
    value = _latest_change(answer.value) or {
        k: v for k, v in answer.value.items() if k not in (CHANGES, UNTIL)
    }
    return {"value": value, "time": value.get("time"), **about}


def current_readings(answer: Any, site: str) -> list[Reading]:
    """The points (of `site`) of every prediction made ahead whose moment has come (each event
    edge since the fetch's slot, not after now), each at its edge. All of them, each minute:
    an edge whose minute passed without the minute task (a worker restarting, runs dropped)
    is written late, not never. [] before the first edge (the fetch wrote its slot's points)
    and after the events the answer read (nothing is served)."""
    if answer is None or not isinstance(answer.value, dict) or _past_the_events(answer.value):
        return []
    now = clock.utc_now()
    return [
        reading
        for change in answer.value.get(CHANGES) or []
        if (moment := datetime.fromisoformat(change["time"])) <= now
        for reading in readings(change, moment, site)
    ]


def _past_the_events(value: dict) -> str:
    """The end of the events the answer read when now is at or after it, else "" (answers
    cached before it was kept say nothing: "")."""
    until = value.get(UNTIL)
    if not isinstance(until, str) or clock.utc_now() < datetime.fromisoformat(until):
        return ""
    return until


def _latest_change(value: dict) -> dict | None:
    """The prediction of the latest moment ahead not after now, or None (none has come)."""
    now, latest = clock.utc_now(), None
    for change in value.get(CHANGES) or []:
        if datetime.fromisoformat(change["time"]) > now:
            break
        latest = change
    return latest
