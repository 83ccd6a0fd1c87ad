"""A meter account collected at a lowered cadence (collectors.cadence: six Emporia Vues would
pass Emporia's 2,000 requests a day every 5 minutes, so every second 5-minute run skips the
call, status "budget") serves its whole-home power fresh between two fetches: the run that
skipped the call was the cadence's own, and the run due is the one after it. It was marked
`stale` from that skipped run until the next fetch, five minutes of every ten, in
GET /api/enrichment/current and on Home Assistant's home-power entity (which an automation
ignoring stale values then ignored half the time), with Emporia answering every call."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import pipeline, registry
from collectors.ha_mqtt.entities import home_power, source_entry
from collectors.models import CollectorRun
from enrich.models import Site
from enrich.redis.cache import ResponseCache
from tests.collectors import scenarios_smart_meter as scenarios

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture
def farm(own_storage, replay_server):
    """A site whose Emporia account has six Vues, within Emporia's 2,000 requests a day."""
    yield scenarios.six_vues(replay_server, "2000/day")
    registry.adapter_for.cache_clear()


def meter(site: Site) -> dict:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    body = client.get(f"/api/enrichment/current?site={site.pk}").json()
    [entry] = body["sources"]["smart_meter"]["providers"]
    return entry


def test_a_run_the_lowered_cadence_skipped_leaves_the_answer_fresh_until_the_next_fetch(
    farm, replay_server
):
    # Fetched 6 minutes ago; the beat's next run, 5 minutes after it, skipped the call.
    fetched = datetime.now(UTC) - timedelta(minutes=6)
    assert pipeline.collect(farm, now=fetched).status == "ok"
    assert pipeline.collect(farm, now=fetched + FIVE_MINUTES).status == "budget"
    skipped = CollectorRun.objects.get(status="budget")
    assert skipped.served.startswith("cadence lowered to every 6 min for this account")

    entry = meter(farm.site)  # the next fetch is due 10 minutes after this one: in 4 minutes
    assert entry["fetched_at"] == fetched.isoformat()
    assert entry["stale"] is False
    assert entry["value"]["total_power_w"] == pytest.approx(mains_w(replay_server))
    power = home_power(source_entry([farm], ResponseCache()))  # Home Assistant's entity
    assert power.attributes["stale"] is False
    assert float(power.state) == pytest.approx(mains_w(replay_server))


def mains_w(server) -> float:
    """The six Vues' mains of the minute answer, kWh x 60,000 (W), summed."""
    answer = server.load_fixture("emporia/usage_1min_six_vues.json")["deviceListUsages"]
    return sum(
        channel["usage"] * 60_000
        for device in answer["devices"]
        for channel in device["channelUsages"]
        if channel["channelNum"] == "1,2,3"
    )


def test_the_answer_is_stale_once_the_fetch_after_the_skipped_run_failed(
    farm, replay_server, settings
):
    fetched = datetime.now(UTC) - timedelta(minutes=11)
    assert pipeline.collect(farm, now=fetched).status == "ok"
    assert pipeline.collect(farm, now=fetched + FIVE_MINUTES).status == "budget"
    assert meter(farm.site)["stale"] is False  # the fetch due, 10 min on, is still running
    settings.HTTP_MAX_RETRIES = 0
    replay_server.reset()
    replay_server.add("GET", "/AppAPI", status=503, body="down")
    replay_server.add("GET", "/customers/devices", status=503, body="down")
    assert pipeline.collect(farm, now=fetched + 2 * FIVE_MINUTES).status == "failed"
    assert meter(farm.site)["stale"] is True


def test_with_no_run_after_the_skipped_one_it_is_stale_once_a_fetch_would_have_ended(farm):
    """Beat or the worker stopped after the skipped run: stale the collect task's time limit
    (150 s) after the fetch that was due, as for any answer whose run never came."""
    fetched = datetime.now(UTC) - timedelta(minutes=10, seconds=151)
    assert pipeline.collect(farm, now=fetched).status == "ok"
    assert pipeline.collect(farm, now=fetched + FIVE_MINUTES).status == "budget"
    assert meter(farm.site)["stale"] is True
