"""Home Assistant's unknown/unavailable times of a busy home are read in bounded windows.

A first read of 45 official-layout entities asks 6 hours of history of at most 20 entities a
call, the oldest window first, from the oldest raw day the raw -> hourly run still takes (not
the recorder's 10 days): never one call for all of it, which a home with sensors reporting
every few seconds answers in hundreds of MB or not at all. Each window is recorded with its
entities' reads moved on, so a run out of budget, or stopped by a window that times out or
fails, keeps every window before, and the next run continues there, asking no window twice
(the failed one aside) and recording the spans one unbounded read records. The local replay
server plays Home Assistant's history API (tests.support.ha_history); the real PostgreSQL.
"""

import logging
from datetime import datetime, timedelta

import pytest

from retention.entities import ha_gaps
from retention.entities.ha_gaps import record_unavailable
from retention.models import Entity, UnavailableRead, UnavailableSpan
from tests.retention.conftest import T0
from tests.support.ha_history import Recorder, asked, period, stamp, windows

pytestmark = pytest.mark.django_db

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
NOW = T0 + 5 * DAY + 15 * HOUR
# 7 raw days, the day itself and the 2 h late margin before NOW: the oldest raw day's start.
FIRST = T0 - 3 * DAY
IDS = [f"sensor.meter_{n:02}" for n in range(45)]
BATCHES = [tuple(IDS[:20]), tuple(IDS[20:40]), tuple(IDS[40:])]
LONG, BEFORE, EDGE = IDS[0], IDS[21], IDS[44]
STATES = {entity_id: [(FIRST - 2 * DAY, "10.0")] for entity_id in IDS}
STATES[LONG] += [(FIRST + DAY + 3 * HOUR, "unavailable"), (FIRST + 3 * DAY + 30 * MINUTE, "12.0")]
STATES[BEFORE] = [  # unavailable when the read starts; unknown, still, when it ends
    (FIRST - DAY, "10.0"), (FIRST - HOUR, "unavailable"), (FIRST + 2 * HOUR, "11.0"),
    (NOW - HOUR, "unknown"),
]  # fmt: skip
STATES[EDGE] += [  # in the 5 minutes two windows share, then across a window's end
    (FIRST + 5 * HOUR + 57 * MINUTE, ""), (FIRST + 6 * HOUR + 10 * MINUTE, "13.0"),
    (FIRST + 2 * DAY + 11 * HOUR, "unavailable"), (FIRST + 2 * DAY + 11 * HOUR + MINUTE, "14.0"),
]  # fmt: skip
SPANS = [
    (LONG, FIRST + DAY + 3 * HOUR, FIRST + 3 * DAY + 30 * MINUTE),
    (BEFORE, FIRST, FIRST + 2 * HOUR),  # from the read's start: the day before is tiered
    (BEFORE, NOW - HOUR, None),
    (EDGE, FIRST + 5 * HOUR + 57 * MINUTE, FIRST + 6 * HOUR + 10 * MINUTE),
    (EDGE, FIRST + 2 * DAY + 11 * HOUR, FIRST + 2 * DAY + 11 * HOUR + MINUTE),
]


@pytest.fixture
def ha(settings, replay_server):
    settings.HA_URL, settings.HA_TOKEN = replay_server.url, "long-lived-token"
    settings.HTTP_BACKOFF_SECONDS = 0.0
    for entity_id in IDS:
        Entity.objects.create(entity_id=entity_id, kind="power", unit="W", layout="official",
                              measurement="W")  # fmt: skip
    return replay_server


def serve(ha, now: datetime = NOW) -> None:
    recorder = Recorder(ha, STATES)
    for batch in BATCHES:
        recorder.serve(FIRST, now, batch)


def spans() -> list[tuple[str, datetime, datetime | None]]:
    return list(UnavailableSpan.objects.values_list("entity_id", "start", "end"))


def cursors() -> dict[str, datetime]:
    return dict(UnavailableRead.objects.values_list("entity_id", "read_until"))


def read_until(*reads: tuple[tuple[str, ...], datetime]) -> dict[str, datetime]:
    return {entity_id: until for batch, until in reads for entity_id in batch}


def test_a_first_read_asks_six_hours_of_twenty_entities_a_call_oldest_first(ha, monkeypatch):
    serve(ha)

    report = record_unavailable(now=NOW)

    read = windows(FIRST, NOW)
    second = FIRST + 5 * HOUR + 55 * MINUTE  # 5 minutes before the first's end
    assert read[:2] == [(FIRST, FIRST + 6 * HOUR), (second, second + 6 * HOUR)]
    assert (read[-1][1], len(read)) == (NOW, 35)
    assert asked(ha) == [(start, end, batch) for start, end in read for batch in BATCHES]
    assert report == {
        "asked": 45, "changed": 3, "calls": 105, "behind": 0,
        "progress": f"read up to {stamp(NOW)} for 45 entities", "error": "",
    }  # fmt: skip
    assert cursors() == dict.fromkeys(IDS, NOW)
    assert spans() == SPANS
    # One call for it all (the read the windows bound) records the same spans.
    UnavailableSpan.objects.all().delete()
    UnavailableRead.objects.all().delete()
    monkeypatch.setattr(ha_gaps, "WINDOW", 30 * DAY)
    monkeypatch.setattr(ha_gaps, "BATCH", 100)
    Recorder(ha, STATES).serve(FIRST, NOW)
    assert record_unavailable(now=NOW)["calls"] == 1
    assert asked(ha)[-1] == (FIRST, NOW, tuple(IDS))
    assert spans() == SPANS


def test_a_run_out_of_budget_is_continued_by_the_next_asking_no_window_twice(
    ha, monkeypatch, caplog
):
    later = NOW + 15 * MINUTE  # the next run
    serve(ha, later)
    read = windows(FIRST, later)
    monkeypatch.setattr(ha_gaps, "RUN_SECONDS", 0.0)  # spent at once: one call

    with caplog.at_level(logging.INFO, logger="retention.entities.ha_gaps"):
        report = record_unavailable(now=NOW)

    progress = (f"read up to {stamp(NOW)} for 0 entities; 45 behind, the furthest from "
                f"{stamp(FIRST)} on, continued next run")  # fmt: skip
    assert (report["calls"], report["behind"], report["progress"]) == (1, 45, progress)
    assert progress in caplog.text
    assert cursors() == read_until((BATCHES[0], read[0][1]))
    monkeypatch.setattr(ha_gaps, "RUN_SECONDS", 240.0)
    monkeypatch.setattr(ha_gaps, "RUN_CALLS", 7)

    report = record_unavailable(now=NOW)

    # The batches furthest behind first: the two not read yet, then window by window.
    assert asked(ha)[1:] == [
        (*read[0], BATCHES[1]), (*read[0], BATCHES[2]),
        (*read[1], BATCHES[0]), (*read[1], BATCHES[1]), (*read[1], BATCHES[2]),
        (*read[2], BATCHES[0]), (*read[2], BATCHES[1]),
    ]  # fmt: skip
    assert (report["calls"], report["behind"], report["error"]) == (7, 45, "")
    assert cursors() == read_until(
        (BATCHES[0], read[2][1]), (BATCHES[1], read[2][1]), (BATCHES[2], read[1][1])
    )
    assert spans() == SPANS[1:2] + SPANS[3:4]  # those of the windows read
    monkeypatch.setattr(ha_gaps, "RUN_CALLS", 200)

    report = record_unavailable(now=later)

    progress = f"read up to {stamp(later)} for 45 entities"
    assert (report["behind"], report["progress"]) == (0, progress)
    calls = asked(ha)
    assert len(set(calls)) == len(calls) == 3 * len(read)
    for batch in BATCHES:
        assert [(start, end) for start, end, ids in calls if ids == batch] == read
    assert cursors() == dict.fromkeys(IDS, later)
    assert spans() == SPANS  # as one unbounded read records them


def test_a_window_timing_out_or_failing_keeps_the_windows_before(ha, settings, monkeypatch,
                                                                 caplog):  # fmt: skip
    read = windows(FIRST, NOW)

    def route(window: int, batch: int) -> tuple[str, dict]:
        (start, end), ids = read[window], ",".join(BATCHES[batch])
        return period(start), {"filter_entity_id": ids, "end_time": stamp(end)}

    # Home Assistant builds a history answer whole before sending it: slower than most calls.
    settings.HTTP_TIMEOUT_SECONDS = 0.1
    monkeypatch.setattr(ha_gaps, "HISTORY_SECONDS", 2.0)
    slow, slow_query = route(1, 1)
    answer = Recorder(ha, STATES).answer(*read[1], BATCHES[1])
    ha.add("GET", slow, json=answer, delay=0.3, query=slow_query, times=1)
    hung, hung_query = route(3, 0)
    ha.add("GET", hung, json=[], delay=10, query=hung_query, times=1)  # past HISTORY_SECONDS
    failed, failed_query = route(5, 2)
    ha.add("GET", failed, status=503, json={"message": "recorder busy"}, query=failed_query,
           times=1)  # fmt: skip
    serve(ha)

    with caplog.at_level(logging.ERROR, logger="retention.entities.ha_gaps"):
        report = record_unavailable(now=NOW)

    assert (report["calls"], report["behind"]) == (9, 45)  # the slow window read, 3 each
    assert f"Could not read {ha.url}{hung}" in report["error"]
    assert "unknown/unavailable times not read" in caplog.text
    assert len(ha.calls("GET", hung)) == 1  # not asked again at once: the next run does
    assert cursors() == dict.fromkeys(IDS, read[2][1])
    assert spans() == SPANS[1:2] + SPANS[3:4]

    report = record_unavailable(now=NOW)

    assert f"Could not read {ha.url}{failed}" in report["error"]
    assert "503" in report["error"]
    assert cursors() == read_until(
        (BATCHES[0], read[5][1]), (BATCHES[1], read[5][1]), (BATCHES[2], read[4][1])
    )

    report = record_unavailable(now=NOW)

    assert (report["behind"], report["error"]) == (0, "")
    calls = asked(ha)
    assert len(calls) == 3 * len(read) + 2  # the hung and the failed window, asked again
    assert sorted(set(calls)) == sorted((*window, batch) for window in read for batch in BATCHES)
    assert cursors() == dict.fromkeys(IDS, NOW)
    assert spans() == SPANS
