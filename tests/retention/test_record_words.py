"""The retention records as the admin names them (a run in the alerts' list, an alert or a run
in a message, when an entity left Home Assistant): by the labels the lists and filters use, at
the time the lists show."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from retention.models import Alert, ArchiveObject, Entity, RetentionRun
from tests.support.admin_deletes import delete_in_the_admin

pytestmark = pytest.mark.django_db


def test_an_alert_and_its_run_are_named_as_the_lists_label_them(admin_client, settings):
    # The alerts' list read "archive failed 2026-03-01 07:00" in its run column (the
    # operation's id, the time in UTC) beside "archive" in its operation column and
    # 08:00 in the runs' list; a message named the alert "failed alert 4".
    settings.TIME_ZONE = "Europe/Berlin"
    started = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    run = RetentionRun.objects.create(operation="archive", status="failed", started=started)
    alert = Alert.objects.create(run=run, kind="failed", message="S3 refused")
    assert str(run) == "archive · failed · 2026-03-01 08:00"
    assert str(alert) == f"operation failed (alert {alert.pk})"
    page = admin_client.get(reverse("admin:retention_alert_changelist")).content.decode()
    assert '<td class="field-run nowrap">archive · failed · 2026-03-01 08:00</td>' in page


def test_the_day_an_entity_left_home_assistant_is_the_admins_day(admin_client, settings):
    # The list said "since 2026-05-01" (the UTC date) where the entity's page says it was
    # found gone on April 30, 9:30 p.m. (America/New_York).
    settings.TIME_ZONE = "America/New_York"
    Entity.objects.create(entity_id="sensor.old_plug_power", kind="power", layout="official",
                          measurement="W", gone_from_ha=datetime(2026, 5, 1, 1, 30, tzinfo=UTC))  # fmt: skip
    page = admin_client.get(reverse("admin:retention_entity_changelist")).content.decode()
    assert '<td class="field-in_home_assistant">no longer (since 2026-04-30)</td>' in page


def test_the_day_an_archived_files_days_left_influxdb_is_the_admins_day(admin_client, settings):
    # Why the row cannot be deleted said "their daily rows left InfluxDB on 2026-03-01" (the
    # UTC date) where the row's page says March 2, 12:30 a.m. (Europe/Berlin).
    settings.TIME_ZONE = "Europe/Berlin"
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    obj = ArchiveObject.objects.create(key="archives/2022/data_2022-01-01.parquet",
                                       target="local", bucket="/elsewhere",
                                       start_date=date(2022, 1, 1), end_date=date(2022, 12, 31),
                                       record_count=730, file_size=4096, checksum="0" * 64,
                                       compression="zstd", created=moment, verified=moment,
                                       source_deleted=moment)  # fmt: skip
    said = delete_in_the_admin(admin_client, obj)[0]
    assert "(their daily rows left InfluxDB on 2026-03-02)" in said, said


def test_an_archive_objects_size_is_headed_by_the_unit_it_is_counted_in(admin_client):
    # "Size (KB)" over 2.0 for a file of 2048 bytes: KiB, as the status page writes sizes.
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    ArchiveObject.objects.create(key="archives/2022/data_2022-01-01.parquet", target="local",
                                 start_date=date(2022, 1, 1), end_date=date(2022, 12, 31),
                                 record_count=730, file_size=2048, checksum="0" * 64,
                                 compression="zstd", created=moment)  # fmt: skip
    page = admin_client.get(reverse("admin:retention_archiveobject_changelist"))
    headings = [str(column["text"]) for column in page.context["result_headers"]]
    assert "size (KiB)" in headings and "size (KB)" not in headings, headings
    assert '<td class="field-size_kib">2.0</td>' in page.content.decode()


def filters(page) -> dict[str, list[str]]:
    cl = page.context["cl"]
    return {
        str(spec.title): [str(c["display"]) for c in spec.choices(cl)] for spec in cl.filter_specs
    }


def test_the_filters_on_a_time_being_set_say_yes_or_no(admin_client):
    # "By sent: Empty / Not empty" beside the column "delivered to webhook"; "By expired:
    # Empty" for the files not expired.
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    run = RetentionRun.objects.create(operation="archive", status="failed", started=moment)
    sent = Alert.objects.create(run=run, kind="failed", message="S3 refused", sent=moment)
    Alert.objects.create(run=run, kind="overrun", message="late")
    url = reverse("admin:retention_alert_changelist")
    page = admin_client.get(url)
    assert filters(page)["delivered to webhook"] == ["All", "yes", "no"]
    assert list(admin_client.get(url, {"sent": "yes"}).context["cl"].result_list) == [sent]
    expired = ArchiveObject.objects.create(key="archives/2020/data_2020-01-01.parquet",
                                           target="local", start_date=date(2020, 1, 1),
                                           end_date=date(2020, 12, 31), record_count=1,
                                           file_size=1, checksum="0" * 64, compression="zstd",
                                           created=moment, expired=moment)  # fmt: skip
    url = reverse("admin:retention_archiveobject_changelist")
    said = filters(admin_client.get(url))
    assert (said["expired"], said["daily rows left InfluxDB"]) == (["All", "yes", "no"],) * 2
    assert list(admin_client.get(url, {"expired": "yes"}).context["cl"].result_list) == [expired]
    assert list(admin_client.get(url, {"source_deleted": "yes"}).context["cl"].result_list) == []


def test_the_runs_list_names_the_view_each_refresh_ran_for(admin_client):
    # A first `refresh_views` listed three rows alike, "materialized view refresh", where the
    # status page names each view, with durations of 17 digits (0.05427872500013109).
    started = datetime(2026, 12, 6, 13, 54, tzinfo=UTC)
    for view, seconds in (("daily_energy_by_device", 1.0719980840001426),
                          ("hourly_room_activity", 0.05427872500013109)):  # fmt: skip
        RetentionRun.objects.create(operation="view_refresh", status="ok", started=started,
                                    duration_seconds=seconds, details={"view": view})  # fmt: skip
    RetentionRun.objects.create(operation="downsample_hourly", status="dry_run", started=started)
    page = admin_client.get(reverse("admin:retention_retentionrun_changelist")).content.decode()
    for shown in ("materialized view refresh (daily_energy_by_device)</td>",
                  "materialized view refresh (hourly_room_activity)</td>",
                  ">raw -&gt; hourly</td>", ">1.07</td>", ">0.05</td>"):  # fmt: skip
        assert shown in page
    assert "0.0542787" not in page
