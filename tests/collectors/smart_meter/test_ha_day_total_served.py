"""The Home Assistant meter's day total over the site's midnight, read every minute.

Its `daily_energy_entity` (a daily utility meter: back to 0 at midnight) is read every 5
minutes; between two polls the served answer is the last poll's. Runs through the pipeline
every 5 minutes across midnight in Berlin (22:00 UTC in May), GET /api/enrichment/current read
every minute: from midnight until the first state HA gave of the new day, no total is
served, not the day that ended. The sensor's day is HA's (`time_zone` of `GET /api/config`):
with a site in UTC and HA in Berlin, the total followed UTC's midnight, two hours late."""

from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from collectors.ha_mqtt.entities import source_entry
from enrich.redis.cache import ResponseCache
from retention.timeutil import day_start
from tests.collectors import scenarios_smart_meter as scenes

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_RUN = datetime(2026, 5, 1, 21, 47, 30, tzinfo=UTC)  # 23:47:30 CEST, then every 5 minutes
LAST_READ = datetime(2026, 5, 1, 22, 14, 30, tzinfo=UTC)
# What HA's daily energy sensor says at each poll: (Wh, the state's last_reported).
DAY_STATES = [
    (14_200, datetime(2026, 5, 1, 21, 47, 10, tzinfo=UTC)),
    (14_260, datetime(2026, 5, 1, 21, 52, 10, tzinfo=UTC)),
    (14_330, datetime(2026, 5, 1, 21, 57, 10, tzinfo=UTC)),  # 23:57:10, 1 May's last
    (40, datetime(2026, 5, 1, 22, 2, 10, tzinfo=UTC)),  # 00:02:10, 2 May so far
    (95, datetime(2026, 5, 1, 22, 7, 10, tzinfo=UTC)),
    (150, datetime(2026, 5, 1, 22, 12, 10, tzinfo=UTC)),
]


def state(entity: str, value: float, at: datetime, unit: str) -> dict:
    stamp = at.isoformat()
    return {
        "entity_id": entity,
        "state": str(value),
        "attributes": {"unit_of_measurement": unit},
        "last_changed": stamp,
        "last_reported": stamp,
        "last_updated": stamp,
    }


@pytest.fixture
def site_zone() -> str:
    return "Europe/Berlin"


@pytest.fixture
def meter(isolated, replay_server, monkeypatch, site_zone):
    """A `site_zone` site's Home Assistant meter (in the DB), HA in Berlin, and the clock."""
    from enrich.models import ProviderConfig, Site

    site = Site.objects.create(name="Berlin home", latitude=52.52, longitude=13.4,
                               timezone=site_zone)  # fmt: skip
    ha = {**replay_server.load_fixture("home_assistant/config.json"), "time_zone": "Europe/Berlin"}
    replay_server.add("GET", "/api/config", json=ha)
    credentials = scenes.home_assistant_credentials(replay_server, circuits={})
    config = ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider="home_assistant",
        interval_seconds=300,
        api_key=credentials.api_key,
        options=dict(credentials.options),
    )
    moved = {"now": FIRST_RUN}
    answer = partial(answer_states, replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: moved["now"])
    return config, moved, answer


def answer_states(server, wh: float, energy_at: datetime, power_at: datetime) -> None:
    """HA's next answers: today's energy `wh` (at `energy_at`), the home's 900 W."""
    energy = state("sensor.home_energy_today", wh, energy_at, "Wh")
    server.add("GET", "/api/states/sensor.home_energy_today", json=energy)
    server.add(
        "GET", "/api/states/sensor.home_power", json=state("sensor.home_power", 900, power_at, "W")
    )


def served(site_id: int, more: bool = False) -> tuple | None:
    """The home's (daily_kwh, its time), `more`: with its zone and date; None without one."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    body = client.get(f"/api/enrichment/current?site={site_id}").json()
    [entry] = body["sources"]["smart_meter"]["providers"]
    home = entry["value"]["devices"]["home"]
    fields = ("daily_kwh", "daily_kwh_time") + (
        ("daily_kwh_zone", "daily_kwh_date") if more else ()
    )
    return tuple(home.get(f) for f in fields) if "daily_kwh" in home else None


def test_the_day_that_ended_is_not_served_as_todays_after_midnight(meter):
    config, moved, answer = meter
    for wh, at in DAY_STATES:
        answer(wh, at, at)
    polled: list[tuple[float, datetime]] = []
    while moved["now"] <= LAST_READ:
        now = moved["now"]
        if (now - FIRST_RUN) % timedelta(minutes=5) == timedelta(0):
            assert pipeline.collect(config, now=now).status == "ok"
            polled.append(DAY_STATES[len(polled)])
        today = datetime.combine(now.astimezone(BERLIN).date(), datetime.min.time(), BERLIN)
        wh, at = polled[-1]  # what a user reads off HA's sensor for today, if it is today's
        want = (wh / 1000, at.isoformat()) if at >= today else None
        assert served(config.site_id) == want, now
        entry = source_entry([config], ResponseCache())  # what Home Assistant reads
        assert entry["value"]["devices"]["home"].get("daily_kwh") == (want and want[0]), now
        moved["now"] += timedelta(minutes=1)


def test_with_influxdb_out_of_reach_a_total_read_before_midnight_is_not_todays(meter, settings):
    """The first poll after midnight finds HA's energy sensor not reset yet (its state of
    23:59:50) and the home's power of 00:01:20: the answer's own total is of the day that
    ended, though the answer's newest time is of today."""
    from enrich import influx

    config, moved, answer = meter
    before = datetime(2026, 5, 1, 21, 59, 50, tzinfo=UTC)
    answer(14_400, before, datetime(2026, 5, 1, 22, 1, 20, tzinfo=UTC))
    moved["now"] = datetime(2026, 5, 1, 22, 1, 30, tzinfo=UTC)  # 2 May 00:01:30 CEST
    assert pipeline.collect(config, now=moved["now"]).status == "ok"
    assert served(config.site_id) is None
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    influx.reset_timeseries()
    try:
        moved["now"] += timedelta(minutes=1)
        assert served(config.site_id) is None
    finally:
        influx.reset_timeseries()


def berlin_day(moment: datetime) -> tuple[date, datetime]:
    local = moment.astimezone(BERLIN).date()
    return local, day_start(local, BERLIN).astimezone(UTC)


@pytest.mark.parametrize("site_zone", ["UTC"])
def test_the_total_follows_has_midnight_not_the_sites(meter, replay_server):
    """A site in UTC, HA in Berlin (CEST): HA's daily sensor starts again at 22:00 UTC. Polls
    every 5 minutes, the answer read every minute across Berlin's midnight and UTC's: the
    total served is Berlin's day's, with its zone and date (before: the ended day's until
    UTC's midnight, then none until the next poll)."""
    config, moved, _ = meter
    polled: list[tuple[float, datetime]] = []

    def poll(now: datetime) -> None:
        at = now - timedelta(seconds=20)  # the sensor's last_reported
        wh = 40 + (at - berlin_day(at)[1]) // timedelta(minutes=1) * 10
        energy = state("sensor.home_energy_today", wh, at, "Wh")
        replay_server.add("GET", "/api/states/sensor.home_energy_today", json=energy, times=1)
        power = state("sensor.home_power", 900, at, "W")
        replay_server.add("GET", "/api/states/sensor.home_power", json=power, times=1)
        assert pipeline.collect(config, now=now).status == "ok", now
        polled.append((wh, at))

    first = datetime(2026, 5, 1, 21, 40, 30, tzinfo=UTC)
    for minutes in range(161):  # to 00:20:30 UTC
        moved["now"] = now = first + timedelta(minutes=minutes)
        if minutes % 5 == 0:
            poll(now)
        local, start = berlin_day(now)
        wh, at = polled[-1]
        want = (wh / 1000, at.isoformat(), "Europe/Berlin", local.isoformat())
        assert served(config.site_id, more=True) == (want if at >= start else None), now
