"""GET /api/enrichment/current: values with provider and time, stale/age from cache, and
sources that are not configured say so."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def api(own_storage):
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("viewer"))
    return client


@pytest.fixture
def seattle(replay_server):
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    config = configs.airnow(site, replay_server.url)
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        json=replay_server.load_fixture("airnow/observation_current.json"),
    )
    return site, config


OBSERVED = datetime(2026, 10, 8, 10, 0, tzinfo=UTC)  # the fixture's 03:00 PDT


def test_fresh_value_with_provider_time_and_age(api, seattle, monkeypatch):
    site, config = seattle
    monkeypatch.setattr(clock, "utc_now", lambda: OBSERVED + timedelta(minutes=40))
    pipeline.collect(config, now=datetime.now(UTC))
    body = api.get("/api/enrichment/current").json()
    assert body["site"] == {"id": site.pk, "name": "Seattle"}
    [entry] = body["sources"]["air_quality"]["providers"]
    assert entry["provider"] == "airnow" and entry["target"] == "47.60,-122.33"
    assert entry["value"]["aqi"] == 62.0 and entry["value"]["category"] == "Moderate"
    assert entry["time"] == "2026-10-08T10:00:00+00:00"
    assert entry["stale"] is False and 0 <= entry["age_seconds"] < 60
    assert entry["last_run"]["status"] == "ok"
    assert entry["last_run"]["status_label"] == "fetched and written"  # as the admin says it


def test_last_good_is_served_marked_stale_with_its_age(api, seattle):
    site, config = seattle
    pipeline.collect(config, now=datetime.now(UTC) - timedelta(hours=3))
    [entry] = api.get(f"/api/enrichment/current?site={site.pk}").json()["sources"]["air_quality"][
        "providers"
    ]
    assert entry["stale"] is True
    assert 3 * 3600 - 5 <= entry["age_seconds"] <= 3 * 3600 + 60


def air_quality(api) -> dict:
    [entry] = api.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    return entry


def test_an_answer_is_stale_once_the_run_due_after_it_failed_not_while_it_fetches(
    api, seattle, settings, replay_server, monkeypatch
):
    """An answer's cache time runs out as the next cycle's run starts (beat fires it then, and
    the minute's publication to Home Assistant, and a status page asking, in that same
    second). Until that run has ended the answer is not stale: it was marked stale at every
    cycle's first second and unmarked a moment later, a change Home Assistant records and an
    automation ignoring stale values stumbles on, every hour here (every 15 minutes for carbon).
    It is stale as soon as that run fails."""
    site, config = seattle
    # the observation is of the hour before (not stale by its own age: AirNow's rule)
    monkeypatch.setattr(clock, "utc_now", lambda: OBSERVED + timedelta(minutes=40))
    hour = settings.CACHE_TTL_SECONDS["air_quality"]
    fetched = datetime.now(UTC) - timedelta(seconds=hour + 20)  # its cache time ran out 20 s ago
    assert pipeline.collect(config, now=fetched).status == "ok"

    entry = air_quality(api)  # the run of the new cycle is under way
    assert entry["stale"] is False
    assert entry["fetched_at"] == fetched.isoformat()
    assert hour + 20 <= entry["age_seconds"] <= hour + 80  # its real age all the same

    settings.HTTP_MAX_RETRIES = 0
    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=503, body="upstream down")
    assert pipeline.collect(config).status == "failed"
    entry = air_quality(api)
    assert entry["stale"] is True and entry["value"]["aqi"] == 62.0  # still served, marked
    assert entry["fetched_at"] == fetched.isoformat()


def test_an_answer_whose_next_run_never_came_is_stale_after_the_collect_time_limit(
    api, seattle, settings, monkeypatch
):
    """No worker runs the cycle's collect (stopped, or beat is): stale once a run would have
    ended (the collect task's time limit, 150 s), without any run recorded."""
    site, config = seattle
    # the observation is of the hour before (not stale by its own age: AirNow's rule)
    monkeypatch.setattr(clock, "utc_now", lambda: OBSERVED + timedelta(minutes=40))
    hour = settings.CACHE_TTL_SECONDS["air_quality"]
    fetched = datetime.now(UTC) - timedelta(seconds=hour + 151)
    assert pipeline.collect(config, now=fetched).status == "ok"
    entry = air_quality(api)
    assert entry["stale"] is True and entry["last_run"]["status"] == "ok"


@pytest.mark.parametrize("skipped", [None, 20, 68], ids=["no run", "a run", "an older run"])
def test_an_answer_fetched_between_two_cycles_is_stale_once_the_next_cycle_brought_nothing(
    api, seattle, settings, monkeypatch, skipped
):
    """Fetched off the schedule (the setup page's collect now, a collection started by hand),
    its cache time runs out where no run is due: the cycle's run before that found it fresh and
    left the call to the next cycle. It was marked stale from 150 s after the cache time until
    that next run (carbon fetched at 10:50: stale from 11:08 to 11:15, with the API fine)."""
    site, config = seattle
    monkeypatch.setattr(clock, "utc_now", lambda: OBSERVED + timedelta(minutes=40))
    hour = settings.CACHE_TTL_SECONDS["air_quality"]
    fetched = datetime.now(UTC) - timedelta(seconds=hour + 600)  # ran out 10 min ago
    assert pipeline.collect(config, now=fetched).status == "ok"
    if skipped is not None:  # that cycle's run, `skipped` minutes ago: fresh, no call
        CollectorRun.objects.create(
            source=config.source, provider=config.provider, target=air_quality(api)["target"],
            started=datetime.now(UTC) - timedelta(minutes=skipped),
            status=CollectorRun.Status.CACHED, served="fresh cached answer",
        )  # fmt: skip
    # The next cycle comes one cache time after that run: 40 min from now, or it came 8 min
    # ago and brought nothing. With no run at all, no worker ran the cycle.
    assert air_quality(api)["stale"] is (skipped != 20)


@pytest.mark.parametrize("hours", [2.5, 3.5, 26])
def test_an_old_observation_fetched_just_now_is_stale_by_its_own_age(
    api, seattle, monkeypatch, hours
):
    # AirNow answers with a monitor's last observation after it stopped reporting: the fetch
    # succeeded a minute ago, but the value is of the 10:00 hour, `hours` later.
    site, config = seattle
    site.timezone = "America/Los_Angeles"  # the message says the hour on the home's clock
    site.save()
    monkeypatch.setattr(clock, "utc_now", lambda: OBSERVED + timedelta(hours=hours))
    pipeline.collect(config, now=datetime.now(UTC))

    [entry] = api.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]

    assert entry["value"]["aqi"] == 62.0 and entry["time"] == OBSERVED.isoformat()
    assert 0 <= entry["age_seconds"] < 60  # the fetch is fresh
    assert entry["stale"] is (hours > 3)
    if hours > 3:
        assert entry["message"] == (
            "the latest AirNow observation is of the hour starting 2026-10-08T03:00:00-07:00, "
            f"{hours:.1f} h ago (a current one is at most 3 h old): AirNow has published none "
            "since for this location"
        )
    else:
        assert "message" not in entry


def test_unconfigured_sources_say_so(api, seattle):
    sources = api.get("/api/enrichment/current").json()["sources"]
    assert sources["carbon_intensity"] == {
        "configured": False,
        "message": "No carbon intensity provider is enabled for this site; add one in the admin (Provider configs).",
    }
    assert set(sources) == {
        "carbon_intensity",
        "electricity_pricing",
        "air_quality",
        "occupancy",
        "smart_meter",
    }


def test_no_answer_yet_is_explicit(api, seattle):
    [entry] = api.get("/api/enrichment/current").json()["sources"]["air_quality"]["providers"]
    assert entry["value"] is None and entry["message"] == "no answer yet (see its last run)"
    assert entry["last_run"] is None
    # Every field a valued entry has, as a price provider with no answer yet has them.
    assert entry["stale"] is True
    assert (entry["time"], entry["fetched_at"], entry["age_seconds"]) == (None, None, None)


def test_a_failed_run_says_what_it_served_instead_nothing_before_a_first_answer(
    api, seattle, settings, replay_server
):
    """A failed run's status said "failed, last good served", also for a first run, which
    had no answer to serve: the status is "failed", and `served` says what was served."""
    site, config = seattle
    settings.HTTP_MAX_RETRIES = 0
    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=503, body="upstream down")
    assert pipeline.collect(config).status == "failed"
    run = air_quality(api)["last_run"]
    assert (run["status"], run["status_label"]) == ("failed", "failed")
    assert run["served"] == "nothing (no earlier answer)"
    replay_server.reset()
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        json=replay_server.load_fixture("airnow/observation_current.json"),
    )
    fetched = datetime.now(UTC) - timedelta(hours=3)
    assert pipeline.collect(config, now=fetched).status == "ok"
    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=503, body="upstream down")
    assert pipeline.collect(config).status == "failed"
    run = air_quality(api)["last_run"]
    assert run["status_label"] == "failed" and "HTTP 503" in run["error"], run
    assert run["served"].startswith(f"last good answer from {fetched.isoformat()} ("), run


def test_a_config_that_cannot_be_collected_shows_the_failed_runs_its_dispatch_recorded(api):
    """A config with no target (here AirNow at 0, 0) had no `last_run` at all, so the status
    page said its last run was "never" while every dispatch recorded a failed run of it."""
    site = Site.objects.create(name="Null Island", latitude=0, longitude=0)
    configs.airnow(site, "http://127.0.0.1:9")
    entry = air_quality(api)
    why = (
        "AirNow: site 'Null Island' has no usable coordinates (0.0, 0.0); set its latitude and "
        "longitude, or a zip_code in the AirNow provider options."
    )
    assert (entry["value"], entry["message"]) == (None, f"cannot be collected: {why}")
    assert entry["last_run"] is None and entry["runs_today"]["total"] == 0  # none dispatched yet
    for _ in range(2):
        assert tasks.dispatch("air_quality") == 0  # nothing sent: it is recorded failed
    entry = air_quality(api)
    run = entry["last_run"]
    assert (run["status_label"], run["served"]) == ("failed", "nothing (configuration error)")
    assert run["error"] == why
    assert run["message"] == why  # what the status page's last-run cell says: it said no reason
    assert entry["runs_today"]["total"] == 2 and entry["runs_today"]["by_status"] == {"failed": 2}
    assert entry["message"] == f"cannot be collected: {why}" and "target" not in entry


@pytest.mark.parametrize(
    "query, message",
    [
        ("site=abc", "'abc' is not valid: expected a whole number."),
        ("site=0", "'0' is not valid: expected a number of 1 or more."),
    ],
)
def test_a_site_that_is_no_id_is_a_400(api, seattle, query, message):
    response = api.get(f"/api/enrichment/current?{query}")
    assert response.status_code == 400
    assert response.json() == {"site": message}


def test_an_unknown_site_is_a_404_as_on_the_other_endpoints(api, seattle):
    # Was a 400, where /api/carbon/series, /api/pricing/* and /api/plan/loads answer 404.
    for url in ("/api/enrichment/current", "/api/carbon/series", "/api/plan/loads"):
        response = api.get(f"{url}?site=999999")
        assert response.status_code == 404, url
        assert response.json() == {
            "site": "There is no site with id 999999; GET /api/sites/ lists them."
        }


def test_site_is_required_with_several_sites(api, seattle):
    Site.objects.create(name="Other", latitude=1, longitude=1)
    response = api.get("/api/enrichment/current")
    assert response.status_code == 400
    assert response.json() == {
        "site": "Required because there are several sites: give ?site=<id> "
        "(GET /api/sites/ lists them)."
    }


def test_needs_authentication(seattle):
    assert APIClient().get("/api/enrichment/current").status_code == 401
