"""How often the day-total calls go out: an ended day asked once more is remembered in Redis,
once for every worker process (each with its own memory: a fresh adapter here), a worker
restarted too; a day at a 10-minute cadence calls what the budget planning counts, and so do
the worker's two processes taking turns (today's total, the device list, Sense's trends and
an unanswered day's retry on one schedule kept in Redis); runs 15 minutes apart that come a
second early each ask today's total. Emporia through the pipeline
against the replay server, the real InfluxDB, Redis and PostgreSQL (the Vue's day is
Chicago's, devices.json); Sense's adapter against the replay server and the local feed."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from collectors import pipeline, registry, sharing
from collectors.base import Window
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from collectors.smart_meter.emporia.budget import RETRY_SHARE
from collectors.smart_meter.sense.adapter import SenseAdapter
from enrich.redis.client import RedisUnavailable, get_redis
from tests.collectors import scenarios_smart_meter as scenes
from tests.collectors.scenarios_smart_meter import day_totals
from tests.support import day_total_runs as runs
from tests.support.day_total_runs import on_run_clock
from tests.support.meter_days import moved_adapter
from tests.support.ports import free_port
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]

DAY = 86400


def utc(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def vue(isolated, replay_server, monkeypatch):
    """A Chicago site collecting its Emporia Vue every 5 minutes; the mains charts are empty;
    the adapters keep time by the runs' `now` (each new one a worker process)."""
    on_run_clock(monkeypatch)
    yield scenes.emporia_config(replay_server)
    registry.adapter_for.cache_clear()


def asked_memory() -> dict[str, int]:
    """The Redis keys of this test's prefix that remember an ended day asked, and their TTLs."""
    redis = get_redis()
    found = redis.scan_iter(f"{django_settings.REDIS_KEY_PREFIX}:smart_meter_day_asked:*")
    return {key: redis.ttl(key) for key in found}


def test_two_worker_processes_ask_the_ended_day_once_more_only_once(
    vue, isolated, settings, replay_server
):
    """The run at 00:00 CDT stores 30 April's total so far at its last minute (23:59 = 04:59
    UTC); the first run 15 minutes after midnight (00:20) asks it once more and stores its
    complete 31.2 kWh. The next run goes to the worker's other process (a fresh adapter, as
    after a restart): it asks 1 May's total so far, not 30 April's again (each process kept
    its own memory: Emporia got 30 April's day three times)."""
    runs.answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    runs.answer(replay_server, "1D", utc(1, 5, 24), 0.4)
    runs.routes(replay_server)
    assert runs.run(vue, replay_server, utc(1, 5, 0, 30)) == "ok"
    assert runs.run(vue, replay_server, utc(1, 5, 20, 30)) == "ok"
    registry.adapter_for.cache_clear()  # the other process: nothing of the first in memory
    assert runs.run(vue, replay_server, utc(1, 5, 25, 30)) == "ok"
    assert runs.run(vue, replay_server, utc(1, 5, 30, 30)) == "ok"
    assert runs.day_calls(replay_server) == ["05-01T04:59", "05-01T04:59", "05-01T05:24"]
    assert day_totals(isolated, settings, "Main panel")[utc(1, 4, 59)] == 31.2
    ttls = list(asked_memory().values())
    assert len(ttls) == 1 and DAY < ttls[0] <= 2 * DAY  # it expires


def test_sense_a_second_process_does_not_ask_the_ended_day_again(
    isolated, settings, replay_server, feed
):
    """Sense: the first run 15 minutes after 04:00 asks the ended day at 03:59 once more
    (its total so far was stored there at 03:59); a second process (a fresh adapter) asks
    today's trends, which tell it where the day starts, and then not the ended day again."""
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    so_far = {**runs.SENSE_DAY, "consumption": {"total": 24.0}}
    complete = {**runs.SENSE_DAY, "consumption": {"total": 24.1}}
    trends = "/app/history/trends"
    replay_server.add("GET", trends, query={"start": "2026-05-02T03:44:00"}, json=runs.SENSE_DAY)
    at_last_minute = {"start": "2026-05-02T03:59:00"}
    replay_server.add("GET", trends, query=at_last_minute, json=so_far, times=1)
    replay_server.add("GET", trends, query=at_last_minute, json=complete)
    replay_server.add(
        "GET", trends, query={"start": "2026-05-02T04:20:00"}, json=runs.SENSE_NEW_DAY
    )
    clock = runs.Clock()
    first = SenseAdapter(clock=clock)
    for now in (utc(2, 3, 44, 30), utc(2, 3, 59, 30), utc(2, 4, 15, 30)):
        runs.sense_run(first, replay_server, feed, isolated, settings, now)
        clock.now += 900
    second = SenseAdapter(clock=runs.Clock())  # the worker's other process
    for minute in (20, 25, 30):
        runs.sense_run(second, replay_server, feed, isolated, settings, utc(2, 4, minute, 30))
    starts = [r.query["start"][11:16] for r in replay_server.calls("GET", trends)]
    assert starts == ["03:44", "03:59", "03:59", "04:20"]
    assert day_totals(isolated, settings)[utc(2, 3, 59)] == 24.1


def test_redis_out_of_reach_fails_the_fetch_before_it_asks_the_ended_day(
    isolated, settings, replay_server
):
    """Which ended days were asked once more is Redis's to say: out of reach, the fetch fails
    as the pipeline's other Redis steps do (RedisUnavailable: the run is recorded failed, the
    last good answer served) before it asks Emporia the day, and the next run asks it."""
    runs.answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    runs.routes(replay_server)
    adapter = EmporiaVueAdapter()
    credentials = scenes.emporia_credentials(replay_server)
    target = adapter.target(scenes.SITE, credentials)

    def fetch(now: datetime) -> None:
        runs.answer(replay_server, "1MIN", now.replace(second=0) - timedelta(minutes=1))
        window = Window(start=now - timedelta(minutes=5), end=now, now=now)
        isolated.write(
            settings.INFLUXDB_DATABASE, adapter.fetch(target, credentials, window).readings
        )

    fetch(utc(1, 5, 0, 30))  # 30 April so far at 04:59
    url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        with pytest.raises(RedisUnavailable, match="ended days asked"):
            fetch(utc(1, 5, 20, 30))
    finally:
        settings.REDIS_URL = url
    assert runs.day_calls(replay_server) == ["05-01T04:59"]
    fetch(utc(1, 5, 25, 30))
    assert runs.day_calls(replay_server) == ["05-01T04:59", "05-01T04:59"]


def emporia_calls(server) -> int:
    """Emporia's API calls the server received (not the Cognito logins)."""
    return len(server.calls("GET", "/AppAPI")) + len(server.calls("GET", "/customers/devices"))


def test_a_day_at_a_10_minute_cadence_calls_what_the_planning_counts(
    vue, monkeypatch, replay_server
):
    """From the Vue's midnight (00:00:30 CDT) a run every 10 minutes for a day: 144 minute
    usages, 144 mains charts, 24 device lists, today's total every second run (the first run
    15 minutes after the last) and 30 April's once more at 00:20, in place of today's, which
    the next run asks: 72 + 1 day totals, 385 calls. The planning (calls_per_period, 5 % on
    top for the null retries) counts exactly those (it counted 97 day totals: 409)."""
    vue.interval_seconds = 600
    vue.save()
    runs.routes(replay_server)
    moved = moved_adapter(monkeypatch, EmporiaVueAdapter, utc(1, 5, 0, 30))
    for n in range(144):
        moved.now = utc(1, 5, 0, 30) + n * timedelta(minutes=10)
        assert runs.run(vue, replay_server, moved.now) == "ok", moved.now
    calls = runs.day_calls(replay_server)
    assert len(calls) == 73 and calls[:4] == ["05-01T04:59", "05-01T04:59", "05-01T05:29",
                                              "05-01T05:49"]  # fmt: skip
    made = emporia_calls(replay_server)
    assert made == 144 + 144 + 24 + 73
    adapter = pipeline.adapter_for("smart_meter", "emporia_vue")
    credentials = scenes.emporia_credentials(replay_server)
    target = adapter.target(scenes.SITE, credentials)
    planned = adapter.calls_per_period(target, credentials, 600, DAY)
    assert planned == math.ceil(made * (1 + RETRY_SHARE)) == 405


def test_runs_a_second_early_each_ask_todays_total(vue, monkeypatch, replay_server):
    """Every 15 minutes, every second run a second early (14:00:00, 14:14:59, 14:30:00,
    14:44:59, ...): each run asks today's total (a run 899 s after the last one left it to
    the next: every 30 minutes)."""
    vue.interval_seconds = 900
    vue.save()
    runs.routes(replay_server)
    moved = moved_adapter(monkeypatch, EmporiaVueAdapter, utc(1, 14, 0))
    for n in range(8):
        moved.now = utc(1, 14, 0) + n * timedelta(minutes=15) - timedelta(seconds=n % 2)
        assert runs.run(vue, replay_server, moved.now) == "ok", moved.now
    assert len(runs.day_calls(replay_server)) == 8


def test_two_processes_taking_turns_call_what_the_planning_counts(vue, monkeypatch, replay_server):
    """The worker's two processes (two adapters) take turns at a 5-minute cadence for a day
    from the Vue's midnight (00:00:30 CDT): today's total every third run (96), 30 April's once
    more at 00:20, the device list once an hour (24): 288 + 288 + 24 + 97 = 697 calls, what
    the planning counts. Each process kept its own schedule: today's total every fourth of
    its own runs, every 20 minutes (144 a day), and 48 device lists (793 calls where 697 were
    planned, eating the account's budget)."""
    runs.routes(replay_server)
    processes = [EmporiaVueAdapter(clock=runs.RUN_AT) for _ in range(2)]
    turn = [processes[0]]
    for module in (pipeline, sharing):
        monkeypatch.setattr(module, "adapter_for", lambda source, provider: turn[0])
    for n in range(288):
        turn[0] = processes[n % 2]
        now = utc(1, 5, 0, 30) + n * timedelta(minutes=5)
        assert runs.run(vue, replay_server, now) == "ok", now
    calls = runs.day_calls(replay_server)
    assert len(calls) == 97 and calls[:4] == ["05-01T04:59", "05-01T05:14", "05-01T04:59",
                                              "05-01T05:29"]  # fmt: skip
    assert len(replay_server.calls("GET", "/customers/devices")) == 24
    made = emporia_calls(replay_server)
    assert made == 288 + 288 + 24 + 97
    credentials = scenes.emporia_credentials(replay_server)
    target = processes[1].target(scenes.SITE, credentials)
    planned = processes[1].calls_per_period(target, credentials, 300, DAY)
    assert planned == math.ceil(made * (1 + RETRY_SHARE))


def test_sense_two_processes_taking_turns_ask_the_trends_every_15_minutes(
    isolated, settings, replay_server, feed
):
    """Sense: the worker's two processes (two adapters) take turns every 5 minutes for
    Sense's whole day of 1 May: today's trends go out every third run, 96 times (each process
    with its own schedule asked them every 20 minutes: 144 times)."""
    replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
    replay_server.add("GET", "/app/history/trends", json=runs.SENSE_DAY)
    processes = [SenseAdapter(clock=runs.RUN_AT) for _ in range(2)]
    for n in range(288):
        now = utc(1, 4, 0, 30) + n * timedelta(minutes=5)
        runs.sense_run(processes[n % 2], replay_server, feed, isolated, settings, now)
    starts = [r.query["start"][11:16] for r in replay_server.calls("GET", "/app/history/trends")]
    assert len(starts) == 96 and starts[:3] == ["04:00", "04:15", "04:30"]


def test_a_day_answered_without_a_total_is_asked_again_an_hour_later_by_either_process(
    isolated, settings, replay_server
):
    """Emporia answers 30 April's total null to the first run asking it (00:20 CDT, the
    worker's second process): the first process's next run does not ask it again (it kept its
    own memory and asked it at once), today's totals go on every 15 minutes, and the run an
    hour later asks 30 April's again and stores its 31.2 kWh."""
    runs.answer(replay_server, "1D", utc(1, 4, 49), 30.6)
    runs.answer(replay_server, "1D", utc(1, 4, 59), runs.NULL, times=1)
    runs.answer(replay_server, "1D", utc(1, 4, 59), 31.2)
    scenes.cognito_answers(replay_server, "challenge", "tokens", times=1)  # each one logs in
    runs.routes(replay_server)
    processes = [EmporiaVueAdapter(clock=runs.RUN_AT) for _ in range(2)]
    credentials = scenes.emporia_credentials(replay_server)
    target = processes[0].target(scenes.SITE, credentials)
    times = [utc(1, 4, 50, 30)] + [utc(1, 5, 20, 30) + n * timedelta(minutes=5) for n in range(13)]
    for n, now in enumerate(times):  # 04:50:30, then 05:20:30 .. 06:20:30
        runs.answer(replay_server, "1MIN", now.replace(second=0) - timedelta(minutes=1))
        window = Window(start=now - timedelta(minutes=5), end=now, now=now)
        runs.RUN_AT.now = now
        result = processes[n % 2].fetch(target, credentials, window)
        isolated.write(settings.INFLUXDB_DATABASE, result.readings)
    assert runs.day_calls(replay_server) == ["05-01T04:49", "05-01T04:59", "05-01T05:24",
                                             "05-01T05:39", "05-01T05:54", "05-01T06:09",
                                             "05-01T04:59"]  # fmt: skip
    assert day_totals(isolated, settings, "Main panel")[utc(1, 4, 59)] == 31.2


def test_redis_out_of_reach_fails_the_fetch_before_any_call(isolated, settings, replay_server):
    """The device list and today's schedule are Redis's to say: out of reach, a worker's
    fresh process fails its fetch (RedisUnavailable naming the meters' schedule) without
    asking Emporia anything, not even the device list."""
    runs.routes(replay_server)
    adapter = EmporiaVueAdapter()
    credentials = scenes.emporia_credentials(replay_server)
    target = adapter.target(scenes.SITE, credentials)
    now = utc(1, 14, 0, 30)
    runs.answer(replay_server, "1MIN", utc(1, 13, 59))
    url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        with pytest.raises(RedisUnavailable, match="shared schedule"):
            adapter.fetch(target, credentials, Window(now - timedelta(minutes=5), now, now))
    finally:
        settings.REDIS_URL = url
    assert emporia_calls(replay_server) == 0
