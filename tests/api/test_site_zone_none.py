"""GET /api/enrichment/current of a site whose time zone is none ('Mars/Base': a row written past
the site form, or a zone gone from the host's tz database): the values are served, and the
moments the messages give on the home's clock are on UTC's, as its runs of the day are counted
from UTC's midnight. It was a 500 (ZoneInfoNotFoundError) as soon as a message needed the
home's clock: no stored price slot covering now, an AirNow observation over 3 h old."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs
from tests.support.now_points import at
from tests.support.plan import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]


def providers(api, site: Site, source: str) -> list[dict]:
    answer = api.get("/api/enrichment/current", {"site": site.pk})
    assert answer.status_code == 200, answer.content
    return answer.json()["sources"][source]["providers"]


def test_a_price_no_slot_covers_is_said_on_utc_s_clock(collected, api, monkeypatch):
    Site.objects.filter(pk=collected.pk).update(timezone="Mars/Base")
    at(monkeypatch, NOW + timedelta(days=3))  # the prices stored end on the first day
    [octopus] = providers(api, collected, "electricity_pricing")
    assert octopus["message"].startswith(
        "no stored price slot covers now (2026-05-04T12:10:00+00:00); check that the price "
        "collector runs (see its last run)"
    ), octopus
    [carbon] = providers(api, collected, "carbon_intensity")
    assert carbon["value"]["carbon_intensity_gco2_kwh"] is not None  # what is known is served


def test_an_old_air_quality_observation_is_said_on_utc_s_clock(
    own_storage, replay_server, api, monkeypatch
):
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290,
                               timezone="America/Los_Angeles")  # fmt: skip
    config = configs.airnow(site, replay_server.url, interval_seconds=3600)
    answer = replay_server.load_fixture("airnow/observation_current.json")  # 03:00 PDT
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    assert pipeline.collect(config, now=datetime(2026, 10, 8, 10, 40, tzinfo=UTC)).status == "ok"
    Site.objects.filter(pk=site.pk).update(timezone="Mars/Base")
    at(monkeypatch, datetime(2026, 10, 8, 16, 10, tzinfo=UTC))
    [airnow] = providers(api, site, "air_quality")
    assert airnow["value"]["pm25"] is not None and airnow["stale"] is True, airnow
    assert airnow["message"] == (
        "the latest AirNow observation is of the hour starting 2026-10-08T10:00:00+00:00, 6.2 h "
        "ago (a current one is at most 3 h old): AirNow has published none since for this location"
    )
