"""Record when Home Assistant held an official-layout entity as unknown or unavailable.

The official InfluxDB integration writes no point for those states (reference/
ha_influx_schema.md §1), so InfluxDB cannot tell a plug unplugged for 3 days from one at 100 W
all along. Home Assistant's recorder can: `record_unavailable()` (the beat's
`retention.record_unavailable`, every 15 minutes) asks its REST API (HA_URL, HA_TOKEN)
`GET /api/history/period/<start>?filter_entity_id=a,b&end_time=<now>&minimal_response&
no_attributes` for the registry's official-layout entities, BATCH ids a call, from where the
last read of each got to (`UnavailableRead`, OVERLAP before it: a state committed late is
still seen) and no further back than the recorder keeps (RECORDER_DAYS, its default
purge_keep_days). Each run of unknown/unavailable/"" states becomes an `UnavailableSpan` from
its first state's `last_changed` to the next known state's (open while it lasts); the readers
take it as a gap (`retention.entities.recorded_gaps`). Reading again is idempotent.

An entity whose spans changed is noted for the views from the earliest span start recorded or
changed (`retention.rollups.follow.note_unavailable`, as an edit of the registry): the next
refresh computes its rows again from there, and deletes those no longer given (a day of no
known value has none).
Home Assistant out of reach, refusing the token or answering something else: logged, nothing
recorded from that call on, no read moved on; without HA_URL and HA_TOKEN nothing is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from retention.entities.gone import ha_get
from retention.entities.points import GAP_STATES
from retention.models import Entity, UnavailableRead, UnavailableSpan
from retention.rollups.follow import note_unavailable

logger = logging.getLogger(__name__)

RECORDER_DAYS = 10  # Home Assistant's recorder: purge_keep_days' default
BATCH = 50  # entity ids a call (they go into the URL)
OVERLAP = timedelta(minutes=5)


class HistoryError(Exception):
    """Home Assistant's history could not be read; says what to check."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def fetch_history(url: str, token: str, entity_ids: Sequence[str], start: datetime,
                  end: datetime) -> dict[str, list[tuple[str, datetime]]]:  # fmt: skip
    """entity id -> its (state, last_changed) in [start, end], oldest first, as Home
    Assistant's recorder has them (the first: the state in force at `start`)."""
    path = f"/api/history/period/{_iso(start)}"
    params = {
        "filter_entity_id": ",".join(entity_ids),
        "end_time": _iso(end),
        "minimal_response": "",
        "no_attributes": "",
    }
    body = ha_get(url, token, path, HistoryError, params)
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
    """Read Home Assistant's history since the last read (see the module docstring): how many
    entities were asked, of how many a span was recorded or changed, the error that stopped it."""
    url, token = settings.HA_URL, settings.HA_TOKEN
    if not url or not token:
        return {"asked": 0, "changed": 0, "error": ""}
    now = (now or datetime.now(UTC)).astimezone(UTC)
    kept_from = now - timedelta(days=RECORDER_DAYS)
    entities = {e.entity_id: e for e in Entity.objects.filter(layout=Entity.Layout.OFFICIAL)}
    ids = sorted(entities)
    reads = UnavailableRead.objects.filter(entity_id__in=ids)
    read = {done.entity_id: done.read_until for done in reads}
    by_start: dict[datetime, list[str]] = {}
    for entity_id in ids:
        since = read.get(entity_id)
        start = kept_from if since is None else max(since - OVERLAP, kept_from)
        by_start.setdefault(start, []).append(entity_id)
    asked = changed_entities = 0
    for start, group in sorted(by_start.items()):
        for first in range(0, len(group), BATCH):
            batch = group[first : first + BATCH]
            try:
                histories = fetch_history(url, token, batch, start, now)
            except HistoryError as exc:
                logger.error("unknown/unavailable times not read from Home Assistant: %s", exc)
                return {"asked": asked, "changed": changed_entities, "error": str(exc)}
            with transaction.atomic():
                for entity_id in batch:
                    since = record_history(entity_id, histories.get(entity_id, []), now)
                    if since is not None:  # the views compute its rows again from there
                        note_unavailable(entities[entity_id], since)
                        changed_entities += 1
                    UnavailableRead.objects.update_or_create(
                        entity_id=entity_id, defaults={"read_until": now}
                    )
            asked += len(batch)
    return {"asked": asked, "changed": changed_entities, "error": ""}
