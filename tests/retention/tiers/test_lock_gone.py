"""A tier or archive command whose lock's key is simply gone mid-run (Redis restarted without
it, or it expired and no run took it since), against the real Redis, InfluxDB and moto's S3:
the run stopped saying its lock was "lost to nobody" and the command said "Run this command
again once that run has finished", a run that does not exist. The run still stops (another run
may have held the lock meanwhile and finished, changing what this run was about to delete), but
now it says the lock is gone and no run holds it, and to run the command again; run again, it
finishes."""

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrich.redis.client import get_redis
from retention import faults
from retention.archive.lock import archive_lock_key
from retention.entities.ha_source import count_samples
from retention.models import RetentionRun
from retention.tiers.chunks import run_lock
from tests.retention.conftest import T0
from tests.support.archive import daily_rows
from tests.support.archived import YEARS_NOW
from tests.support.tier_runs import AFTER_VERIFY, DAY, DAYS, RANGE, three_days

GONE = "is gone and no run holds it now (it expired, or Redis restarted without it); "


def key_gone_at(monkeypatch, point: str, key: str) -> None:
    """At the fault point `point` the lock's key disappears, and nobody takes it."""

    def reached(name: str) -> None:
        if name == point:
            get_redis().delete(key)

    monkeypatch.setattr(faults, "point", reached)


@pytest.mark.django_db
@pytest.mark.influxdb
@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_a_tier_command_whose_lock_is_gone_says_so_and_to_run_it_again(
    ha_db, monkeypatch, command, label, point
):
    entity, source = three_days(ha_db, command)
    before = source()
    key = run_lock(command, owner="").key
    key_gone_at(monkeypatch, point, key)
    with pytest.raises(CommandError) as failed:
        call_command(command, *RANGE)
    assert str(failed.value) == (
        f"The lock of the tier runs was lost during the {label} run: lock '{key}' {GONE}stopped "
        "before deleting more. Nothing unverified was deleted; the days done so far stay done. "
        "Run this command again: it resumes where it stopped."
    )
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed"
    assert run.errors == f"LockLost: lock '{key}' {GONE}stopped before deleting more"
    assert source() == before  # nothing deleted once the lock was gone
    assert get_redis().get(key) is None  # not taken back

    monkeypatch.undo()
    call_command(command, *RANGE)
    assert RetentionRun.objects.filter(operation=command).latest("pk").status == "ok"
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0


@pytest.mark.django_db
def test_the_archive_command_whose_lock_is_gone_says_so_and_to_run_it_again(tier, s3, monkeypatch):
    tier.write(daily_rows(2, date(2021, 1, 1), 3 * 365))
    key_gone_at(monkeypatch, "archive.before_delete", archive_lock_key())
    as_of = ("--as-of", YEARS_NOW.date().isoformat())
    with pytest.raises(CommandError) as failed:
        call_command("archive_to_s3", *as_of)
    said = str(failed.value)
    assert said.startswith(
        f"The archive's lock was lost during the archive run: lock '{archive_lock_key()}' "
        f"{GONE}this run stopped. Archiving stopped before the next step; "
    ), said
    assert said.endswith(" Run this command again: it archives the rest."), said
    assert len(tier.rows()) == 3 * 2 * 365  # no row deleted once the lock was gone

    monkeypatch.undo()
    call_command("archive_to_s3", *as_of)
    assert tier.rows() == []
    assert RetentionRun.objects.filter(operation="archive").latest("pk").status == "ok"
