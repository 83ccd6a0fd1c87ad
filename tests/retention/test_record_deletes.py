"""Deleting the records of what the system did in the admin (retention.admin_records): rows the
system still works from stay, and the user is told why; the others may go."""

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from retention.archive import source as archive_source
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.models import Alert, ArchiveObject, RetentionRun, TierChunk
from retention.stats.alerts import detect, open_alerts
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support.admin_deletes import admin_url, delete_in_the_admin, delete_selected
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def test_a_tier_chunk_cannot_be_deleted(ha_db, admin_client, settings):
    # Deleted, the day's chunk no longer said the day was done: the next run wrote the day's
    # hourly rows again from the one late point left in raw (the kettle at 2000 W from 05:30
    # to midnight instead of 20 W), and failed the day's check every night after.
    settings.REDIS_KEY_PREFIX = f"test-chunks-{uuid.uuid4().hex[:8]}"  # the tier's lock
    kettle = ha_db.saved_entity("official", "sensor.kettle_power", [(0, 10), (3 * 3600, 20)],
                                unit="W")  # fmt: skip
    assert tiers.downsample_hourly(T0.date(), T0.date() + DAY).status == "ok"
    chunk = TierChunk.objects.get()
    page = admin_client.get(admin_url(chunk, "change"))
    assert page.context["has_delete_permission"] is False  # no Delete button
    page = admin_client.get(reverse("admin:retention_tierchunk_changelist"))
    assert b'value="delete_selected"' not in page.content
    said = delete_in_the_admin(admin_client, chunk)
    assert said[0].startswith(f"{chunk} cannot be deleted: it is where the tier's day is")
    ha_db.write_entity("official", "sensor.kettle_power", [(5.5 * 3600, 2000)], unit="W")
    run = tiers.downsample_hourly(T0.date(), T0.date() + DAY)
    assert (run.status, run.details["late_points"]) == ("ok", 1), run.errors
    rows = {
        row.start: row.fields
        for row in read_rows(HOURLY_RP, T0, T0 + DAY, kettle.entity_id)[kettle.entity_id]
    }
    assert rows[T0 + 6 * HOUR]["avg_value"] == 20  # the kettle's history as it was
    assert rows[T0 + 5 * HOUR]["max_value"] == 2000  # the late point folded in


NOW = datetime(2026, 3, 15, tzinfo=UTC)  # 2022 is a closed year


def test_an_archived_files_row_stays_while_the_file_is_the_only_copy(
    tier, local_archive, admin_client
):
    # Deleted, restore found nothing for the file's days: it finds files only through these
    # rows, and the days' daily rows had left InfluxDB.
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    run_archive(NOW)
    obj = ArchiveObject.objects.get()
    assert obj.source_deleted and tier.rows() == []
    said = delete_in_the_admin(admin_client, obj)
    assert said == [
        f"{obj.key} cannot be deleted: restore finds {obj.key} only through this row, and the "
        f"file is the only copy of its days (their daily rows left InfluxDB on "
        f"{obj.source_deleted:%Y-%m-%d}); without the row restore finds nothing there and the "
        "file never expires. A row whose file is gone from the store or damaged may be "
        "deleted, to archive the range again."
    ]
    assert delete_selected(admin_client, ArchiveObject, obj)[0].startswith("Nothing was deleted. ")
    assert restore_from_archive(date(2022, 6, 1), date(2022, 6, 1)).num_rows == 2
    # The file gone from the store: nothing to reach through the row, which may go (the
    # archive run says to delete it, to archive the range again).
    get_storage().delete(obj.key)
    assert delete_in_the_admin(admin_client, obj)[0].startswith("The archive object")
    assert not ArchiveObject.objects.exists()


def test_runs_the_alerts_and_the_stats_read_stay(admin_client):
    # A failed run deleted before the alert check (every 5 minutes) raised no alert: the
    # failure vanished. A running run, or a downsample that deleted raw points (the stats
    # page's "raw points removed"), went as well.
    now = datetime.now(UTC)
    run = RetentionRun.objects.create
    failed = run(operation="archive", status="failed", started=now - HOUR, errors="S3 refused")
    running = run(
        operation="view_refresh", status="running", started=now, details={"queued_by": "admin"}
    )  # queued: no worker took it yet
    hourly = run(operation="downsample_hourly", status="ok", started=now - DAY, records_deleted=5)
    refresh = run(operation="view_refresh", status="ok", started=now - DAY)
    said = delete_selected(admin_client, RetentionRun, failed, running, hourly, refresh)
    assert said[0].startswith("Nothing was deleted. ")
    for reason in ("its failure is not over (no archive run ended ok since)",
                   "it is running or queued", "'raw points removed' counts the raw points"):  # fmt: skip
        assert reason in said[0], reason
    assert delete_in_the_admin(admin_client, failed)[0].startswith(f"{failed} cannot be deleted")
    assert [a.run_id for a in detect(now)] == [failed.pk]
    assert delete_selected(admin_client, RetentionRun, refresh)[0].startswith(
        "Successfully deleted 1 "
    )
    # Once a later archive run ended ok, the failure is history and may go, alert and all.
    run(operation="archive", status="ok", started=now)
    assert delete_in_the_admin(admin_client, failed)[0].startswith("The retention run")
    assert not Alert.objects.exists()


def test_an_alert_the_next_check_would_raise_again_stays(admin_client):
    # Deleted to dismiss it, the failed run's alert was raised again by the next check (every
    # 5 minutes) and sent to the webhook again.
    call_command("install_schedules")
    now = datetime.now(UTC)
    failed = RetentionRun.objects.create(operation="archive", status="failed",
                                         started=now - HOUR, errors="S3 refused")  # fmt: skip
    [alert] = detect(now)
    said = delete_in_the_admin(admin_client, alert)
    assert said[0].startswith(f"{alert} cannot be deleted: the alert check (every 5 minutes) "
                              "would raise it again")  # fmt: skip
    assert detect(now) == [] and Alert.objects.get() == alert
    # Once its run is older than the check looks back, deleting it is final.
    RetentionRun.objects.filter(pk=failed.pk).update(started=now - 8 * DAY)
    assert delete_selected(admin_client, Alert, alert)[0].startswith("Successfully deleted 1 ")
    assert detect(now) == []


def test_an_alert_kept_names_the_checks_cadence_as_its_beat_entry_runs_it(admin_client):
    # The alert check's entry edited in the admin to every 10 minutes, or disabled: the
    # admin still said "(every 5 minutes)".
    call_command("install_schedules")
    now = datetime.now(UTC)
    RetentionRun.objects.create(operation="archive", status="failed", started=now - HOUR)
    [alert] = detect(now)
    entry = PeriodicTask.objects.get(task="retention.check_alerts")
    entry.interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    entry.save()
    said = delete_in_the_admin(admin_client, alert)
    assert said[0].startswith(f"{alert} cannot be deleted: the alert check (every 10 minutes) "
                              "would raise it again")  # fmt: skip
    PeriodicTask.objects.filter(pk=entry.pk).update(enabled=False)
    said = delete_in_the_admin(admin_client, alert)
    assert said[0].startswith(f"{alert} cannot be deleted: the alert check (no enabled beat "
                              "entry runs it now) would raise it again")  # fmt: skip
    assert Alert.objects.get() == alert


def test_a_failed_run_whose_alert_is_still_open_stays(admin_client):
    """The admin kept a failed run until any later run of its operation ended ok, while the
    alerts keep its incident open until a run that makes it good did (the same view's refresh,
    a restore or rebuild covering its days): a failed refresh of one view, followed by the next
    view's refresh as the task runs them, or a failed March restore followed by a May one, could
    be deleted, and its open alert went with it, from the alerts and the stats page."""
    now = datetime.now(UTC)
    run = RetentionRun.objects.create

    def day(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    energy = run(operation="view_refresh", status="failed", started=now - HOUR, errors="down",
                 details={"view": "daily_energy_by_device", "mode": "incremental"})  # fmt: skip
    march = run(operation="restore", status="failed", started=now - HOUR, errors="down",
                range_start=day("2024-03-01"), range_end=day("2024-03-31"))  # fmt: skip
    detect(now)
    run(operation="view_refresh", status="ok", started=now - HOUR + timedelta(minutes=1),
        details={"view": "hourly_room_activity", "mode": "incremental"})  # fmt: skip
    run(operation="restore", status="ok", started=now - HOUR + timedelta(minutes=2),
        range_start=day("2024-05-01"), range_end=day("2024-05-31"))  # fmt: skip
    assert {a.run_id for a in open_alerts()} == {energy.pk, march.pk}
    said = delete_selected(admin_client, RetentionRun, energy, march)
    assert said[0].startswith("Nothing was deleted. ") and "its failure is not over" in said[0]
    assert {a.run_id for a in open_alerts()} == {energy.pk, march.pk}
    # Made good: the same view refreshed, a restore covering March; then they may go.
    run(operation="view_refresh", status="ok", started=now,
        details={"view": "daily_energy_by_device", "mode": "incremental"})  # fmt: skip
    run(operation="restore", status="ok", started=now,
        range_start=day("2024-02-01"), range_end=day("2024-04-30"))  # fmt: skip
    assert list(open_alerts()) == []
    assert delete_selected(admin_client, RetentionRun, energy, march)[0].startswith(
        "Successfully deleted 2 "
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("delete", ["row's page", "delete selected"])
def test_a_row_the_archive_run_makes_the_only_copy_while_it_is_deleted_stays(
    tier, local_archive, admin_client, monkeypatch, delete
):
    # The admin checked the row before the run had deleted the file's daily rows (the row then
    # could go), and its delete waited for the run's lock on the row, held while InfluxDB read
    # and deleted them; then it went through: the file became the only copy of its days with
    # no row to restore it from. The run marks the row before it deletes the days: a delete
    # confirmed meanwhile is refused, while InfluxDB still deletes.
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    deleting, go_on = threading.Event(), threading.Event()
    delete_source = archive_source.delete_source

    def held(*args):  # the run deleting the daily rows
        deleting.set()
        assert go_on.wait(timeout=30)
        return delete_source(*args)

    monkeypatch.setattr(archive_source, "delete_source", held)
    run = threading.Thread(target=run_archive, args=(NOW,))
    run.start()
    try:
        assert deleting.wait(timeout=60)
        obj = ArchiveObject.objects.get()
        assert obj.source_deleted is not None  # as the admin reads it while the run deletes
        if delete == "row's page":
            said = delete_in_the_admin(admin_client, obj)
        else:
            said = delete_selected(admin_client, ArchiveObject, obj)
        assert tier.rows()  # refused before the run's delete went on
    finally:
        go_on.set()
        run.join(timeout=60)
    obj.refresh_from_db()  # still there
    assert obj.source_deleted and tier.rows() == []
    assert said and f"{obj.key}" in said[0] and "only copy of its days" in said[0], said
    assert restore_from_archive(date(2022, 6, 1), date(2022, 6, 1)).num_rows == 2
