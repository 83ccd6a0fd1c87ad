"""The materialized views with Redis (the store of the views' locks, and Celery's broker) out of
reach: a redis-server of the test's own (tests.support.redis_server), stopped before a run takes
its view's lock, or once the run has computed its rows, before it writes them (the crash point
`view.before_write`, retention.faults). The run is recorded failed saying that the view's lock
is out of reach and when its work comes next; nothing is written and the watermark stays; the
commands say it in one paragraph; with Redis back the same command or task does the work."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from enrich.models import WrittenSince
from enrich.redis.client import RedisUnavailable, get_redis
from enrich.redis.lock import RunLock
from enrich.schedules import install_schedules
from retention.models import DailyEnergyByDevice, RetentionRun, ViewFollowUp, ViewState
from retention.queued import queued_run
from retention.rollups.lock import LOCK_SECONDS as VIEW_LOCK_SECONDS
from retention.rollups.materialized import (
    ENERGY,
    VIEWS,
    MaterializedViewManager,
    refresh_view,
    view_lock_key,
)
from retention.rollups.prices import PRICE_MEASUREMENT
from retention.rollups.tasks import follow_view_edits, rebuild, refresh_views
from retention.stats.alerts import detect
from tests.support.commands import refusal
from tests.support.pause_app import pause_key, paused_key
from tests.support.redis_server import OwnRedis
from tests.support.views_follow import (
    DAY,
    days_through_today,
    energy,
    every_view_refreshed,
    worker_env,
)
from tests.support.worker import celery_worker, manage_in_child, stop, until

pytestmark = pytest.mark.django_db

PUMP = "sensor.pump_power"
FIRST, LAST = DAY.date().isoformat(), (DAY + timedelta(days=1)).date().isoformat()
REBUILD = ("--start", FIRST, "--end", LAST)
# The beat entry "Refresh materialized views": every 4 hours.
NEXT = re.compile(
    r"Nothing was written; the next scheduled run \(\w{3} [-\d]{10} \d\d:00 UTC\) refreshes the "
    r"views "
)
REBUILD_AGAIN = (
    "Nothing was written: ask for the rebuild again once Redis is back "
    "(POST /api/views/daily_energy_by_device/rebuild, or manage.py rebuild_view)."
)


STOPPED = "(it expired while this run could not renew it); this run stopped"
VIEW_LOCK_MINUTES = VIEW_LOCK_SECONDS // 60


def lock(view: str = ENERGY) -> str:
    return f"The lock of the view {view}"


@pytest.fixture
def pump(ha_db, enrich_db, settings):
    """A pump drawing 500 W for the last two days and today: 12 kWh a whole day."""
    return ha_db.saved_entity("official", PUMP, [(DAY, 500)], unit="W")


def failed(commands_redis, view: str = ENERGY) -> RetentionRun:
    """The one run the view has: failed, saying its lock is out of reach."""
    [run] = RetentionRun.objects.filter(details__view=view)
    assert (run.status, run.records_processed) == ("failed", 0), run.errors
    assert run.finished is not None, run.errors
    assert run.errors.startswith(f"RedisUnavailable: {commands_redis.unavailable(lock(view))}")
    return run


@pytest.mark.influxdb
@pytest.mark.parametrize("point", [None, "view.before_write"])
@pytest.mark.parametrize(
    ("argv", "done", "rest"),
    [
        (
            ("refresh_views", ENERGY),
            "daily_energy_by_device was not refreshed: nothing of it was written and its "
            "watermark is kept.",
            "refreshes the views",
        ),
        (
            ("rebuild_view", ENERGY, *REBUILD),
            "Nothing was written: the rows of the range are as they were.",
            "rebuilds the range",
        ),
    ],
)
def test_the_commands_stop_saying_nothing_was_written_and_to_run_them_again(
    pump, commands_redis, argv, done, rest, point
):
    """Redis stopped before the command takes the view's lock (None), or once it has computed
    the rows, before it writes them: the command died with a traceback ending in redis' own
    "ConnectionError: Error 111 ..." (before the lock: no run recorded at all), or wrote its
    rows and ended ok under a lock its renewal thread could no longer vouch for. Now it exits
    with the RedisUnavailable message, what is kept and to run it again; nothing is written,
    the watermark is not moved; with Redis back the command does the work."""
    commands_redis.stop_at(point)
    said = refusal(*argv)
    assert said.startswith(commands_redis.unavailable(lock())), said
    assert said.endswith(f"{done} Run this command again once Redis is back: it {rest}."), said
    failed(commands_redis)
    assert not DailyEnergyByDevice.objects.exists()
    assert not ViewState.objects.exclude(watermark=None).exists()

    commands_redis.back()
    call_command(*argv)
    assert RetentionRun.objects.latest("pk").status == "ok"
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)


@pytest.mark.influxdb
@pytest.mark.parametrize("taken", [False, True])
def test_a_rebuild_whose_lock_expired_under_it_writes_only_if_no_other_run_took_it(
    pump, monkeypatch, capsys, taken
):
    """Once the rebuild has computed its rows its lock is gone, as after a Redis restarted
    without it (False), or another run holds it, one that took it once it expired (True): the
    rebuild wrote its rows all the same, beside the other run (its renewal thread only logged
    that the lock was lost). Now it takes the lock again and writes, or, held by another, it
    writes nothing and fails saying so."""
    key = view_lock_key(ENERGY)
    other = RunLock("retention", "view", ENERGY, owner="rebuild in another worker")
    lost_to = f"lock '{key}' lost to "

    def reached(point: str) -> None:
        if point == "view.before_write":
            get_redis().delete(key)
            assert not taken or other.acquire()

    monkeypatch.setattr("retention.faults.point", reached)
    if not taken:
        call_command("rebuild_view", ENERGY, *REBUILD)
        assert "daily_energy_by_device: 2 rows written" in capsys.readouterr().out
        assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)
        assert get_redis().get(key) is None  # released at the end
        return
    said = refusal("rebuild_view", ENERGY, *REBUILD)
    assert said.startswith(
        f"{lock()} was lost during the rebuild: {lost_to}rebuild in another worker since "
    ), said
    assert said.endswith(
        f"{STOPPED} (this process could not renew it for longer than its {VIEW_LOCK_MINUTES} "
        "minutes; the run holding it now computes the view). Nothing was written: the rows of "
        "the range are as they were. Run this command again once that run has finished: it "
        "rebuilds the range."
    ), said  # it said "that run computes the view now", untrue of a refresh holding it
    [run] = RetentionRun.objects.all()
    assert run.status == "failed"
    assert run.errors.startswith(f"LockLost: {lost_to}rebuild in another worker since "), run
    assert run.errors.endswith(
        f"{STOPPED}. Nothing was written: ask for the rebuild again once that run has finished "
        "(POST /api/views/daily_energy_by_device/rebuild, or manage.py rebuild_view)."
    ), run.errors
    assert not DailyEnergyByDevice.objects.exists()
    assert other.release()  # the other run's lock is left to it


def lose_the_lock(monkeypatch, view: str) -> RunLock:
    """Once the rows of `view` are computed, its lock expires and another run takes it (held
    by the lock returned)."""
    other = RunLock("retention", "view", view, owner="refresh in another worker")

    def reached(point: str) -> None:
        key = view_lock_key(view)  # held while this view's rows are computed, then taken over
        if point == "view.before_write" and get_redis().exists(key) and not other.held:
            get_redis().delete(key)
            assert other.acquire()

    monkeypatch.setattr("retention.faults.point", reached)
    return other


@pytest.mark.influxdb
def test_a_refresh_whose_lock_another_run_took_goes_on_with_the_other_views(
    pump, monkeypatch, capsys
):
    """`manage.py refresh_views`, the lock of its second view taken by another run once it
    expired: it stopped there, its paragraph naming the first view refreshed and not a word of
    the third, which it never tried (the beat's task went on with it). Now it goes on with the
    other views, as the task does, and its paragraph says which view failed and which were
    refreshed; the first and third views' rows and watermarks are stored."""
    first, second, third = VIEWS
    other = lose_the_lock(monkeypatch, second)
    try:
        with pytest.raises(CommandError) as stopped_by:
            call_command("refresh_views")
    finally:
        assert other.release()  # the other run's lock is left to it
    said = str(stopped_by.value)
    lost_to = f"lock '{view_lock_key(second)}' lost to refresh in another worker since "
    assert said.startswith(f"{lock(second)} was lost during the refresh: {lost_to}"), said
    assert said.endswith(
        f"{STOPPED} (this process could not renew it for longer than its {VIEW_LOCK_MINUTES} "
        f"minutes; the run holding it now computes the view). {second} was not refreshed: "
        f"nothing of it was written and its watermark is kept. {first} and {third} were "
        "refreshed. Run this command again once that run has finished: it refreshes the views."
    ), said
    out = capsys.readouterr().out
    written = days_through_today(DAY.date(), RetentionRun.objects.get(details__view=first))
    assert f"{first}: {written} rows written" in out and f"{third}: 0 rows written" in out, out
    assert second not in out, out
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)  # the first view's rows stay
    assert ViewState.objects.get(view=first).watermark is not None
    assert ViewState.objects.get(view=third).watermark is not None  # tried, and refreshed
    assert not ViewState.objects.filter(view=second).exclude(watermark=None).exists()
    run = RetentionRun.objects.get(details__view=second)
    assert run.status == "failed" and run.errors.startswith(f"LockLost: {lost_to}"), run.errors
    statuses = dict(RetentionRun.objects.values_list("details__view", "status"))
    assert statuses == {first: "ok", second: "failed", third: "ok"}


@pytest.mark.influxdb
def test_the_beat_s_refresh_whose_lock_another_run_took_goes_on_with_the_other_views(
    pump, monkeypatch
):
    """The beat's task, the same lost lock: the second view fails saying when its work comes
    next, the other two are refreshed, as `manage.py refresh_views` does."""
    install_schedules()
    first, second, third = VIEWS
    other = lose_the_lock(monkeypatch, second)
    try:
        result = refresh_views.apply().get()
    finally:
        assert other.release()
    assert {name: answer["status"] for name, answer in result.items()} == {
        first: "ok", second: "failed", third: "ok"
    }  # fmt: skip
    run = RetentionRun.objects.get(details__view=second)
    assert result[second]["error"] == run.errors and NEXT.search(run.errors), run.errors
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)
    assert ViewState.objects.get(view=third).watermark is not None


@pytest.mark.influxdb
def test_redis_gone_stops_refresh_views_naming_the_views_it_did_not_try(pump, commands_redis):
    """`manage.py refresh_views`, Redis out of reach as it takes the first view's lock: its
    paragraph said the first view was not refreshed, not a word of the two after it, which it
    did not try. Now it names them; they keep their rows and watermarks."""
    first, second, third = VIEWS
    commands_redis.stop()
    said = refusal("refresh_views")
    assert said.endswith(
        f"{first} was not refreshed: nothing of it was written and its watermark is kept. "
        f"{second} and {third} were not tried: they keep their rows and watermarks. Run this "
        "command again once Redis is back: it refreshes the views."
    ), said
    assert not ViewState.objects.exclude(watermark=None).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("argv", "rest"),
    [(("refresh_views",), "refreshes the views."), (("rebuild_view", ENERGY, *REBUILD),
                                                    "rebuilds the range.")],
)  # fmt: skip
def test_run_by_hand_a_view_command_says_one_paragraph_and_exits_1(commands_redis, argv, rest):
    """What a user at the terminal saw: a Python traceback ending in redis' own
    "ConnectionError: Error 111 ...". Now: the one paragraph, as Django prints a CommandError,
    and exit status 1."""
    commands_redis.stop()
    ran = manage_in_child(*argv, timeout=120, REDIS_URL=commands_redis.url)
    assert (ran.returncode, ran.stdout) == (1, ""), ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr
    said = ran.stderr.splitlines()[-1]  # after the log's warnings, if any
    assert said.startswith(f"CommandError: {commands_redis.unavailable(lock())}"), said
    assert said.endswith(f"Run this command again once Redis is back: it {rest}"), said


@pytest.mark.influxdb
@pytest.mark.parametrize("point", [None, "view.before_write"])
def test_the_beat_s_refresh_records_one_failed_run_and_one_alert_naming_the_views(
    pump, commands_redis, point
):
    """The beat's refresh, its worker cut off from Redis before it takes a view's lock (None),
    or once it has computed the first view's rows: it recorded nothing (no run in the admin, the
    API or the alerts, only the task's result saying redis' own "ConnectionError: Error 111
    ..."), and then one failed run per view, so one Redis outage raised three alerts. Now the
    refresh stops there: one failed run, saying that Redis is out of reach, which views were
    not refreshed and when the next scheduled refresh comes, and one alert saying so; every view
    keeps its rows and its watermark."""
    install_schedules()  # the beat entry "Refresh materialized views"
    commands_redis.stop_at(point)
    result = refresh_views.apply().get()
    run = failed(commands_redis)  # the first view's
    assert {name: answer["status"] for name, answer in result.items()} == dict.fromkeys(
        VIEWS, "failed"
    )
    assert {answer["run"] for answer in result.values()} == {run.pk}
    assert all(answer["error"] == run.errors for answer in result.values())
    assert list(RetentionRun.objects.all()) == [run]
    assert run.details["mode"] == "incremental"
    assert run.details["views"] == list(VIEWS)
    assert (
        "Nothing was written: daily_energy_by_device, hourly_room_activity and "
        "daily_carbon_summary were not refreshed (the refresh stopped here: their locks are "
        "in that Redis too); the next scheduled run ("
    ) in run.errors, run.errors
    assert re.search(NEXT.pattern.removeprefix("Nothing was written; "), run.errors), run.errors
    assert run.errors.endswith(
        "from their watermarks. Nothing is lost meanwhile: the view keeps its rows and its "
        "watermark."
    ), run.errors
    assert not DailyEnergyByDevice.objects.exists()
    assert not ViewState.objects.exclude(watermark=None).exists()

    [alert] = detect()  # one outage, one alert
    assert alert.run == run and alert.kind == "failed"
    said = f"{commands_redis.unavailable(lock())}"
    assert said in alert.message, alert.message
    assert (
        "daily_energy_by_device, hourly_room_activity and daily_carbon_summary were not "
        "refreshed" in alert.message
    ), alert.message

    commands_redis.back()  # the next refresh does the work
    result = refresh_views.apply().get()
    assert {answer["status"] for answer in result.values()} == {"ok"}
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)
    assert not ViewState.objects.filter(watermark=None).exists()


@pytest.mark.parametrize("backfill", [False, True])
def test_a_refresh_that_cannot_take_its_lock_records_the_range_it_was_to_refresh(
    commands_redis, settings, backfill
):
    """A view refreshed before, Redis out of reach as its next refresh takes the view's lock:
    the failed run had no range_start, so the admin and the API showed a failed refresh of no
    range. Its start is known before the lock (the watermark less VIEW_LATE_MARGIN_HOURS, or a
    collector's earlier backfill of the prices the view reads): the run records it."""
    watermark = datetime(2026, 12, 1, 8, tzinfo=UTC)
    ViewState.objects.create(view=ENERGY, watermark=watermark)
    start = watermark - timedelta(hours=settings.VIEW_LATE_MARGIN_HOURS)
    if backfill:  # prices of two days before written since the last refresh
        start = watermark - timedelta(days=2)
        WrittenSince.objects.create(measurement=PRICE_MEASUREMENT, earliest=start)
    commands_redis.stop()
    with pytest.raises(RedisUnavailable):
        refresh_view(ENERGY)
    run = failed(commands_redis)
    assert run.range_start == start
    assert run.range_end > watermark  # now
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    [shown] = api.get("/retention/history", {"type": "view_refresh"}).json()["runs"]
    assert (shown["run_id"], shown["range_start"]) == (
        run.pk,
        start.isoformat().replace("+00:00", "Z"),
    )
    assert ViewState.objects.get(view=ENERGY).watermark == watermark  # kept
    assert WrittenSince.objects.filter(measurement=PRICE_MEASUREMENT).count() == int(backfill)


def test_a_rebuild_the_api_queued_fails_saying_to_ask_again_not_running_for_ever(commands_redis):
    """The worker cut off from Redis before the rebuild takes the view's lock: the run the API
    created stayed "running", its errors empty, for as long as Redis was away (then it was closed
    as one whose process died, which it had not). Now it fails at once, saying why and to ask
    for the rebuild again."""
    run = queued_run("view_refresh", "ops", details={"view": ENERGY, "mode": "rebuild"})
    commands_redis.stop()
    kwargs = {"name": ENERGY, "start": FIRST, "end": LAST, "run_id": run.pk}
    assert rebuild.apply(kwargs=kwargs).failed()
    run = failed(commands_redis)
    assert run.details["mode"] == "rebuild" and run.details["queued_by"] == "ops"
    assert run.errors.endswith(REBUILD_AGAIN), run.errors


def test_a_follow_up_of_edits_fails_and_the_edits_stay_noted_for_the_next_refresh(
    commands_redis,
):
    """The follow-up of an edit, its worker cut off from Redis before it takes the view's lock:
    its run stayed "running" for as long as Redis was away. Now it fails at once, saying that
    the edits stay noted and when the next refresh, which follows them, comes."""
    install_schedules()
    ViewFollowUp.objects.create(view=ENERGY, key=PUMP, since=DAY, edit=f"{PUMP}: deleted")
    run = queued_run("view_refresh", "admin", details={"view": ENERGY, "mode": "edits"})
    commands_redis.stop()
    assert follow_view_edits.apply(kwargs={"name": ENERGY, "run_id": run.pk}).failed()
    run = failed(commands_redis)
    assert NEXT.search(run.errors), run.errors
    assert run.errors.endswith(
        "and follows the edits noted. Nothing is lost meanwhile: the edits stay noted until a "
        "run follows them."
    ), run.errors
    assert ViewFollowUp.objects.filter(view=ENERGY, key=PUMP).exists()


@pytest.mark.influxdb
@pytest.mark.django_db(transaction=True)
def test_redis_gone_under_a_queued_rebuild_on_a_worker_fails_it_before_it_writes(
    settings, pump, ha_db, enrich_db
):
    """A real worker, its Redis (broker and lock store) stopped once the rebuild has computed
    its rows: the run wrote them and ended ok, the lock it ran under unverifiable (its renewal
    thread only logged). Now it fails before it writes, saying so and to ask again; with Redis
    back, the rebuild asked again writes the rows."""
    redis = OwnRedis()
    url = redis.url
    get_redis().set(pause_key(), "view.before_write")  # the test's Redis, not the worker's
    env = worker_env(ha_db, enrich_db, settings, REDIS_URL=url, PAUSE_REDIS_URL=settings.REDIS_URL)
    beat = Celery("api", broker=url, set_as_current=False)  # sends to the worker's Redis

    def asked() -> RetentionRun:
        run = queued_run("view_refresh", "ops", details={"view": ENERGY, "mode": "rebuild"})
        kwargs = {"name": ENERGY, "start": FIRST, "end": LAST, "run_id": run.pk}
        beat.send_task(rebuild.name, kwargs=kwargs, queue="retention")
        return run

    try:
        with celery_worker("views-redis", app="tests.support.pause_app", **env) as worker:
            run = asked()
            until(lambda: get_redis().get(paused_key()), worker, seconds=120)
            redis.stop()
            get_redis().delete(paused_key())
            done = RetentionRun.objects.filter(pk=run.pk).exclude(status="running")
            run = until(done.first, worker, seconds=60)
            assert run.status == "failed" and run.finished is not None, run.errors
            assert run.errors.startswith(
                f"RedisUnavailable: {lock()} is unavailable: cannot reach Redis at "
                f"REDIS_URL={url} ("
            ), run.errors
            assert run.errors.endswith(REBUILD_AGAIN), run.errors
            assert not DailyEnergyByDevice.objects.exists()

            redis.start()  # Redis is back
            again = asked()
            ended = RetentionRun.objects.filter(pk=again.pk).exclude(status="running")
            again = until(ended.first, worker, seconds=60)
            stop(worker)
    finally:
        redis.stop()
    assert (again.status, again.errors) == ("ok", ""), again.errors
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)


@pytest.mark.influxdb
@pytest.mark.parametrize("point", [None, "view.before_write"])
def test_refreshing_every_view_from_python_stops_at_the_first_view_as_the_beat_does(
    pump, commands_redis, point
):
    """`MaterializedViewManager().refresh()` (every view, `refresh_all`) went on view after
    view with Redis out of reach: a failed run and an alert per view for one outage. It stops
    at the first view as the beat's refresh does: one failed run, the last of those it returns,
    naming the views not refreshed, and one alert; with Redis back it does the work."""
    install_schedules()
    commands_redis.stop_at(point)
    runs = MaterializedViewManager().refresh()
    run = failed(commands_redis)
    assert runs == [run] and list(RetentionRun.objects.all()) == [run]
    assert run.details["views"] == list(VIEWS), run.errors
    assert (
        "Nothing was written: daily_energy_by_device, hourly_room_activity and "
        "daily_carbon_summary were not refreshed (the refresh stopped here: their locks are "
        "in that Redis too); the next scheduled run ("
    ) in run.errors, run.errors
    assert not ViewState.objects.exclude(watermark=None).exists()
    assert [alert.run for alert in detect()] == [run]  # one outage, one alert

    commands_redis.back()
    every_view_refreshed()  # the next refresh does the work
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)
