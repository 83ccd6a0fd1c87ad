"""The complete total of an ended day (`daily_kwh` at its last minute) is asked once the day
settled (15 minutes after it ended, day_ends.SETTLE), and until InfluxDB holds it: after a
failed first run asking it, a worker restarted over midnight, a two-day
outage, and on a 25-hour DST day. Emporia through the pipeline against the replay server, the
real InfluxDB, Redis and PostgreSQL (the Vue's day is Chicago's, devices.json); Sense's
adapter against the replay server and the local realtime feed, its readings written to
InfluxDB as the pipeline does."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors import registry
from collectors.base import Window
from collectors.smart_meter import day_ends
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from collectors.smart_meter.sense.adapter import SenseAdapter
from tests.collectors import scenarios_smart_meter as scenes
from tests.collectors.scenarios_smart_meter import day_totals
from tests.support.day_total_runs import (
    MAINS_CHART,
    NULL,
    RUN_AT,
    SENSE_DAY,
    SENSE_NEW_DAY,
    Clock,
    answer,
    day_calls,
    on_run_clock,
    routes,
    run,
    sense_run,
)
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]


def utc(day: int, hour: int, minute: int, second: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def vue(isolated, replay_server):
    """A Chicago site collecting its Emporia Vue every 5 minutes; the mains charts are empty."""
    registry.adapter_for.cache_clear()
    yield scenes.emporia_config(replay_server)
    registry.adapter_for.cache_clear()


def test_a_restart_over_midnight_still_stores_the_ended_days_total(
    vue, isolated, settings, replay_server, monkeypatch
):
    """23:50 CDT stores 30 April so far (30.6 kWh at 23:49); the worker restarts; its first run
    of 1 May (00:05) asks 1 May's so far, and the first 15 minutes after midnight (00:20) 30
    April's complete 31.2 kWh at 23:59 CDT = 04:59 UTC (before, a fresh worker only asked
    today's, and 30 April's last total stayed 10 minutes short)."""
    on_run_clock(monkeypatch)  # the schedules outlive the restart: kept by the runs' time
    answer(replay_server, "1D", utc(1, 4, 49), 30.6)
    answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    answer(replay_server, "1D", utc(1, 5, 4), 0.15)
    routes(replay_server)
    assert run(vue, replay_server, utc(1, 4, 50, 30)) == "ok"
    registry.adapter_for.cache_clear()  # the worker restarted: nothing kept in memory
    for minute in (5, 10, 15, 20):
        assert run(vue, replay_server, utc(1, 5, minute, 30)) == "ok"
    assert day_totals(isolated, settings, "Main panel") == pytest.approx(
        {utc(1, 4, 49): 30.6, utc(1, 4, 59): 31.2, utc(1, 5, 4): 0.15}
    )
    assert day_calls(replay_server) == ["05-01T04:49", "05-01T05:04", "05-01T04:59"]


def test_a_failed_first_run_of_the_day_leaves_the_total_to_the_next_run(
    vue, isolated, settings, replay_server
):
    """The first run asking 30 April's total (15 minutes into 1 May) gets it, then Emporia
    answers its mains chart with 503: the run fails and nothing is written. The next run asks
    30 April's again and stores it (before, it counted as asked and was lost)."""
    answer(replay_server, "1D", utc(1, 4, 49), 30.6)
    answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    scenes.answer_app_api(
        replay_server, {**MAINS_CHART, "end": "2026-05-01T05:20:00.000Z"}, status=503, json={}
    )
    routes(replay_server)
    statuses = [run(vue, replay_server, utc(1, 4, 50, 30) + n * timedelta(minutes=5))
                for n in range(8)]  # fmt: skip
    assert statuses == ["ok"] * 6 + ["failed", "ok"]  # 05:20:30 failed
    assert day_totals(isolated, settings, "Main panel") == pytest.approx(
        {utc(1, 4, 49): 30.6, utc(1, 4, 59): 31.2}
    )
    assert day_calls(replay_server) == ["05-01T04:49", "05-01T04:59", "05-01T04:59"]


def test_after_two_days_down_both_ended_days_get_their_totals(
    vue, isolated, settings, replay_server
):
    """The worker is down from 30 April 23:50 CDT to 2 May 00:05 CDT: its runs back ask 30
    April's (31.2 kWh) and, once it settled (00:20), 1 May's (28.4 kWh) at their last minutes,
    one a run, oldest first (before, only 1 May's was asked: 30 April's stayed short)."""
    answer(replay_server, "1D", utc(1, 4, 49), 30.6)
    answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    answer(replay_server, "1D", utc(2, 4, 59), 28.4)
    routes(replay_server)
    assert run(vue, replay_server, utc(1, 4, 50, 30)) == "ok"
    for minute in (5, 10, 15, 20):
        assert run(vue, replay_server, utc(2, 5, minute, 30)) == "ok"
    assert day_totals(isolated, settings, "Main panel") == pytest.approx(
        {utc(1, 4, 49): 30.6, utc(1, 4, 59): 31.2, utc(2, 4, 59): 28.4}
    )
    assert day_calls(replay_server) == ["05-01T04:49", "05-01T04:59", "05-02T04:59"]


def test_the_25_hour_day_ends_at_its_last_local_minute(vue, isolated, settings, replay_server):
    """1 November 2026 in Chicago has 25 hours (CDT -> CST at 02:00): it ends at 23:59 CST =
    05:59 UTC, not 04:59, and a restart over its midnight still stores it there (00:20 CST)."""
    answer(replay_server, "1D", utc(2, 5, 49, month=11), 40.1)
    answer(replay_server, "1D", utc(2, 5, 59, month=11), 41.0)
    routes(replay_server)
    assert run(vue, replay_server, utc(2, 5, 50, 30, month=11)) == "ok"
    registry.adapter_for.cache_clear()
    assert run(vue, replay_server, utc(2, 6, 20, 30, month=11)) == "ok"
    assert day_totals(isolated, settings, "Main panel") == pytest.approx(
        {utc(2, 5, 49, month=11): 40.1, utc(2, 5, 59, month=11): 41.0}
    )


def test_the_last_minutes_of_a_23_and_a_25_hour_day():
    """Chicago's 8 March 2026 has 23 hours (CST -> CDT), 1 November 25 (CDT -> CST)."""
    march = day_ends.ended_days(utc(9, 12, 0, month=3), "America/Chicago", days=2)
    assert march == [utc(8, 5, 59, month=3), utc(9, 4, 59, month=3)]  # 7 March, 8 March
    november = day_ends.ended_days(utc(2, 12, 0, month=11), "America/Chicago", days=2)
    assert november == [utc(1, 4, 59, month=11), utc(2, 5, 59, month=11)]


@pytest.mark.parametrize(
    ("zone", "moment", "ends"),
    [
        # Santiago skips midnight on 6 September 2026 (-04 -> -03 at 04:00 UTC): the 5th ends
        # at 23:59 -04 (03:59 UTC), the 6th, 23 hours long, at 23:59 -03 (02:59 UTC)
        (
            "America/Santiago",
            utc(7, 12, 0, month=9),
            [utc(6, 3, 59, month=9), utc(7, 2, 59, month=9)],
        ),
        # Havana reads midnight twice on 1 November 2026 (00:59 -04 -> 00:00 -05): 31 October
        # ends before the first (03:59 UTC), 1 November, 25 hours long, at 04:59 UTC on the 2nd
        (
            "America/Havana",
            utc(2, 12, 0, month=11),
            [utc(1, 3, 59, month=11), utc(2, 4, 59, month=11)],
        ),
        # Beirut skips midnight on 29 March 2026 (+02 -> +03 at 22:00 UTC on the 28th)
        (
            "Asia/Beirut",
            utc(29, 12, 0, month=3),
            [utc(27, 21, 59, month=3), utc(28, 21, 59, month=3)],
        ),
    ],
)
def test_the_last_minutes_of_days_around_a_clock_change_at_midnight(zone, moment, ends):
    assert day_ends.ended_days(moment, zone, days=2) == ends


def test_the_day_before_a_skipped_midnight_ends_at_its_last_minute(
    vue, isolated, settings, replay_server, monkeypatch
):
    """A Vue in Santiago, where 6 September 2026 starts at 01:00 (-03, 04:00 UTC): 5 September
    ends at 23:59 -04 = 03:59 UTC, and a restart over that midnight still stores its complete
    total there, once it settled (01:20 on the 6th), after the first total of the 6th."""
    on_run_clock(monkeypatch)  # the schedules outlive the restart: kept by the runs' time
    vue.site.timezone = "America/Santiago"
    vue.site.save()
    devices = json.dumps(replay_server.load_fixture("emporia/devices.json"))
    santiago = json.loads(devices.replace("America/Chicago", "America/Santiago"))
    replay_server.add("GET", "/customers/devices", json=santiago, times=100)
    answer(replay_server, "1D", utc(6, 3, 49, month=9), 30.6)
    answer(replay_server, "1D", utc(6, 3, 59, month=9), 31.2)
    answer(replay_server, "1D", utc(6, 4, 4, month=9), 0.15)
    routes(replay_server)
    assert run(vue, replay_server, utc(6, 3, 50, 30, month=9)) == "ok"  # 23:50 on the 5th
    registry.adapter_for.cache_clear()  # the worker restarted: nothing kept in memory
    for minute in (5, 10, 15, 20):  # 01:05 .. 01:20 on the 6th
        assert run(vue, replay_server, utc(6, 4, minute, 30, month=9)) == "ok"
    assert day_totals(isolated, settings, "Main panel") == pytest.approx(
        {utc(6, 3, 49, month=9): 30.6, utc(6, 3, 59, month=9): 31.2, utc(6, 4, 4, month=9): 0.15}
    )
    assert day_calls(replay_server) == ["09-06T03:49", "09-06T04:04", "09-06T03:59"]


def test_an_ended_days_total_once_stored_is_not_asked_again(vue, isolated, replay_server):
    """Runs every 5 minutes from 23:50 to 01:00 CDT: 30 April's total is asked once, then read
    back from InfluxDB (today's every 15 minutes of the worker's clock: once in this test)."""
    routes(replay_server)
    now = utc(1, 4, 50, 30)
    while now <= utc(1, 6, 0, 30):
        assert run(vue, replay_server, now) == "ok"
        now += timedelta(minutes=5)
    assert day_calls(replay_server).count("05-01T04:59") == 1


def test_an_ended_day_emporia_answers_without_a_total_is_asked_again_an_hour_later(
    isolated, settings, replay_server
):
    """Emporia answers 30 April's total null (not ready) to the first run asking it (15 minutes
    into 1 May): today's totals go on every 15 minutes, and 30 April's is asked again an hour later (not every run)
    and its 31.2 kWh stored (before, it counted as asked and was never asked again)."""
    answer(replay_server, "1D", utc(1, 4, 49), 30.6)
    answer(replay_server, "1D", utc(1, 4, 59), NULL, times=1)
    answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    routes(replay_server)
    clock = Clock()
    adapter = EmporiaVueAdapter(clock=clock)
    credentials = scenes.emporia_credentials(replay_server)
    target = adapter.target(scenes.SITE, credentials)

    def fetch(now: datetime) -> None:  # its readings written, as the pipeline does
        answer(replay_server, "1MIN", now.replace(second=0) - timedelta(minutes=1))
        window = Window(start=now - timedelta(minutes=5), end=now, now=now)
        result = adapter.fetch(target, credentials, window)
        isolated.write(settings.INFLUXDB_DATABASE, result.readings)
        clock.now += 300

    for hour, minute in ((4, 50), (5, 20), (5, 25), (5, 30), (5, 35)):
        fetch(utc(1, hour, minute, 30))
    assert utc(1, 4, 59) not in day_totals(isolated, settings, "Main panel")
    clock.now += 3600
    fetch(utc(1, 6, 35, 30))
    assert day_totals(isolated, settings, "Main panel")[utc(1, 4, 59)] == 31.2
    assert day_calls(replay_server) == ["05-01T04:49", "05-01T04:59", "05-01T05:29", "05-01T04:59"]


# --- Sense: the account's day ends at 04:00 UTC (trends_day.json) ---


def test_sense_a_restart_over_midnight_still_stores_the_ended_days_total(
    isolated, settings, replay_server, feed
):
    """03:50 stores the day so far (23.84 kWh); the worker restarts; its first run after 04:00
    asks today's trends (they tell where Sense's day starts), the first 15 minutes after 04:00
    asks the ended day at its last minute, 03:59, and stores its complete 24.1 kWh (before, a
    fresh worker never asked it: the day's last total stayed 10 minutes short)."""
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    complete = {**SENSE_DAY, "consumption": {"total": 24.1}}
    for start, body in (
        ("2026-05-02T03:50:00", SENSE_DAY),
        ("2026-05-02T03:59:00", complete),
        ("2026-05-02T04:05:00", SENSE_NEW_DAY),
    ):
        replay_server.add("GET", "/app/history/trends", query={"start": start}, json=body)
    first = SenseAdapter(clock=RUN_AT)  # the worker's clock: each run's `now`
    sense_run(first, replay_server, feed, isolated, settings, utc(2, 3, 50, 30))
    adapter = SenseAdapter(clock=RUN_AT)  # the worker restarted: nothing kept in memory
    for minute in (5, 10, 15):
        sense_run(adapter, replay_server, feed, isolated, settings, utc(2, 4, minute, 30))
    assert day_totals(isolated, settings) == {
        utc(2, 3, 50): 23.84,  # so far
        utc(2, 3, 59): 24.1,  # the day's complete total
        utc(2, 4, 5): 0.05,  # the new day so far
    }
    starts = [r.query["start"][11:16] for r in replay_server.calls("GET", "/app/history/trends")]
    assert starts == ["03:50", "04:05", "03:59"]


def test_sense_an_ended_day_answered_without_its_total_is_asked_again_later(
    isolated, settings, replay_server, feed
):
    """The first run 15 minutes after 04:00 asks the ended day, and Sense answers it without a
    total: it is asked again an hour later (not every run) and its 24.1 kWh stored then
    (before, it was dropped and never asked again)."""
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    no_total = {**SENSE_DAY, "consumption": {"totals": [0.9]}}
    complete = {**SENSE_DAY, "consumption": {"total": 24.1}}
    trends = "/app/history/trends"
    replay_server.add("GET", trends, query={"start": "2026-05-02T03:50:00"}, json=SENSE_DAY)
    replay_server.add("GET", trends, query={"start": "2026-05-02T03:59:00"}, json=no_total, times=1)
    replay_server.add("GET", trends, query={"start": "2026-05-02T03:59:00"}, json=complete)
    for start in ("2026-05-02T04:05:00", "2026-05-02T04:20:00"):
        replay_server.add("GET", trends, query={"start": start}, json=SENSE_NEW_DAY)
    clock = Clock()
    adapter = SenseAdapter(clock=clock)
    for now, seconds in ((utc(2, 3, 50, 30), 900), (utc(2, 4, 5, 30), 300)):
        sense_run(adapter, replay_server, feed, isolated, settings, now)
        clock.now += seconds
    for minute in (10, 15, 20, 25):  # the ended day, today's trends, then it waits its hour
        sense_run(adapter, replay_server, feed, isolated, settings, utc(2, 4, minute, 30))
        clock.now += 300
    assert utc(2, 3, 59) not in day_totals(isolated, settings)
    clock.now += 3600
    sense_run(adapter, replay_server, feed, isolated, settings, utc(2, 5, 25, 30))
    assert day_totals(isolated, settings)[utc(2, 3, 59)] == 24.1
    starts = [r.query["start"][11:16] for r in replay_server.calls("GET", trends)]
    assert starts == ["03:50", "04:05", "03:59", "04:20", "03:59"]
