"""What a worker's log says while collectors.collect cannot reach the Redis of its caches and
locks (a redis-server of the test's own stopped under the worker, tests.support.redis_outage;
its Celery broker and results are the tests' Redis): per target, one ERROR line when a run of it
first meets the outage, naming REDIS_URL, one WARNING line per later run, no traceback, and one
line when a run of it gets through Redis again; each run is still recorded as failed with the
error. Each run of each target logged the same ERROR (about 3 a target per cycle, its retries
included)."""

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from collectors.models import CollectorRun
from config.celery import app
from enrich.models import Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, observed_in
from tests.support import configs
from tests.support.isolation import own_storage
from tests.support.redis_outage import over_an_outage, said_in_one_line_a_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]
PLACES = {"47.60,-122.33": (47.6021, -122.3290), "45.52,-122.68": (45.5152, -122.6784)}
FAILS = "this run fails and serves nothing (Redis unavailable)"


def hour_with_time_left() -> datetime:
    """The hour running now once 2 minutes of it are left at least (else the next, waited
    for): the worker's runs, at the wall clock's time, are then served its observation from
    the cache, not in the hour's last 30 s, when they fetch (collectors.freshness)."""
    now = datetime.now(UTC)
    if now.minute >= 58:
        time.sleep(3600 - now.minute * 60 - now.second + 1)
        now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


def test_a_redis_outage_is_one_line_a_run_of_each_target(replay_server, settings):
    answer = observed_in(replay_server, hour_with_time_left())
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    ids = [configs.airnow(Site.objects.create(name=key, latitude=lat, longitude=lon),
                          replay_server.url).pk for key, (lat, lon) in PLACES.items()]  # fmt: skip

    def runs(times: int) -> list[list[str]]:
        """collect sent `times` times for each target, as its last retry (a transient failure
        is not sent again 60 s later): the statuses of each time's runs."""
        sent = [[app.send_task("collectors.collect", args=[pk], retries=2) for pk in ids]
                for _ in range(times)]  # fmt: skip
        return [[result.get(timeout=60)["status"] for result in each] for each in sent]

    with own_storage(settings, "collect-redis") as _:
        env = {"INFLUXDB_DATABASE": settings.INFLUXDB_DATABASE,
               "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}  # fmt: skip
        outage = over_an_outage(runs, "collect-redis-down", env)
    log = outage.log
    assert outage.up == [["ok", "ok"]], log
    assert outage.down == [["failed", "failed"]] * 3, log
    assert outage.back == [["ok", "ok"], ["cached", "cached"]], log
    failed = CollectorRun.objects.filter(status="failed")
    assert failed.count() == 6, log
    assert all(run.error.startswith("CacheUnavailable: ") and outage.url in run.error
               and run.served == "nothing (Redis unavailable)" for run in failed)  # fmt: skip
    for key in PLACES:  # each target's own lines, as the minute tasks say theirs
        own = "\n".join(line for line in log.splitlines() if key in line)
        said_in_one_line_a_run(replace(outage, log=own), f"collect: air_quality/airnow {key}",
                               FAILS, later=2, what="The response cache")  # fmt: skip
