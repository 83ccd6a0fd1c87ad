"""A view's lock gone under its run (a Redis restarted without it, or flushed) once the run has
read its data, before it writes (the crash point `view.before_write`, retention.faults), and
another refresh of the view taking the lock meanwhile, writing newer rows and finishing; Redis
out of reach under two refreshes of a view at once; two views' locks lost in one command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models.signals import post_save

from enrich.redis.client import RedisUnavailable, get_redis
from enrich.redis.lock import LockLost, RunLock
from retention.models import DailyEnergyByDevice, RetentionRun, ViewState
from retention.rollups.materialized import (
    ENERGY,
    VIEWS,
    MaterializedViewManager,
    rebuild_view,
    refresh_view,
    view_lock_key,
)
from tests.support.views_follow import DAY, energy

pytestmark = pytest.mark.django_db

PUMP = "sensor.pump_power"
EARLIER, LATER = DAY + timedelta(hours=36), DAY + timedelta(days=2)


@pytest.fixture
def pump(ha_db, enrich_db, settings):
    """A pump drawing 500 W from DAY on: 12 kWh a whole day."""
    return ha_db.saved_entity("official", PUMP, [(DAY, 500)], unit="W")


def another_refresh_meanwhile(monkeypatch) -> list[RetentionRun]:
    """Once the first run has read its data, its lock's key vanishes and another refresh (its
    now LATER) takes the lock, writes and finishes; that run, in the list returned."""
    other: list[RetentionRun] = []
    busy: list[bool] = []

    def reached(point: str) -> None:
        if point == "view.before_write" and not busy:
            busy.append(True)
            get_redis().delete(view_lock_key(ENERGY))  # Redis restarted without it
            other.append(refresh_view(ENERGY, now=LATER))

    monkeypatch.setattr("retention.faults.point", reached)
    return other


@pytest.mark.influxdb
@pytest.mark.parametrize("mode", ["incremental", "rebuild"])
def test_a_run_whose_lock_was_gone_while_another_refreshed_writes_none_of_its_older_rows(
    pump, monkeypatch, mode
):
    """The first run (a refresh whose now is EARLIER, or a rebuild of DAY+1 read then) took its
    lock back once the other refresh had finished and wrote the rows it had computed before:
    DAY+1 went back from the whole 12 kWh the other refresh wrote to a partial 6 kWh, and the
    refresh moved the watermark back to EARLIER. Now it sees that another run held the lock
    meanwhile, writes nothing and fails naming that run; the newer rows and watermark stay."""
    other = another_refresh_meanwhile(monkeypatch)
    with pytest.raises(LockLost) as lost:
        if mode == "incremental":
            refresh_view(ENERGY, now=EARLIER)
        else:
            rebuild_view(ENERGY, (DAY + timedelta(days=1)).date(), LATER.date(), now=EARLIER)
    [newer] = other
    assert newer.status == "ok"
    assert energy()[(PUMP, (DAY + timedelta(days=1)).date())] == pytest.approx(12.0)
    assert not DailyEnergyByDevice.objects.filter(partial=True, date__lt=LATER.date()).exists()
    assert ViewState.objects.get(view=ENERGY).watermark == LATER
    first = RetentionRun.objects.exclude(pk=newer.pk).get(details__view=ENERGY)
    assert (first.status, first.records_processed) == ("failed", 0)
    said = (
        f"lock '{view_lock_key(ENERGY)}' was gone (it expired, or Redis restarted without it) "
        f"and run {newer.pk} of the view held it meanwhile"
    )
    assert said in str(lost.value), lost.value
    assert first.errors.startswith(f"LockLost: {said}"), first.errors
    assert get_redis().get(view_lock_key(ENERGY)) is None  # released


@pytest.mark.influxdb
@pytest.mark.parametrize("mode", ["incremental", "rebuild"])
def test_a_run_whose_lock_was_gone_while_another_failed_to_take_it_writes_its_rows(
    pump, monkeypatch, commands_redis, mode
):
    """Once the first run has read its data, Redis restarts (its lock's key gone); meanwhile
    another refresh of the view could not take the lock (Redis out of reach) and was recorded
    failed, holding nothing and writing nothing. The first run took its lock back and stopped
    all the same ("run N of the view held it meanwhile"), so the refresh was lost until the
    next one. Only a run that held the lock and wrote counts: the first run writes its rows."""
    failed: list[RetentionRun] = []

    def reached(point: str) -> None:
        if point == "view.before_write" and not failed:
            commands_redis.stop()
            with pytest.raises(RedisUnavailable):
                refresh_view(ENERGY, now=LATER)
            failed.append(RetentionRun.objects.get(status="failed"))
            commands_redis.start()  # empty: restarted without the first run's lock

    monkeypatch.setattr("retention.faults.point", reached)
    if mode == "incremental":
        run = refresh_view(ENERGY, now=EARLIER)
    else:
        run = rebuild_view(ENERGY, DAY.date(), LATER.date(), now=EARLIER)
    [other] = failed
    assert other.errors.startswith("RedisUnavailable: "), other.errors
    assert (run.status, run.errors) == ("ok", "")
    assert run.records_processed == 2  # DAY whole, DAY+1 up to EARLIER
    assert energy() == {(PUMP, DAY.date()): pytest.approx(12.0)}
    half = DailyEnergyByDevice.objects.get(date=(DAY + timedelta(days=1)).date())
    assert (half.partial, half.total_kwh) == (True, pytest.approx(6.0))
    if mode == "incremental":
        assert ViewState.objects.get(view=ENERGY).watermark == EARLIER
    assert get_redis().get(view_lock_key(ENERGY)) is None  # released


@pytest.mark.influxdb
def test_a_refresh_stopped_by_redis_names_the_views_in_its_own_run_not_another_s(
    pump, commands_redis
):
    """Redis out of reach; as the refresh of every view records its first view's failed run,
    another process's `refresh_views daily_energy_by_device` fails too, recording its own. The
    refresh wrote "the views not refreshed" into the other process's run (the latest failed run
    of the view) and answered with that run: its own run named none of them. Now its own run
    names them and is the one it answers with; the other's run keeps its own words."""
    others: list[RetentionRun] = []

    def meanwhile(sender, instance: RetentionRun, **kwargs) -> None:
        if instance.status == "failed" and not others:
            others.append(instance)  # not this one: the other process's, below
            with pytest.raises(RedisUnavailable):
                refresh_view(ENERGY)  # the other process, at the same moment
            others[0] = RetentionRun.objects.exclude(pk=instance.pk).get()

    commands_redis.stop()
    post_save.connect(meanwhile, sender=RetentionRun)
    try:
        runs = MaterializedViewManager().refresh()
    finally:
        post_save.disconnect(meanwhile, sender=RetentionRun)
    [other] = others
    [own] = RetentionRun.objects.exclude(pk=other.pk)
    assert runs == [own]
    assert own.details["views"] == list(VIEWS), own.errors
    assert "were not refreshed (the refresh stopped here" in own.errors, own.errors
    other.refresh_from_db()
    assert "views" not in other.details and "were not refreshed" not in other.errors, other.errors


@pytest.mark.influxdb
def test_refresh_views_that_lost_two_locks_to_other_runs_names_both(pump, monkeypatch):
    """`manage.py refresh_views`, the locks of the first and the third view taken by other runs
    once they expired: its paragraph explained the first view's lock only (to whom it was lost),
    not a word of the third's, and said to wait for "that run". Now it names both locks and who
    holds each, and says to wait for those runs."""
    first, second, third = VIEWS
    others = {
        view: RunLock("retention", "view", view, owner=f"refresh of {view} elsewhere")
        for view in (first, third)
    }

    def reached(point: str) -> None:
        for view, other in others.items():
            key = view_lock_key(view)  # the view whose rows are computed: its lock taken over
            if point == "view.before_write" and get_redis().exists(key) and not other.held:
                get_redis().delete(key)
                assert other.acquire()
                return

    monkeypatch.setattr("retention.faults.point", reached)
    try:
        with pytest.raises(CommandError) as stopped_by:
            call_command("refresh_views")
    finally:
        assert all(other.release() for other in others.values())
    said = str(stopped_by.value)
    for view in (first, third):
        assert f"lost to refresh of {view} elsewhere since " in said, said
    assert f"{first} and {third} were not refreshed" in said, said
    assert said.endswith(
        "Run this command again once those runs have finished: it refreshes the views."
    ), said
