"""Who is home now, computed when asked: from the predictions the last fetch made ahead.

The fetch (every 15 minutes) predicts for its own moment and for every later moment where an
event starts or ends (and local midnight) up to the end of the events it read (the end of
tomorrow), as `changes` in the cached answer. When read, the latest of those moments not
after now is served, so an event starting at 10:07 shows at 10:07 and not at the next fetch;
before the first of them the fetch's own prediction holds. `time` is the moment the
prediction is for; `fetched_at`, `age_seconds` and `stale` still describe the last fetch.
`changes` itself is never served. Nothing here touches Redis or the database: the adapter
module imports it.

The points of one moment's answer (`readings`: one per person and the household's) are what
the fetch writes for its own moment, and what the beat task `collectors.write_current_forecasts`
writes every minute for the latest moment ahead not after now (`current_readings`), at that
moment, so InfluxDB shows the meeting from 10:07 at 10:07 too. Before the first of them
nothing is written: the fetch's own points hold."""

from datetime import UTC, datetime, timedelta
from typing import Any

from collectors import clock
from collectors.occupancy.google import prediction
from collectors.occupancy.google.client import PROVIDER
from enrich.readings import Reading

MEASUREMENT = "occupancy_prediction"
FIELDS = ("currently_home", "wfh_today", "confidence", "next_arrival_time", "prepare_time")
CHANGES = "changes"  # the cached answer's predictions from each later event edge on
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


def changes(people: list[prediction.Prediction], now: datetime, zone: Any) -> list[datetime]:
    """The moments after `now` and before the end of the events read (end of tomorrow) where
    a prediction may change: every signal's start and end, and local midnight (a new day
    for `wfh_today`); the first MAX_CHANGES of them."""
    now = now.astimezone(UTC)
    end = prediction.horizon(now, zone)[1].astimezone(UTC)
    midnight = prediction.local_midnight(now.astimezone(zone).date() + timedelta(days=1), zone)
    edges = {midnight} | {t for p in people for s in p.signals for t in (s.start, s.end)}
    return sorted(t for t in edges if now < t < end)[:MAX_CHANGES]


def current_value(answer: Any) -> dict[str, Any] | None:
    """The entry of GET /api/enrichment/current for now from the cached answer (an
    enrich.redis.cache.CachedAnswer), or None (no answer yet)."""
    if answer is None or not isinstance(answer.value, dict):
        return None
    value = _latest_change(answer.value) or {k: v for k, v in answer.value.items() if k != CHANGES}
    return {
        "value": value,
        "time": value.get("time"),
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale,
        "age_seconds": round(answer.age_seconds),
    }


def current_readings(answer: Any, site: str) -> list[Reading]:
    """The points (of `site`) of the prediction served now when it is one made ahead (an event
    edge since the fetch), at that edge; [] while the fetch's own prediction holds (it wrote
    those)."""
    if answer is None or not isinstance(answer.value, dict):
        return []
    change = _latest_change(answer.value)
    if change is None:
        return []
    return readings(change, datetime.fromisoformat(change["time"]), site)


def _latest_change(value: dict) -> dict | None:
    """The prediction of the latest moment ahead not after now, or None (none has come)."""
    now, latest = clock.utc_now(), None
    for change in value.get(CHANGES) or []:
        if datetime.fromisoformat(change["time"]) > now:
            break
        latest = change
    return latest
