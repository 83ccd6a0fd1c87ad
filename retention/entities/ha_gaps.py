"""Record when Home Assistant held an official-layout entity as unknown or unavailable.

The official InfluxDB integration writes no point for those states (reference/
ha_influx_schema.md §1), so InfluxDB cannot tell a plug unplugged for 3 days from one at 100 W
all along. Home Assistant's recorder can: `record_unavailable()` (the beat's
`retention.record_unavailable`, every 15 minutes) asks its REST API (HA_URL, HA_TOKEN)
`GET /api/history/period/<start>?filter_entity_id=a,b&end_time=<end>&minimal_response&
no_attributes` for the registry's official-layout entities, from where the last read of each
got to (`UnavailableRead`, OVERLAP before it: a state committed late is still seen), no
further back than the recorder keeps (RECORDER_DAYS, its default purge_keep_days) nor than the
oldest raw day the raw -> hourly run still takes (`oldest_raw_day`: a span before it changes
no tiered row). Each run of unknown/unavailable/"" states becomes an `UnavailableSpan` from
its first state's `last_changed` to the next known state's (open while it lasts); the readers
take it as a gap (`retention.entities.recorded_gaps`). Reading again is idempotent.

An entity whose spans changed is noted for the views from the earliest span start recorded or
changed (`retention.rollups.follow.note_unavailable`, as an edit of the registry): the next
refresh computes its rows again from there, and deletes those no longer given (a day of no
known value has none).

Paced for a busy home (a power sensor reporting every 5 s has 170,000 states in 10 days): a
call asks BATCH entities over at most WINDOW of history, the entities furthest behind first,
and each window is recorded, its entities' reads moved on to its end, in a transaction of its
own: a run stopped anywhere (its budget, an error, its time limit, a kill) loses no window
done, and the next continues from there. A run starts calls for RUN_SECONDS and at most
RUN_CALLS of them; the entities it leaves behind are said in its result and read next run.
Home Assistant out of reach, slower than HISTORY_SECONDS, refusing the token or answering
something else: logged, nothing recorded from that window on, the windows before it kept;
without HA_URL and HA_TOKEN nothing is asked.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from enrich.time_span import ha_time
from enrich.wording import counted
from retention.entities.gone import ha_get
from retention.entities.points import GAP_STATES
from retention.models import Entity, UnavailableRead, UnavailableSpan
from retention.rollups.follow import note_unavailable
from retention.tiers.safety import raw_needed_days
from retention.timeutil import floor_day

logger = logging.getLogger(__name__)

RECORDER_DAYS = 10  # Home Assistant's recorder: purge_keep_days' default
# A call: 20 entities over 6 hours. A sensor reporting every 5 s has 4,320 states in 6 hours,
# 20 of them 86,400 (~6 MB of minimal_response JSON, a query of seconds on a Raspberry Pi):
# a hundredth of 50 such sensors over 10 days. Steady, a run asks each batch its last 20
# minutes; 500 entities are 25 calls a run.
BATCH = 20  # entity ids a call (they go into the URL)
WINDOW = timedelta(hours=6)  # of history a call
OVERLAP = timedelta(minutes=5)
# Home Assistant builds the whole answer before its first byte: a window's call waits up to
# HISTORY_SECONDS (or HTTP_TIMEOUT_SECONDS if longer), once: the next run asks it again, and
# an overloaded Home Assistant is not asked the same heavy query at once.
HISTORY_SECONDS = 60.0
# A run starts calls for RUN_SECONDS, at most RUN_CALLS: with the last call's HISTORY_SECONDS
# it ends in 5 minutes, half the task's soft time limit (config/broker.py) and well before the
# next run; a first read of 500 entities (8 days: 33 windows of 25 batches) takes 5 runs.
RUN_SECONDS = 240.0
RUN_CALLS = 200


class HistoryError(Exception):
    """Home Assistant's history could not be read; says what to check."""


def oldest_raw_day(now: datetime) -> datetime:
    """The start of the oldest UTC day whose raw points the raw -> hourly run still takes: a
    span before it changes no tiered row."""
    return floor_day(now - timedelta(days=raw_needed_days()))


def fetch_history(url: str, token: str, entity_ids: Sequence[str], start: datetime,
                  end: datetime) -> dict[str, list[tuple[str, datetime]]]:  # fmt: skip
    """entity id -> its (state, last_changed) in [start, end], oldest first, as Home
    Assistant's recorder has them (the first: the state in force at `start`)."""
    path = f"/api/history/period/{ha_time(start)}"
    params = {
        "filter_entity_id": ",".join(entity_ids),
        "end_time": ha_time(end),
        "minimal_response": "",
        "no_attributes": "",
    }
    timeout = max(settings.HTTP_TIMEOUT_SECONDS, HISTORY_SECONDS)
    body = ha_get(url, token, path, HistoryError, params, timeout=timeout, max_retries=0)
    return _parsed(body, url.rstrip("/") + path)


def _parsed(body: Any, endpoint: str) -> dict[str, list[tuple[str, datetime]]]:
    bad = HistoryError(
        f"{endpoint} answered something other than lists of states with a state and a "
        "last_changed each; check that HA_URL points at Home Assistant itself."
    )
    if not isinstance(body, list):
        raise bad
    found: dict[str, list[tuple[str, datetime]]] = {}
    for states in body:
        if not isinstance(states, list) or not states or not isinstance(states[0], dict):
            raise bad
        entity_id = states[0].get("entity_id")
        history = found.setdefault(str(entity_id), [])
        for state in states:
            try:
                moment = datetime.fromisoformat(state["last_changed"])
                history.append((str(state["state"]), moment.astimezone(UTC)))
            except (KeyError, TypeError, ValueError) as exc:
                raise bad from exc
    return found


def record_history(entity_id: str, history: Sequence[tuple[str, datetime]],
                   recorded: datetime) -> datetime | None:  # fmt: skip
    """Record the entity's spans in `history` (as `fetch_history` gives it); the earliest
    start of a span recorded or changed, None when none was."""
    changed: datetime | None = None
    open_span: UnavailableSpan | None = None
    for index, (state, moment) in enumerate(history):
        gap = state in GAP_STATES
        if gap and open_span is None:
            if index == 0:  # the state in force at the read's start: a span begun before?
                open_span = _covering(entity_id, moment)
            if open_span is None:
                open_span, created = UnavailableSpan.objects.get_or_create(
                    entity_id=entity_id, start=moment,
                    defaults={"state": state, "recorded": recorded},
                )  # fmt: skip
                if created:
                    changed = min(changed or moment, moment)
        elif not gap and open_span is not None:
            if open_span.end != moment:
                open_span.end, open_span.recorded = moment, recorded
                open_span.save(update_fields=["end", "recorded"])
                changed = min(changed or open_span.start, open_span.start)
            open_span = None
    return changed


def _covering(entity_id: str, moment: datetime) -> UnavailableSpan | None:
    """The entity's span in force at `moment` (begun at or before it, not ended by then)."""
    spans = UnavailableSpan.objects.filter(entity_id=entity_id, start__lte=moment)
    span = spans.order_by("-start").first()
    return span if span is not None and (span.end is None or span.end > moment) else None


def record_unavailable(now: datetime | None = None) -> dict[str, Any]:
    """Read Home Assistant's history since the last read, window by window (see the module
    docstring): how many entities were asked, of how many a span was recorded or changed, the
    calls made, how many entities are still behind `now` (read next run), how far it got and
    the error that stopped it."""
    url, token = settings.HA_URL, settings.HA_TOKEN
    if not url or not token:
        return _report(0, 0, 0, 0, [], datetime.now(UTC), "")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    oldest = max(now - timedelta(days=RECORDER_DAYS), oldest_raw_day(now))
    entities = {e.entity_id: e for e in Entity.objects.filter(layout=Entity.Layout.OFFICIAL)}
    ids = sorted(entities)
    reads = UnavailableRead.objects.filter(entity_id__in=ids)
    read = {done.entity_id: done.read_until for done in reads}
    by_start: dict[datetime, list[str]] = {}
    for entity_id in ids:
        since = read.get(entity_id)
        start = oldest if since is None else max(since - OVERLAP, oldest)
        if start < now:
            by_start.setdefault(start, []).append(entity_id)
    queue = [
        (start, first, group[first : first + BATCH])
        for start, group in by_start.items()
        for first in range(0, len(group), BATCH)
    ]
    heapq.heapify(queue)  # the window furthest behind first
    asked: set[str] = set()
    changed: set[str] = set()
    calls, began, error = 0, time.monotonic(), ""
    while queue and calls < RUN_CALLS and (not calls or time.monotonic() - began < RUN_SECONDS):
        start, first, batch = queue[0]
        end = min(start + WINDOW, now)
        try:
            histories = fetch_history(url, token, batch, start, end)
        except HistoryError as exc:
            logger.error("unknown/unavailable times not read from Home Assistant: %s", exc)
            error = str(exc)
            break
        calls += 1
        changed |= _record_window(entities, histories, batch, end, now)
        asked.update(batch)
        heapq.heappop(queue)
        if end < now:
            heapq.heappush(queue, (end - OVERLAP, first, batch))
    report = _report(len(ids), len(asked), len(changed), calls, queue, now, error)
    if queue:
        logger.info("Home Assistant's unknown/unavailable times: %s", report["progress"])
    return report


def _record_window(entities: dict[str, Entity], histories: dict[str, list[tuple[str, datetime]]],
                   batch: Sequence[str], end: datetime, now: datetime) -> set[str]:  # fmt: skip
    """Record one window's spans of `batch` and move their reads on to `end`, all or nothing;
    the entities whose spans changed."""
    changed = set()
    with transaction.atomic():
        for entity_id in batch:
            since = record_history(entity_id, histories.get(entity_id, []), now)
            if since is not None:  # the views compute its rows again from there
                note_unavailable(entities[entity_id], since)
                changed.add(entity_id)
        UnavailableRead.objects.bulk_create(
            [UnavailableRead(entity_id=entity_id, read_until=end) for entity_id in batch],
            update_conflicts=True, unique_fields=["entity_id"], update_fields=["read_until"],
        )  # fmt: skip
    return changed


def _report(entities: int, asked: int, changed: int, calls: int,
            behind: Sequence[tuple[datetime, int, list[str]]], now: datetime,
            error: str) -> dict[str, Any]:  # fmt: skip
    """The run's result; `behind`: the batches it left, (the start of their next window, ...)."""
    late = sum(len(batch) for _, _, batch in behind)
    read = counted(entities - late, "entity", "entities")
    progress = f"read up to {ha_time(now)} for {read}" if entities else ""
    if behind:
        since = ha_time(min(start for start, _, _ in behind))
        progress += f"; {late:,} behind, the furthest from {since} on, continued next run"
    return {"asked": asked, "changed": changed, "calls": calls, "behind": late,
            "progress": progress, "error": error}  # fmt: skip
