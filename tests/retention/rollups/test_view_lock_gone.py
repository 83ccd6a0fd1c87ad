"""A view's lock gone under its run (a Redis restarted without it, or flushed) once the run has
read its data, before it writes (the crash point `view.before_write`, retention.faults), and
another refresh of the view taking the lock meanwhile, writing newer rows and finishing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enrich.redis.client import get_redis
from enrich.redis.lock import LockLost
from retention.models import DailyEnergyByDevice, RetentionRun, ViewState
from retention.rollups.materialized import ENERGY, rebuild_view, refresh_view, view_lock_key
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
