"""AirNow's budget keeps from retries the calls beat's runs can make: two an hour a location.

Beat runs the air quality dispatch at :35 and :55, and a location whose :35 answer is behind
(an hour, or a pollutant AirNow published late) is called at both. The reserve counted one
fetch an hour a location (its `interval_seconds`, 3600): retries of a failed fetch could spend
the calls the :55 runs need. Real PostgreSQL, Redis, the collect task run eagerly, and the
replay server answering 503.
"""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import tasks
from collectors.models import CollectorRun
from enrich.models import DEFAULT_INTERVAL_SECONDS, Site
from enrich.redis.budget import Budget
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, beat_runs
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

RESERVED = "budget reserved for scheduled fetches, not retried"
TASK_NOT_RETRIED = "the task's retry in 60 s: budget reserved for scheduled fetches, not retried"
LOCATIONS = 4  # a site each, far enough apart to be one target each
SPEC = "16/hour"  # a quarter: 4, one fetch an hour a location: 4 too


def test_retries_leave_the_calls_of_beats_35_and_55_runs(isolated, settings, replay_server):
    settings.HTTP_MAX_RETRIES = 3  # the default: 4 attempts a call
    sites = [
        Site.objects.create(name=f"Site {n}", latitude=40.0 + n, longitude=-100.0,
                            timezone="America/Chicago")
        for n in range(LOCATIONS)
    ]  # fmt: skip
    window = DEFAULT_INTERVAL_SECONDS["air_quality"]  # 3600, as the setup page makes them
    first, *_ = [
        configs.airnow(site, replay_server.url, options={"budget": SPEC}, interval_seconds=window)
        for site in sites
    ]
    assert len(tasks.configs_by_target("air_quality")) == LOCATIONS
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    runs_an_hour = len(beat_runs(hour, hour + timedelta(hours=1)))
    kept = LOCATIONS * runs_an_hour
    assert kept == 8  # :35 and :55

    budget = Budget.from_spec("airnow", SPEC)
    assert budget.take(16 - kept) is not None  # only the reserve left
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=503, body="upstream down")
    result = tasks.collect.apply(args=[first.pk, datetime.now(UTC).isoformat()])

    # the scheduled first attempt goes out; neither the HTTP door's retry nor the task's takes
    # the reserve (before, 4 kept: 3 retries more, the reserve of the :55 runs spent)
    assert result.get()["status"] == "failed"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1
    assert budget.remaining() == kept - 1
    [run] = CollectorRun.objects.all()
    assert RESERVED in run.error and "after 1 attempt" in run.error
    assert run.error.endswith(f"{TASK_NOT_RETRIED} ({kept} of its API budget 16/3600s kept)")
