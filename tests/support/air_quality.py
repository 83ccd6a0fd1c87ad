"""What the air quality served at a moment is: GET /api/enrichment/current's entry and Home
Assistant's aqi entity."""

from datetime import datetime

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock
from collectors.ha_mqtt.entities import air_quality_states, source_entry
from enrich.redis.cache import ResponseCache


def served(config, monkeypatch, moment: datetime) -> tuple[dict, dict]:
    """What GET /api/enrichment/current and Home Assistant's aqi entity say at `moment`."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    [entry] = client.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    states = {s.spec.key: s for s in air_quality_states(source_entry([config], ResponseCache()))}
    return entry, states["aqi"]
