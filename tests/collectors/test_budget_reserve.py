"""An outage may not starve the scheduled fetches after it: retries (the HTTP door's and the
collect task's) spend a budget only down to the reserve the beat's first attempts need.

aWATTar answers 503 for 12 hourly collections (real PostgreSQL, Redis, InfluxDB, the collect
task run eagerly with its 2 retries, and the replay server), under its own budget of 100/day.
Before, each hour sent 4 attempts 3 times (12 calls): the budget was gone after 8 hours, and
the first hour after aWATTar recovered fetched nothing ("budget"), for up to 16 more hours.
"""

from collections import Counter
from datetime import UTC, datetime

import pytest

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from enrich.redis.budget import Budget
from enrich.redis.cache import ResponseCache
from tests.collectors.scenarios_pricing import AWATTAR_NOW
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PATH = "/v1/marketdata"
RESERVED = "budget reserved for scheduled fetches, not retried"
TASK_NOT_RETRIED = "the task's retry in 60 s: budget reserved for scheduled fetches, not retried"
OUTAGE_HOURS = 12


@pytest.fixture
def awattar(isolated, settings, replay_server) -> ProviderConfig:
    settings.HTTP_MAX_RETRIES = 3  # the default: 4 attempts a call
    settings.HTTP_BACKOFF_SECONDS = 0.0
    site = Site.objects.create(
        name="Berlin", latitude=52.52, longitude=13.40, timezone="Europe/Berlin",
        pricing_region="DE",
    )  # fmt: skip
    return ProviderConfig.objects.create(
        site=site,
        source="electricity_pricing",
        provider="awattar",
        interval_seconds=3600,
        options={"base_url": replay_server.url},
    )


def test_an_outage_leaves_the_scheduled_fetches_their_calls(awattar, replay_server):
    budget = Budget.from_spec("awattar", "100/day")  # the provider's own budget
    replay_server.add("GET", PATH, status=503, body="upstream down")
    for _ in range(OUTAGE_HOURS):  # beat's hourly dispatch; the task retries a failed run twice
        tasks.collect.apply(args=[awattar.pk, datetime.now(UTC).isoformat()])

    # Retries spend down to the reserve (a quarter, 25: the 24 hourly first attempts a day
    # need 24): 6 hours of 12 calls, then 3 (the 75th call is the last a retry may take),
    # then one first attempt an hour, never retried.
    assert len(replay_server.calls("GET", PATH)) == 6 * 12 + 3 + (OUTAGE_HOURS - 7)
    assert budget.remaining() == 100 - 80

    runs = list(CollectorRun.objects.order_by("id"))
    # The task's retries the reserve would refuse are not queued (before, each ran once more,
    # called nothing and was recorded as a "budget" run).
    assert Counter(r.status for r in runs) == {"failed": 6 * 3 + 6}
    # Once only the reserve is left, each run says why it stopped retrying, and that the
    # task does not run it again either.
    stopped = [r for r in runs if r.status == "failed" and RESERVED in r.error]
    assert len(stopped) == OUTAGE_HOURS - 6  # hour 7 after 3 attempts, then after 1
    assert "after 3 attempts (budget reserved for scheduled fetches" in stopped[0].error
    assert all(TASK_NOT_RETRIED in r.error for r in stopped)
    assert all(TASK_NOT_RETRIED not in r.error for r in runs[: 6 * 3])

    # aWATTar is back: the next scheduled first attempt goes out and writes the prices.
    replay_server.reset()
    replay_server.add("GET", PATH, json=load_fixture("awattar/marketdata_hourly.json"))
    outcome = pipeline.collect(awattar, now=AWATTAR_NOW)
    assert outcome.status == "ok" and outcome.points_written > 24
    assert len(replay_server.calls("GET", PATH)) == 1
    assert budget.remaining() == 100 - 81
    served = ResponseCache().last_good("electricity_pricing", "awattar", "DE")
    assert served.value["current_price"] == 0.08596  # 85.96 EUR/MWh, the 00:00 slot


def test_a_first_attempt_takes_the_reserve_but_a_retry_of_the_task_does_not(awattar, replay_server):
    """With only the reserve left (a budget of 8/day, 2 kept: 8 // 4 and 24 first attempts a
    day capped at 8 would keep all; a 6-hourly config needs 4), the scheduled run calls and the
    task's retry of it is not even queued."""
    awattar.interval_seconds = 6 * 3600
    awattar.options = {**awattar.options, "budget": "8/day"}
    awattar.save()
    budget = Budget.from_spec("awattar", "8/day")
    replay_server.add("GET", PATH, status=503, body="upstream down")
    assert budget.take(4) is not None  # 4 calls left: the reserve of 4 first attempts a day
    result = tasks.collect.apply(args=[awattar.pk, datetime.now(UTC).isoformat()])
    # The task's retry, which the reserve would refuse, is not queued: one run, which says so
    # (before, the retry ran a minute later, called nothing, and was a second run, "budget").
    assert result.get()["status"] == "failed"
    assert len(replay_server.calls("GET", PATH)) == 1  # the scheduled first attempt, only
    assert budget.remaining() == 3
    [first] = CollectorRun.objects.order_by("id")
    assert first.status == "failed" and "after 1 attempt" in first.error
    assert RESERVED in first.error
    assert first.error.endswith(f"{TASK_NOT_RETRIED} (4 of its API budget 8/86400s kept)")
    # What the status page shows: the same, its error class left out.
    kind, _, said = first.error.partition(": ")
    assert (kind, first.message) == ("TransientError", said)


def test_an_outage_in_one_country_leaves_the_other_its_scheduled_fetches(awattar, replay_server):
    """aWATTar's one budget (100/day per client) serves DE and AT: their hourly fetches need
    48 calls a day. DE answers 503 all day while AT answers. Before, the reserve counted only
    the failing target's 24 (a quarter, 25): DE's retries spent down to 25 calls, and AT's
    hourly fetch found the budget used up from the 15th hour on (a day of AT prices missed)."""
    vienna = Site.objects.create(name="Vienna", latitude=48.21, longitude=16.37,
                                 timezone="Europe/Vienna", pricing_region="AT")  # fmt: skip
    awattar.options = {"base_url": f"{replay_server.url}/de"}
    awattar.save()
    austria = ProviderConfig.objects.create(
        site=vienna, source="electricity_pricing", provider="awattar", interval_seconds=3600,
        options={"base_url": f"{replay_server.url}/at"},
    )  # fmt: skip
    replay_server.add("GET", f"/de{PATH}", status=503, body="upstream down")
    replay_server.add("GET", f"/at{PATH}", json=load_fixture("awattar/marketdata_hourly.json"))
    budget = Budget.from_spec("awattar", "100/day")
    chosen = {
        c.site.pricing_region: c for c in tasks.configs_by_target("electricity_pricing").values()
    }
    assert {key: c.pk for key, c in chosen.items()} == {"DE": awattar.pk, "AT": austria.pk}

    for _ in range(24):  # beat's hourly dispatch of both targets; each task retries twice
        for config in (awattar, austria):
            tasks.collect.apply(args=[config.pk, datetime.now(UTC).isoformat()])

    austrian = CollectorRun.objects.filter(target="AT").order_by("id")
    # Every hour's AT fetch went out and wrote its prices ("partial": the replayed day is past,
    # no slot covers the real now, so nothing is cached and each hour fetches again).
    assert [run.status for run in austrian] == ["partial"] * 24
    assert all(run.points_written == 24 for run in austrian)
    assert len(replay_server.calls("GET", f"/at{PATH}")) == 24
    german = replay_server.calls("GET", f"/de{PATH}")
    # DE's retries spent only above the 48 calls the two targets' first attempts of a day
    # need: 4 hours of 12 DE calls and 1 AT call (52), then one first attempt an hour each.
    assert len(german) == 4 * 12 + 20
    assert budget.remaining() == 100 - 4 * 13 - 20 * 2
    assert CollectorRun.objects.filter(target="DE", status="budget").count() == 0
