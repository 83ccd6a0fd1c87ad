"""Emporia's and Sense's day totals asked run by run (tests/collectors/smart_meter's day-total
tests): the answers of the replay server at an instant, a pipeline run, the day totals asked,
a Sense fetch written as the pipeline writes it, and the adapters' moved clock, or the clock of
the run under way (RUN_AT: what the meters' schedules, shared by every process, keep time by)."""

from datetime import UTC, datetime, timedelta
from functools import partialmethod

from collectors import pipeline, registry
from collectors.base import Window
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from collectors.smart_meter.sense.adapter import SenseAdapter
from tests.collectors import scenarios_smart_meter as scenes
from tests.support.meter_days import Moved
from tests.support.replay import load_fixture

RUN_AT = Moved(datetime(2026, 5, 1, tzinfo=UTC))  # set by run() and sense_run() to their `now`


def on_run_clock(monkeypatch) -> None:
    """The Emporia and Sense adapters the registry makes (each one a worker process, or one
    restarted: registry.adapter_for.cache_clear()) keep time by the runs' `now` (RUN_AT)."""
    for adapter in (EmporiaVueAdapter, SenseAdapter):
        init = partialmethod(adapter.__init__, clock=RUN_AT)
        clocked = type(adapter.__name__, (adapter,), {"__init__": init})
        monkeypatch.setitem(registry.BY_KEY, (adapter.source, adapter.provider), clocked)
    registry.adapter_for.cache_clear()


MAINS_CHART = {"apiMethod": "getChartUsage"}
NULL = "null"


def answer(server, scale: str, at: datetime, kwh: float | str | None = None, **reply) -> None:
    """The /AppAPI answer of `scale` at the instant `at` (the Vue's mains at `kwh` for 1D, the
    plug's at 0.01; NULL: both not ready)."""
    body = server.load_fixture(f"emporia/usage_{'1day' if scale == '1D' else '1min'}.json")
    body["deviceListUsages"]["instant"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kwh is not None:
        mains = body["deviceListUsages"]["devices"][0]["channelUsages"][0]
        mains["usage"] = None if kwh == NULL else kwh
        mains["nestedDevices"][0]["channelUsages"][0]["usage"] = None if kwh == NULL else 0.01
    query = {**scenes.USAGE, "scale": scale, "instant": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    scenes.answer_app_api(server, query, json=body, **reply)


def routes(server) -> None:
    """After the answers a test queued: empty mains charts, the device list, logins."""
    empty = {"firstUsageInstant": "2026-05-01T00:00:00Z", "usageList": []}
    scenes.answer_app_api(server, MAINS_CHART, json=empty)
    scenes.emporia_routes(server)
    scenes.cognito_answers(server, "refreshed")


def run(config, server, now: datetime) -> str:
    """One pipeline run at `now`, Emporia answering the minute usage of its last minute."""
    answer(server, "1MIN", now.replace(second=0) - timedelta(minutes=1))
    RUN_AT.now = now
    return pipeline.collect(config, now=now).status


def day_calls(server) -> list[str]:
    return [
        r.query["instant"][5:16]
        for r in server.calls("GET", "/AppAPI")
        if r.query.get("scale") == "1D"
    ]


SENSE_DAY = load_fixture("sense/trends_day.json")  # 1 May 04:00 .. 2 May 04:00 UTC, 23.84 kWh
SENSE_NEW_DAY = {
    **SENSE_DAY,
    "start": "2026-05-02T04:00:00.000Z",
    "end": "2026-05-03T04:00:00.000Z",
    "consumption": {"total": 0.05, "totals": [0.05], "devices": []},
}


def sense_run(adapter, server, feed, isolated, settings, now: datetime):
    """One fetch at `now` (the frame 10 s before), its readings written as the pipeline does."""
    frame = load_fixture("sense/frame_realtime_update.json")
    frame["payload"]["epoch"] = (now - timedelta(seconds=10)).timestamp()
    feed.script([load_fixture("sense/frame_hello.json"), frame])
    credentials = scenes.sense_credentials(server, feed.url)
    target = adapter.target(scenes.SITE, credentials)
    window = Window(start=now - timedelta(minutes=5), end=now, now=now)
    RUN_AT.now = now
    result = adapter.fetch(target, credentials, window)
    isolated.write(settings.INFLUXDB_DATABASE, result.readings)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
