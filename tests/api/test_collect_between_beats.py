"""An answer fetched between two beats (the setup page's collect now) and the next slot.

Collected at 13:47, the answer was fresh for the whole cache time (900 s), so beat's 14:00 run
made no call: the 14:00 half hour's own value (its index and mix) came at 14:15, and AirNow's
14:00 hour, asked at 14:05 before it was published, not at 14:35 but at 15:35 (AirNow keeps no
history: that hour was never stored). The first run once the slot an answer gives as current
has ended fetches (collectors.freshness). The cache time runs on the wall clock, so the
answers are moved to now; the runs after it pass their moment to the pipeline, as beat's do.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from collectors.ha_mqtt.entities import air_quality_states, carbon_states, source_entry
from enrich.models import ProviderConfig, Site
from enrich.redis.cache import ResponseCache
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, observed_in
from tests.support import configs
from tests.support.now_points import at, newest_per_series
from tests.support.status_home import GB_FIXTURE_NOW, shifted

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HALF_HOUR, HOUR = timedelta(minutes=30), timedelta(hours=1)
FORECAST = "/regional/intensity/{}/fw48h/postcode/RG10"


def entry_of(api, source: str) -> dict:
    [entry] = api.get("/api/enrichment/current").json()["sources"][source]["providers"]
    return entry


def register_half_hour(server, start: datetime, intensity: float, index: str) -> None:
    """RG10's documented answers moved to the half hour from `start`, its value `intensity`
    with `index` (asked once), and the 48 h forecast asked in it."""
    current = shifted(server.load_fixture("uk_carbon_intensity/regional_postcode.json"),
                      start - GB_FIXTURE_NOW)  # fmt: skip
    current["data"][0]["data"][0]["intensity"] = {"forecast": intensity, "index": index}
    server.add("GET", "/regional/postcode/RG10", json=current, times=1)
    forecast = shifted(server.load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json"),
                       start - GB_FIXTURE_NOW)  # fmt: skip
    server.add("GET", FORECAST.format(start.strftime("%Y-%m-%dT%H:%MZ")), json=forecast, times=1)


def test_the_first_beat_after_a_collect_now_fetches_the_new_half_hour(
    own_storage, replay_server, api, monkeypatch
):
    collected = datetime.now(UTC)  # the setup page's collect now, at "13:47"
    running = collected.replace(minute=collected.minute // 30 * 30, second=0, microsecond=0)
    boundary = running + HALF_HOUR  # "14:00"
    register_half_hour(replay_server, running, 266, "high")
    register_half_hour(replay_server, boundary, 98, "low")
    site = Site.objects.create(name="Twyford", latitude=51.48, longitude=-0.86,
                               timezone="Europe/London", grid_region="RG10 9XX")  # fmt: skip
    config = ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                           provider="uk_carbon_intensity",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(config, now=collected).status == "ok"
    # a run in the same half hour ("13:50") is served that answer
    assert pipeline.collect(config, now=running + timedelta(minutes=20)).status == "cached"

    beat = boundary + timedelta(seconds=2)  # beat's run of the new half hour
    outcome = pipeline.collect(config, now=beat, dispatched=boundary)
    assert outcome.status == "ok", outcome.served
    asked = [r.path for r in replay_server.requests]
    assert asked[-2:] == ["/regional/postcode/RG10",
                          FORECAST.format(boundary.strftime("%Y-%m-%dT%H:%MZ"))]  # fmt: skip

    at(monkeypatch, boundary + timedelta(minutes=1))
    entry = entry_of(api, "carbon_intensity")
    value = entry["value"]
    assert entry["time"] == value["time"] == boundary.isoformat()
    assert value["carbon_intensity_gco2_kwh"] == 98 and value["intensity_index"] == "low"
    assert entry["fetched_at"] == beat.isoformat() and entry["stale"] is False
    states = {s.spec.key: s for s in carbon_states(source_entry([config], ResponseCache()))}
    assert float(states["carbon_intensity"].state) == 98
    assert states["carbon_intensity"].attributes["data_time"] == boundary.isoformat()
    # that answer spares the calls of the runs within its half hour again
    assert pipeline.collect(config, now=beat + timedelta(minutes=13)).status == "cached"
    assert len(replay_server.requests) == 4


def airnow_site(replay_server) -> ProviderConfig:
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    return configs.airnow(site, replay_server.url)


def test_the_airnow_beat_after_a_collect_now_stores_the_new_hour(
    own_storage, replay_server, api, monkeypatch
):
    collected = datetime.now(UTC)  # the setup page's collect now, at "14:05"
    published = collected.replace(minute=0, second=0, microsecond=0)  # "14:00", not out yet
    for hour in (published - HOUR, published):
        replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observed_in(replay_server, hour),
                          times=1)  # fmt: skip
    config = airnow_site(replay_server)
    assert pipeline.collect(config, now=collected).status == "ok"

    beat = published + timedelta(minutes=35)  # beat's ":35" run
    outcome = pipeline.collect(config, now=beat, dispatched=beat)
    assert outcome.status == "ok", outcome.served
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2

    at(monkeypatch, beat + timedelta(minutes=1))
    entry = entry_of(api, "air_quality")
    assert entry["time"] == entry["value"]["time"] == published.isoformat()
    expected = max(r["nowcastAQI"] for r in observed_in(replay_server, published))
    assert entry["value"]["aqi"] == expected and entry["stale"] is False
    states = {s.spec.key: s for s in air_quality_states(source_entry([config], ResponseCache()))}
    assert float(states["aqi"].state) == expected
    assert states["aqi"].attributes["data_time"] == published.isoformat()
    rows = newest_per_series(own_storage, "air_quality", beat, parameter="overall")
    assert max(row.time for row in rows) == published  # the hour is stored
    assert pipeline.collect(config, now=beat).status == "cached"


def test_an_answer_fetched_in_time_spares_the_runs_of_its_slot(own_storage, replay_server):
    """The slot bound only shortens the cache time: an hour's observation fetched within that
    hour spares the runs up to 30 s before its end (the setup page's collect now), not later."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observed_in(replay_server, hour))
    config = airnow_site(replay_server)
    assert pipeline.collect(config, now=now).status == "ok"
    end = hour + HOUR
    assert pipeline.collect(config, now=end - timedelta(seconds=31)).status == "cached"
    assert pipeline.collect(config, now=end - timedelta(seconds=29)).status == "ok"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2
