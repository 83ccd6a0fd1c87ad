"""Home Assistant's recorder history (`GET /api/history/period`) played by the replay server,
window by window as `retention.entities.ha_gaps` asks it.

`Recorder(server, states)`: each entity's states as Home Assistant recorded them, `(time,
state)` oldest first. `recorder.serve(start, now)` registers the answer of every window a read
from `start` up to `now` asks (`windows`), for the entity ids `ids` (default: all of them, one
call); `answer` is one window's, as Home Assistant gives it with minimal_response and
no_attributes: per entity the state in force at the window's start, stamped with that start
(Home Assistant's recorder does so), then each change up to end_time, the first and the last
state in full. An entity with no state by then is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from retention.entities import ha_gaps
from tests.support.replay import ReplayServer

States = Sequence[tuple[datetime, str]]


def stamp(moment: datetime) -> str:
    """A time as the history URL and its end_time carry it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def period(start: datetime) -> str:
    return f"/api/history/period/{stamp(start)}"


def windows(start: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows a read from `start` up to `now` asks: WINDOW long at most, each but the
    first from OVERLAP before the end of the one before."""
    found = []
    while True:
        end = min(start + ha_gaps.WINDOW, now)
        found.append((start, end))
        if end >= now:
            return found
        start = end - ha_gaps.OVERLAP


def asked(server: ReplayServer) -> list[tuple[datetime, datetime, tuple[str, ...]]]:
    """Each history call the server received: (start, end_time, the entity ids), in order."""
    return [
        (
            datetime.fromisoformat(call.path.rsplit("/", 1)[1]),
            datetime.fromisoformat(call.query["end_time"]),
            tuple(call.query["filter_entity_id"].split(",")),
        )
        for call in server.calls("GET")
        if call.path.startswith("/api/history/period/")
    ]


def _full(entity_id: str, state: str, moment: datetime) -> dict:
    when = moment.astimezone(UTC).isoformat()
    return {"entity_id": entity_id, "state": state, "attributes": {}, "last_changed": when,
            "last_updated": when}  # fmt: skip


class Recorder:
    def __init__(self, server: ReplayServer, states: Mapping[str, States]) -> None:
        self.server, self.states = server, states

    def answer(self, start: datetime, end: datetime, ids: Sequence[str]) -> list[list[dict]]:
        found = []
        for entity_id in ids:
            history = self.states.get(entity_id, ())
            before = [state for moment, state in history if moment <= start]
            if not before:
                continue
            changes = [(moment, state) for moment, state in history if start < moment <= end]
            answer = [_full(entity_id, before[-1], start)]
            answer += [{"state": state, "last_changed": moment.astimezone(UTC).isoformat()}
                       for moment, state in changes]  # fmt: skip
            if changes:
                answer[-1] = _full(entity_id, changes[-1][1], changes[-1][0])
            found.append(answer)
        return found

    def serve(self, start: datetime, now: datetime, ids: Sequence[str] | None = None) -> None:
        ids = sorted(self.states) if ids is None else ids
        for first, end in windows(start, now):
            query = {"filter_entity_id": ",".join(ids), "end_time": stamp(end)}
            self.server.add("GET", period(first), json=self.answer(first, end, ids), query=query)
