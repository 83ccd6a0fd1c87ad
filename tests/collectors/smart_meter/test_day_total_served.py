"""Each device's day total is in the served answer at every minute of its day, never in the
next. Emporia answers today's total only to every third 5-minute run (every 15 minutes), so
GET /api/enrichment/current (and Home Assistant, which reads the same entry) served
`devices[].daily_kwh` only after those runs, and over local midnight served the ended day's.
Runs through the pipeline every 5 minutes, the API read every minute, across midnight in
Chicago (05:00 UTC); the Vue's day is Chicago's (devices.json)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline, registry
from collectors.ha_mqtt.entities import source_entry
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_smart_meter as scenes

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
# Emporia's 1D answers, by the instant asked: the Vue's mains and the plug's kWh.
DAY_ANSWERS = {
    datetime(2026, 5, 1, 4, 27, tzinfo=UTC): (29.1, 0.9),  # 30 April 23:27 CDT, so far
    datetime(2026, 5, 1, 4, 42, tzinfo=UTC): (29.8, 0.95),
    datetime(2026, 5, 1, 4, 57, tzinfo=UTC): (30.5, 1.0),
    datetime(2026, 5, 1, 5, 12, tzinfo=UTC): (0.2, 0.01),  # 1 May so far
    datetime(2026, 5, 1, 4, 59, tzinfo=UTC): (30.6, 1.02),  # 30 April's complete total
    datetime(2026, 5, 1, 5, 27, tzinfo=UTC): (0.45, 0.02),
}
FIRST_RUN = datetime(2026, 5, 1, 4, 28, 30, tzinfo=UTC)  # then every 5 minutes
LAST_READ = datetime(2026, 5, 1, 5, 36, 30, tzinfo=UTC)


def usage_answer(server, scale: str, at: datetime, kwh: tuple[float, float]) -> None:
    """Emporia's `scale` usage at the instant `at`: the mains and the plug at `kwh`."""
    body = server.load_fixture(f"emporia/usage_{'1day' if scale == '1D' else '1min'}.json")
    usage = body["deviceListUsages"]
    usage["instant"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    mains = usage["devices"][0]["channelUsages"][0]
    mains["usage"], mains["nestedDevices"][0]["channelUsages"][0]["usage"] = kwh
    query = {**scenes.USAGE, "scale": scale, "instant": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    scenes.answer_app_api(server, query, json=body)


def day_calls(server) -> list[datetime]:
    """The instants of the 1D answers Emporia gave so far."""
    calls = [r.query for r in server.calls("GET", "/AppAPI") if r.query.get("scale") == "1D"]
    return [datetime.fromisoformat(q["instant"]) for q in calls]


def expected(now: datetime, fetched: list[datetime]) -> dict[str, tuple[float, str]]:
    """Per device, the last total fetched in the local day of `now` (its kWh, its time)."""
    today = datetime.combine(now.astimezone(CHICAGO).date(), datetime.min.time(), CHICAGO)
    asked = [at for at in fetched if today <= at]
    if not asked:
        return {}
    at = max(asked)
    mains, plug = DAY_ANSWERS[at]
    return {"Main panel": (mains, at.isoformat()), "Office plug": (plug, at.isoformat())}


def served(site_id: int) -> dict[str, tuple[float, str]]:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    body = client.get(f"/api/enrichment/current?site={site_id}").json()
    [entry] = body["sources"]["smart_meter"]["providers"]
    return {
        name: (device["daily_kwh"], device.get("daily_kwh_time"))
        for name, device in entry["value"]["devices"].items()
        if "daily_kwh" in device
    }


class Moved:
    """The moved clock: the pipeline's runs, the API's reads and the adapter's schedule."""

    def __init__(self) -> None:
        self.now = FIRST_RUN

    def run(self, config, server) -> None:
        minute = self.now.replace(second=0) - timedelta(minutes=1)
        usage_answer(server, "1MIN", minute, (0.0169, 0.0021))
        assert pipeline.collect(config, now=self.now).status == "ok"


@pytest.fixture
def vue(isolated, replay_server, monkeypatch):
    """A Chicago site's Emporia Vue (in the DB), Emporia answering DAY_ANSWERS, and the clock."""
    for at, kwh in DAY_ANSWERS.items():
        usage_answer(replay_server, "1D", at, kwh)
    empty = {"firstUsageInstant": "2026-05-01T00:00:00Z", "usageList": []}
    scenes.answer_app_api(replay_server, {"apiMethod": "getChartUsage"}, json=empty)
    scenes.emporia_routes(replay_server)
    scenes.cognito_answers(replay_server, "refreshed")
    registry.adapter_for.cache_clear()
    moved = Moved()
    # The adapter's clock (when today's total is due) follows the moved one.
    adapter = EmporiaVueAdapter(clock=lambda: moved.now.timestamp())
    monkeypatch.setattr(pipeline, "adapter_for", lambda source, provider: adapter)
    monkeypatch.setattr(clock, "utc_now", lambda: moved.now)
    yield scenes.emporia_config(replay_server), moved
    registry.adapter_for.cache_clear()


def test_the_day_total_is_served_at_every_minute_of_its_day_and_not_after(vue, replay_server):
    config, moved = vue
    while moved.now <= LAST_READ:
        if (moved.now - FIRST_RUN) % timedelta(minutes=5) == timedelta(0):
            moved.run(config, replay_server)
        want = expected(moved.now, day_calls(replay_server))
        assert served(config.site_id) == want, moved.now
        # Home Assistant reads the same entry
        entry = source_entry([config], ResponseCache())
        devices = entry["value"]["devices"]
        assert {n: d.get("daily_kwh") for n, d in devices.items() if "daily_kwh" in d} == {
            n: kwh for n, (kwh, _) in want.items()
        }
        moved.now += timedelta(minutes=1)
    # every 15 minutes, and 30 April's complete total by the first run 15 minutes into 1 May
    assert day_calls(replay_server) == list(DAY_ANSWERS)


def test_with_influxdb_out_of_reach_the_answer_keeps_its_own_total_of_today(
    vue, replay_server, settings
):
    """The totals cannot be read back: the answer's own total is served while its day lasts,
    not after local midnight."""
    from enrich import influx as timeseries

    config, moved = vue
    moved.run(config, replay_server)  # 04:28:30: 30 April so far, 29.1 kWh at 04:27
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    timeseries.reset_timeseries()
    try:
        moved.now += timedelta(minutes=2)
        at = min(DAY_ANSWERS)  # the total the answer carries
        (mains, plug), when = DAY_ANSWERS[at], at.isoformat()
        assert served(config.site_id) == {"Main panel": (mains, when), "Office plug": (plug, when)}
        moved.now = datetime(2026, 5, 1, 5, 0, 30, tzinfo=UTC)  # 1 May 00:00:30 CDT
        assert served(config.site_id) == {}
    finally:
        timeseries.reset_timeseries()
