"""/api/processes/ (the status page's *Processes*): a real beat and a real worker on the test
database and Redis, seen alive, then seen gone once killed; a worker stopped on purpose is not
missed; a periodic task the beat leaves out (its crontab's time zone cannot be loaded here) is
listed with the reason. Before, nothing anywhere showed that the beat or a worker had died, or
that a schedule was not running."""

import io
import json
import math
import signal
import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework.test import APIClient

from config.queues import QUEUES
from enrich import liveness
from tests.support import worker as worker_support
from tests.support.beat import beat_process, own_redis_prefix, store_zone
from tests.support.broker import empty_queues  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def prefix(settings) -> str:
    """An own Redis key prefix, for this process and the beat and workers it starts."""
    with own_redis_prefix(settings, "processes") as prefix:
        yield prefix


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("reader", password="read-only-pw"))
    return client


@pytest.mark.usefixtures("empty_queues")
def test_a_beat_and_a_worker_are_shown_alive_then_gone_once_killed(
    api, prefix, tmp_path, monkeypatch
):
    nothing = api.get("/api/processes/").json()
    assert nothing["ok"] is False
    assert nothing["beat"]["ok"] is False and nothing["beat"]["last_tick"] is None
    assert nothing["beat"]["detail"].startswith("No beat tick is recorded")
    assert nothing["workers"] == []
    assert [(q["name"], q["ok"], q["detail"]) for q in nothing["queues"]] == [
        (name, False, "No live worker consumes it: its tasks wait in Redis.") for name in QUEUES
    ]

    ticking = beat_process(tmp_path, prefix)
    try:
        with worker_support.celery_worker("processes", REDIS_KEY_PREFIX=prefix) as worker:

            def both_alive():
                answer = api.get("/api/processes/").json()
                return answer["ok"] and answer["workers"] and answer

            alive = worker_support.until(both_alive, worker)
            assert ticking.poll() is None
            assert alive["beat"]["ok"] and alive["beat"]["age_seconds"] <= 60
            (seen,) = alive["workers"]
            assert (seen["node"], seen["queues"], seen["ok"]) == (
                worker.node, sorted(QUEUES), True
            )  # fmt: skip
            assert [(q["name"], q["workers"]) for q in alive["queues"]] == [
                (name, [worker.node]) for name in QUEUES
            ]
            assert alive["skipped_schedules"] == []

            # Killed: no clean stop, so they are missed once silent longer than allowed.
            worker.kill()
            ticking.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            ticking.wait(timeout=30)
            monkeypatch.setattr(liveness, "BEAT_LATE_AFTER", 1)
            monkeypatch.setattr(liveness, "WORKER_LATE_AFTER", 1)
            gone = worker_support.until(
                lambda: (
                    (a := api.get("/api/processes/").json())["workers"][0]["ok"] is False
                    and a["beat"]["ok"] is False
                    and a
                )
            )
    finally:
        worker_support.stop(ticking)
        ticking.log.close()
    assert gone["ok"] is False
    beat = gone["beat"]
    assert beat["age_seconds"] < 120  # seconds, as the page writes them (Math.round: halves up)
    assert beat["detail"] == (
        f"No tick for {math.floor(beat['age_seconds'] + 0.5)} s (last at {beat['last_tick']}): "
        "the beat has stopped or hangs, so no schedule runs. It ticks at least every 5 s."
    )
    (missed,) = gone["workers"]
    assert missed["node"] == worker.node
    assert missed["age_seconds"] < 120
    assert missed["detail"] == (
        f"Not heard from for {math.floor(missed['age_seconds'] + 0.5)} s "
        f"(last at {missed['last_seen']}): it was killed or hangs."
    )
    assert all(q["ok"] is False and q["workers"] == [] for q in gone["queues"])


def test_a_long_silence_is_said_in_days_and_hours_as_the_page_says_ages(api, prefix):
    """A beat stopped 8 days ago read "No tick for 691202 s" where the next column of the status
    page reads "8.0 d ago"."""
    from enrich.redis import alive
    from enrich.redis.client import get_redis

    ticked = time.time() - 691202
    heard = time.time() - 3 * 3600
    get_redis().set(alive._beat_key(), json.dumps({"at": ticked, "host": "old-host"}))
    get_redis().hset(alive._workers_key(), "collectors@old-host",
                     json.dumps({"at": heard, "queues": ["collectors"]}))  # fmt: skip

    answer = api.get("/api/processes/").json()

    def iso(at: float) -> str:
        return datetime.fromtimestamp(at, UTC).isoformat()

    assert answer["beat"]["detail"] == (
        f"No tick for 8.0 d (last at {iso(ticked)}): the beat has stopped or hangs, so no "
        "schedule runs. It ticks at least every 5 s."
    )
    (worker,) = answer["workers"]
    assert worker["detail"] == (
        f"Not heard from for 3.0 h (last at {iso(heard)}): it was killed or hangs."
    )


@pytest.mark.usefixtures("empty_queues")
def test_a_worker_stopped_on_purpose_is_not_missed(api, prefix):
    with worker_support.celery_worker("stopping", REDIS_KEY_PREFIX=prefix) as worker:
        worker_support.until(lambda: api.get("/api/processes/").json()["workers"], worker)
    assert worker.returncode == 0  # a warm shutdown (SIGTERM)
    assert api.get("/api/processes/").json()["workers"] == []


def test_a_periodic_task_the_beat_leaves_out_is_listed_with_the_reason(api, prefix):
    every = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly here", task="enrich.check_services", crontab=every)
    away = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly away", task="enrich.check_services", crontab=away)
    PeriodicTask.objects.create(
        name="Off away", task="enrich.check_services", crontab=away, enabled=False
    )
    store_zone(away, "Mars/Base")
    answer = api.get("/api/processes/").json()
    assert answer["ok"] is False
    assert answer["skipped_schedules"] == [
        {
            "task": "Hourly away",
            "crontab": away.pk,
            "timezone": "Mars/Base",
            "reason": f"Not scheduled: its crontab {away.pk} has the time zone 'Mars/Base', "
            "which this host's zone database cannot load. Choose its time zone in admin → "
            "Crontabs.",
        }
    ]


def test_an_entry_disabled_in_the_admin_is_listed_with_what_to_do(api, admin_client):
    """An operator disables "Carbon intensity" in the admin (admin → Periodic tasks): its
    values go stale while nothing on the status page said why (its list of what the beat leaves
    out read "None"). A one-off task of the
    operator's own, disabled once it ran, is not listed."""
    call_command("install_schedules", stdout=io.StringIO())
    carbon = PeriodicTask.objects.get(name="Carbon intensity")
    admin_client.post("/admin/django_celery_beat/periodictask/",
                      {"action": "disable_tasks", "_selected_action": [carbon.pk]})  # fmt: skip
    every = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Once", task="enrich.check_services", crontab=every,
                                one_off=True, enabled=False)  # fmt: skip
    answer = api.get("/api/processes/").json()
    assert answer["disabled_schedules"] == [
        {
            "task": "Carbon intensity",
            "reason": "Disabled in admin → Periodic tasks: not run until it is enabled again.",
        }
    ]
    assert answer["skipped_schedules"] == []
    PeriodicTask.objects.filter(pk=carbon.pk).update(enabled=True)
    assert api.get("/api/processes/").json()["disabled_schedules"] == []


def test_the_answer_says_when_redis_cannot_be_read(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    answer = api.get("/api/processes/").json()
    assert answer["ok"] is False and answer["beat"] is None and answer["workers"] is None
    # Where Redis is goes to the server log, not to every signed-in user (enrich.addresses).
    assert "cannot reach Redis at REDIS_URL=[hidden]" in answer["detail"]
    assert "127.0.0.1:1" not in answer["detail"] and "redis://" not in answer["detail"]
    assert answer["skipped_schedules"] == []


def test_the_redis_problem_is_worded_as_a_sentence(api, settings):
    # The status page's Processes table shows this detail as it is: it read "The beat's and
    # workers' signs of life is unavailable".
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    detail = api.get("/api/processes/").json()["detail"]
    assert detail.startswith(
        "The record of the beat's and workers' signs of life is unavailable: cannot reach Redis"
    ), detail
