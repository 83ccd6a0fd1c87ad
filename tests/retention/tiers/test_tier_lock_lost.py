"""`downsample_hourly` and `downsample_daily` whose tier lock is lost once their first day is
verified (a step longer than the lock's 10 minutes: it expired and another run of the tier
took it), against the real InfluxDB: the command ended with the bare "LockLost: lock '…' lost
to …; stopped before deleting more", not a word of what it kept or what to do. Now it exits 1
with one paragraph: the lock was lost and to whom, nothing unverified deleted and the days done
stay done, run it again once that run has finished; nothing is deleted once the lock is lost,
the run is failed with the LockLost, the other run's lock is left to it; run again, it
finishes."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrich.redis.client import get_redis
from enrich.redis.lock import RunLock
from retention.entities.ha_source import count_samples
from retention.models import RetentionRun
from retention.tiers.chunks import run_lock
from retention.tiers.rows import DAILY_RP, HOURLY_RP
from tests.retention.conftest import T0
from tests.support.tier_runs import AFTER_VERIFY, DAY, DAYS, RANGE, three_days, tier_rows

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_a_tier_command_that_lost_its_lock_says_so_and_deletes_nothing(
    ha_db, monkeypatch, command, label, point
):
    hourly = command == "downsample_hourly"
    entity, source = three_days(ha_db, command)  # source: what the run deletes once verified
    before = source()
    other: RunLock = run_lock(command, owner=f"{label} run 99")

    def reached(name: str) -> None:
        if name == point and not other.held:
            get_redis().delete(other.key)  # the run's lock expired ...
            assert other.acquire()  # ... and another run of the tier took it

    monkeypatch.setattr("retention.faults.point", reached)
    try:
        with pytest.raises(CommandError) as failed:
            call_command(command, *RANGE)
        assert get_redis().get(other.key) == other.token  # left to its holder
    finally:
        other.release()
    said = str(failed.value)
    assert said.startswith(
        f"The lock of the tier runs was lost during the {label} run: lock '{other.key}' lost "
        f"to {label} run 99 since "
    ), said
    assert said.endswith(
        " (it expired); stopped before deleting more (a step took longer than the lock's 10 "
        "minutes; the run holding it now may write or delete the same rows). Nothing unverified "
        "was deleted; the days done so far stay done. Run this command again once that run has "
        "finished: it resumes where it stopped."
    ), said
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed", run.errors
    assert run.errors.startswith(f"LockLost: lock '{other.key}' lost to {label} run 99 since ")
    assert source() == before  # nothing deleted once the lock was lost
    assert tier_rows(HOURLY_RP if hourly else DAILY_RP) == (24 if hourly else 1)  # verified

    monkeypatch.undo()
    call_command(command, *RANGE)
    assert RetentionRun.objects.filter(operation=command).latest("pk").status == "ok"
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    if hourly:
        assert tier_rows(HOURLY_RP) == DAYS * 24
    else:
        assert tier_rows(DAILY_RP) == DAYS and tier_rows(HOURLY_RP) == 0
