"""A run that made no call (status `budget`) as the admin's runs list and /api/enrichment/current
name it: one that waited out a provider's 429 is not said to have used up its budget. Real
PostgreSQL, Redis, InfluxDB and a replayed API; AirNow stands in for any provider."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
LABEL = "no call: budget or rate limit"


def test_a_run_waiting_out_a_429_is_shown_as_no_call_not_budget_used_up(
    isolated, replay_server, admin_client
):
    # Its list row and the API's status_label read "budget used up", with its budget untouched
    # (10 of 500 calls an hour) and its `served` saying it waits for AirNow's Retry-After.
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    answer = replay_server.load_fixture("airnow/observation_current.json")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer, times=1)
    assert pipeline.collect(config, now=datetime.now(UTC) - timedelta(hours=2)).status == "ok"
    replay_server.add(
        "GET", AIRNOW_CURRENT_PATH, status=429, headers={"Retry-After": "600"}, body=""
    )
    assert pipeline.collect(config).status == "failed"

    waited = pipeline.collect(config, now=datetime.now(UTC) + timedelta(minutes=1))

    assert waited.status == "budget" and "Retry-After" in waited.served
    run = CollectorRun.objects.first()
    assert run.get_status_display() == LABEL
    page = admin_client.get(reverse("admin:collectors_collectorrun_changelist")).content.decode()
    assert f'<td class="field-status">{LABEL}</td>' in page
    assert "budget used up" not in page
    shown = admin_client.get("/api/enrichment/current", {"site": site.pk}).json()
    [airnow] = shown["sources"]["air_quality"]["providers"]
    assert (airnow["last_run"]["status"], airnow["last_run"]["status_label"]) == ("budget", LABEL)
