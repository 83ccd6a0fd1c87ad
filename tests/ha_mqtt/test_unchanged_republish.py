"""A publication with no new data changes nothing Home Assistant records: HA fires a
state_changed event (a recorder row, an InfluxDB point) for any change of the state OR of the
attributes, and enrich republishes every entity each minute. So every state and attributes
payload is repeated byte for byte until the data changes, and `stale` turning true is a
change that is published."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import pipeline
from collectors.models import FlexibleLoad
from collectors.pipeline import target_for
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import Reading
from enrich.redis.cache import ResponseCache
from retention.models import RetentionRun
from retention.stats.measure import measure_tiers
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import publication

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
MINUTE = timedelta(minutes=1)
# tests/fixtures/home_assistant: the meter's states were reported at this moment.
METER_TIME = datetime(2026, 5, 1, 14, 4, 41, 250000, tzinfo=UTC)


def settled_sizes(tries: int = 30) -> None:
    """Wait until the sizes the storage entities show (InfluxDB's, which trail writes by a few
    seconds) stop moving: those of this test's databases, not of the databases other test
    processes write meanwhile."""
    before = measure_tiers()
    for _ in range(tries):
        time.sleep(0.5)
        now = measure_tiers()
        if now == before:
            return
        before = now
    raise AssertionError("InfluxDB's sizes kept changing")


def test_a_minute_later_without_new_data_every_payload_is_the_same(
    topics, subscriber, broker, settings, monkeypatch
):
    # The raw and tier sizes are of databases nobody writes (other tests share the defaults).
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = f"{settings.INFLUXDB_DATABASE}_none"
    anchor = homes.hour_start()
    site = homes.home()
    homes.carbon(site)
    homes.air_quality(site)
    homes.pricing(site, settings.INFLUXDB_DATABASE, anchor)
    meter = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(meter, scenarios_smart_meter.home_assistant).status == "ok"
    tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant"}
    phantom = {"phantom_load_w": 212.0}
    night = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    get_timeseries().write(
        settings.INFLUXDB_DATABASE,
        [Reading("smart_meter", phantom, night, tags | {"site": site.name})],
    )
    dishwasher = FlexibleLoad.objects.create(
        site=site, name="Dishwasher", hours=2, deadline=(anchor + 6 * timedelta(hours=1)).time(),
        carbon_price=0, kw=1.5,
    )  # fmt: skip
    finished = datetime(2026, 12, 1, 2, 4, 30, tzinfo=UTC)
    RetentionRun.objects.create(
        operation="downsample_hourly", status="ok", started=finished - 4 * MINUTE,
        finished=finished, records_processed=1200, records_deleted=1100,
    )  # fmt: skip
    settled_sizes()

    # Within the hour the slots were stored for, away from its edges: nothing due changes.
    first = publication(broker, topics, subscriber, anchor + 20 * MINUTE, monkeypatch)
    second = publication(broker, topics, subscriber, anchor + 21 * MINUTE, monkeypatch)
    shown = {topic.rsplit("/", 2)[-2] for topic, _ in first}
    assert {
        "carbon_intensity", "aqi", "electricity_price", "cheapest_window_start", "power",
        "phantom_load_home", "circuit_home_heat_pump_power", "storage_enrichment",
        "storage_archive", "last_retention_run", f"load_{dishwasher.pk}_start",
    } <= shown  # fmt: skip
    changed = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert changed == []
    # What replaces the age: when the data is from, and whether it is stale.
    topic = f"{topics.root}/site_{site.pk}/aqi/attributes"
    aqi = json.loads(dict(second)[topic])
    assert (aqi["fetched_at"], aqi["stale"]) == ("2026-10-08T10:40:00+00:00", True)
    assert "age_seconds" not in aqi


def test_a_circuit_turning_stale_is_published(topics, subscriber, broker, settings, monkeypatch):
    site = homes.home()
    config = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(config, scenarios_smart_meter.home_assistant).status == "ok"
    topic = f"{topics.root}/site_{site.pk}/circuit_home_heat_pump_power/attributes"
    # Stale once the run due when the cache time (300 s) ran out never came: 150 s after it.
    fresh = publication(broker, topics, subscriber, METER_TIME + 5 * MINUTE, monkeypatch)
    same = publication(broker, topics, subscriber, METER_TIME + 6 * MINUTE, monkeypatch)
    stale = publication(broker, topics, subscriber, METER_TIME + 11 * MINUTE, monkeypatch)
    assert dict(same)[topic] == dict(fresh)[topic]  # byte for byte
    attributes = {"device": "home", "circuit": "Heat pump", "data_time": METER_TIME.isoformat()}
    assert json.loads(dict(fresh)[topic]) == attributes | {"stale": False}
    assert json.loads(dict(stale)[topic]) == attributes | {"stale": True}
    state = f"{topics.root}/site_{site.pk}/circuit_home_heat_pump_power/state"
    assert dict(fresh)[state] == dict(stale)[state] == "920.0"  # still shown, marked stale


def test_a_cached_answer_turning_stale_is_published(
    topics, subscriber, broker, monkeypatch, settings
):
    """Once the run due when its cache time ran out has failed: not while that run is still
    fetching (the publication in the cycle's first second), which flipped `stale` true and
    back at every cycle (two state changes recorded without new data)."""
    site = homes.home()
    config = homes.air_quality(site)
    cache = ResponseCache()
    target = target_for(config).key
    answer = cache.last_good("air_quality", "airnow", target)
    fetched = datetime.now(UTC)
    # The same answer fetched now, fresh for 2 s (the cache's ages are the real clock's).
    cache.put("air_quality", "airnow", target, answer.value, ttl=2, fetched_at=fetched)
    topic = f"{topics.root}/site_{site.pk}/aqi/attributes"
    # The publisher's clock 40 min into the observed hour: the observation is current (one
    # hours old is stale by its own age, collectors.air_quality.now), only the cache ages.
    now = datetime.fromisoformat(answer.value["time"]) + timedelta(minutes=40)
    fresh = json.loads(dict(publication(broker, topics, subscriber, now, monkeypatch))[topic])
    time.sleep(max(0.0, (fetched + timedelta(seconds=2.2) - datetime.now(UTC)).total_seconds()))
    due = json.loads(dict(publication(broker, topics, subscriber, now, monkeypatch))[topic])
    settings.HTTP_MAX_RETRIES = 0
    assert pipeline.collect(config).status == "failed"  # its replayed API is gone
    stale = json.loads(dict(publication(broker, topics, subscriber, now, monkeypatch))[topic])
    assert (fresh["stale"], due["stale"], stale["stale"]) == (False, False, True)
    assert due == fresh  # byte for byte: nothing recorded while the run due fetches
    assert fresh["fetched_at"] == stale["fetched_at"] == fetched.isoformat()
    assert {k: v for k, v in stale.items() if k != "stale"} == {
        k: v for k, v in fresh.items() if k != "stale"
    }
    assert "age_seconds" not in stale


@pytest.mark.parametrize("stored", [5, 0], ids=["too few prices", "no prices"])
def test_a_load_without_a_plan_repeats_its_reason_a_minute_later(
    topics, subscriber, broker, settings, monkeypatch, stored
):
    """A load that cannot be planned stays available (its reason shows in Home Assistant), so
    a reason naming the moment of the publication was a change HA recorded every minute."""
    anchor = homes.hour_start()
    # Slots H-1..H+3 (or none): four hours cannot end by H+6 from H+20 min.
    site = homes.utc_home(settings.INFLUXDB_DATABASE, anchor, count=stored)
    dishwasher = homes.load(site, anchor, hours=4)
    topic = f"{topics.root}/site_{site.pk}/load_{dishwasher.pk}_start/attributes"
    moment = anchor + 20 * MINUTE + timedelta(seconds=3, microseconds=250)
    first = dict(publication(broker, topics, subscriber, moment, monkeypatch))[topic]
    second = dict(publication(broker, topics, subscriber, moment + MINUTE, monkeypatch))[topic]
    assert second == first  # byte for byte
    reason = json.loads(first)["reason"]
    before = (anchor + 6 * timedelta(hours=1)).isoformat()
    assert f"between now and {before}" in reason
    assert moment.isoformat(timespec="seconds") not in reason


def test_a_load_cut_inside_a_slot_names_the_moment_for_the_api_only(
    topics, subscriber, broker, settings, monkeypatch
):
    """2.5 h over hourly slots is planned from parts of slots (`windows._cut_best`): its reason
    says "now" without the time in Home Assistant, and with it in /api/plan/loads (the status
    page's)."""
    anchor = homes.hour_start()
    # Slots H-1..H+1: from H+20 min only H+1 lies ahead, and running now lacks prices.
    site = homes.utc_home(settings.INFLUXDB_DATABASE, anchor, count=3)
    pump = homes.load(site, anchor, hours=2.5)
    topic = f"{topics.root}/site_{site.pk}/load_{pump.pk}_start/attributes"
    moment = anchor + 20 * MINUTE + timedelta(seconds=3, microseconds=250)
    sent = dict(publication(broker, topics, subscriber, moment, monkeypatch))
    reason = json.loads(sent[topic])["reason"]
    before = (anchor + 6 * timedelta(hours=1)).isoformat()
    between = f"between now and {before}"
    assert reason.startswith(f"only 1 h of price slots lie entirely {between}, 2.5 h are needed")
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("planner"))
    [shown] = client.get("/api/plan/loads", {"site": site.pk}).json()["loads"]
    named = f"between now ({moment.isoformat()}) and {before}"
    assert shown["message"] == reason.replace(between, named)
