"""A provider's 429 with Retry-After holds for every later run, on every worker, until the wait
it asked for ends; two runs of one target at once make one call. Real PostgreSQL, Redis,
InfluxDB and a replayed API.

AirNow stands in for any provider: the pipeline only sees the adapter contract.
"""

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from enrich.redis.budget import Budget
from enrich.redis.cache import ResponseCache
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, inside_an_hour, observed_in
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
WAIT = 600  # seconds the provider asks for: longer than a fetch sits out inline (60 s)


@pytest.fixture
def config(replay_server):
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    return configs.airnow(site, replay_server.url, api_key="AIRNOW-KEY-123", interval_seconds=3600)


def observations(server):
    return server.load_fixture("airnow/observation_current.json")


def test_no_call_before_the_retry_after_of_a_429_ends(isolated, settings, config, replay_server):
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observations(replay_server), times=1)
    earlier = datetime.now(UTC) - timedelta(hours=2)  # older than the 1 h TTL
    assert pipeline.collect(config, now=earlier).status == "ok"
    replay_server.add(
        "GET", AIRNOW_CURRENT_PATH, status=429, headers={"Retry-After": str(WAIT)}, body=""
    )

    limited = pipeline.collect(config)
    assert limited.status == "failed" and "HTTP 429" in limited.error
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2

    # The task's retry a minute later, the next beat, another worker: none may call before
    # the wait ends. Each serves the last good answer, stale, and writes nothing.
    for minutes in (1, 3, 9):
        later = pipeline.collect(config, now=datetime.now(UTC) + timedelta(minutes=minutes))
        assert later.status == "budget" and later.points_written == 0
        assert "HTTP 429" in later.served and "Retry-After" in later.served
        assert "last good answer from" in later.served and "stale" in later.served
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2
    assert CollectorRun.objects.filter(status="budget").count() == 3
    last_good = ResponseCache().last_good("air_quality", "airnow", "47.60,-122.33")
    assert last_good.stale and last_good.fetched_at == earlier

    # Remembered in Redis (shared by every worker) for exactly the wait asked for.
    [key] = get_redis().keys(f"{settings.REDIS_KEY_PREFIX}:rate-limited:*")
    assert WAIT - 5 < get_redis().pttl(key) / 1000 <= WAIT

    # Once the wait is over, the next run asks again.
    get_redis().delete(key)
    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observations(replay_server))
    assert pipeline.collect(config).status == "ok"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_target_make_one_call(isolated, config, replay_server):
    """Two collects of one target at once (a backlog of dispatches, a task retry meeting the
    next beat): one calls the provider and takes from its budget, the other makes no call."""
    config.options = {**config.options, "budget": "10/hour"}
    config.save()
    # AirNow answers only once the other run has ended: both runs are inside the fetch at once.
    held = threading.Event()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observations(replay_server), held=held)
    start = threading.Barrier(2)

    def worker() -> pipeline.Outcome:
        mine = ProviderConfig.objects.select_related("site").get(pk=config.pk)
        try:
            start.wait()
            return pipeline.collect(mine)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(worker), pool.submit(worker)]
        wait(runs, timeout=30, return_when=FIRST_COMPLETED)
        held.set()
        outcomes = [f.result() for f in runs]

    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1
    assert sorted(o.status for o in outcomes) == ["cached", "ok"]
    [skipped] = [o for o in outcomes if o.status == "cached"]
    assert skipped.points_written == 0 and "fetching" in skipped.served
    assert Budget.from_spec("airnow", "10/hour").remaining() == 9
    assert sorted(CollectorRun.objects.values_list("status", flat=True)) == ["cached", "ok"]


def fresh_seconds(settings) -> float:
    [key] = get_redis().keys(f"{settings.REDIS_KEY_PREFIX}:cache:*")
    return get_redis().pttl(key) / 1000


def test_an_answer_fetched_late_is_fresh_only_until_its_cycle_ends(
    isolated, settings, config, replay_server
):
    """The task's retry a minute after the beat (or a run a backlog delayed) fetched: its answer
    must not still be fresh when the next beat comes, or that beat's run makes no call and the
    cycle is lost (AirNow keeps no history: the hour is never stored)."""
    moment = inside_an_hour()  # the observation is of its hour
    hour = moment.replace(minute=0, second=0, microsecond=0)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observed_in(replay_server, hour))
    dispatched = datetime.now(UTC) - timedelta(seconds=61)  # the beat's dispatch, 61 s ago
    assert pipeline.collect(config, dispatched=dispatched).status == "ok"
    assert 3600 - 61 - 5 < fresh_seconds(settings) <= 3600 - 61

    # A run 59 min 40 s late: the next beat is due in 20 s, and its run must fetch.
    get_redis().delete(*get_redis().keys(f"{settings.REDIS_KEY_PREFIX}:cache:*"))
    dispatched = datetime.now(UTC) - timedelta(seconds=3600 - 20)
    assert pipeline.collect(config, dispatched=dispatched).status == "ok"
    assert pipeline.collect(config).status == "ok"  # the next beat's run
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 3

    # An answer fetched on time (or with no dispatch known) is fresh for the whole TTL.
    get_redis().delete(*get_redis().keys(f"{settings.REDIS_KEY_PREFIX}:cache:*"))
    assert pipeline.collect(config, dispatched=datetime.now(UTC)).status == "ok"
    assert fresh_seconds(settings) > 3600 - 5
    assert pipeline.collect(config, now=moment).status == "cached"


def test_the_collect_task_hands_its_dispatch_time_to_the_pipeline(
    isolated, settings, config, replay_server
):
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observations(replay_server))
    dispatched = datetime.now(UTC) - timedelta(seconds=600)
    result = tasks.collect.apply(args=[config.pk, dispatched.isoformat()])
    assert result.get()["status"] == "ok"
    assert 3000 - 5 < fresh_seconds(settings) <= 3000


@pytest.mark.parametrize(
    ("provider", "source", "places", "path"),
    [
        # NESO answers every region and postcode from one API.
        ("uk_carbon_intensity", "carbon_intensity", ({"grid_region": "GB"},
         {"grid_region": "RG10 9XX"}), "/intensity"),
        # Octopus answers every region's tariff from one API (the product list first).
        ("octopus", "electricity_pricing", ({"pricing_region": "C"},
         {"pricing_region": "A"}), "/v1/products/"),
    ],
)  # fmt: skip
def test_a_429_for_one_region_holds_off_every_region_of_one_api(
    isolated, replay_server, provider, source, places, path
):
    """UK Carbon Intensity and Octopus publish no limit: a 429 of theirs throttles this client,
    whichever region it asked for. The wait was remembered for the region whose call got the
    429 only, so the next region's run (the same dispatch, a second later) called at once and
    met the 429 again, every region of every cycle until the wait ended."""
    runs = []
    for place in places:
        site = Site.objects.create(name=str(place), latitude=51.45, longitude=-0.97, **place)
        runs.append(ProviderConfig.objects.create(
            site=site, source=source, provider=provider, options={"base_url": replay_server.url}
        ))  # fmt: skip
    replay_server.add("GET", path, status=429, headers={"Retry-After": str(WAIT)}, body="")

    first = pipeline.collect(runs[0])
    assert first.status == "failed" and "HTTP 429" in first.error
    sent = len(replay_server.requests)
    second = pipeline.collect(runs[1])
    assert second.status == "budget" and "Retry-After" in second.served
    assert len(replay_server.requests) == sent  # no call before the wait ends


def test_a_run_sits_out_only_the_429_waits_that_end_within_its_time(
    isolated, settings, config, replay_server, monkeypatch
):
    """A provider answering 429 with `Retry-After: 60` (the most a fetch sits out inline) again
    and again: the fetch sat out 60 s before each of its 3 retries, 180 s, where the collect
    task's soft time limit stops a run at 120 s, mid-wait. That run was recorded as "time limit
    ran out", not as the 429, the wait asked for was forgotten, and the next beat called at
    once. Here scaled down (2 s waits, 3 s for them)."""
    monkeypatch.setattr(pipeline, "FETCH_WAITS_END_SECONDS", 3)
    settings.HTTP_MAX_RETRIES = 3  # the default policy: 3 retries
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=429, headers={"Retry-After": "2"}, body="")

    outcome = pipeline.collect(config)
    assert outcome.status == "failed" and "HTTP 429" in outcome.error
    assert "it asked to wait 2 s" in outcome.error and "would outlast" in outcome.error
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2
    # Remembered as a longer wait is: the next run makes no call before it ends.
    later = pipeline.collect(config)
    assert later.status == "budget" and "Retry-After" in later.served
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2
