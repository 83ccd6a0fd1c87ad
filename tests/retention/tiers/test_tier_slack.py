"""The tier policies past the raw one: `enrich_hourly` with a duration drops hourly rows no
daily row holds while "Downsample hourly to daily" is disabled, and `enrich_daily` with one
drops daily rows no archive file holds while "Archive daily aggregates" is disabled or no
archive target is set. Both passed the runs' check and nothing said so: no warning, no alert,
nothing on /retention/alerts or /retention/stats. The alert check opens one alert per tier's
step, as it does the raw policy's, until the step can run again or the policy is INF."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from enrich.influx import get_timeseries, quote_ident
from retention.archive.run import run_archive
from retention.archive.target import ArchiveNotConfigured
from retention.models import Alert, RetentionRun
from retention.stats import alerts
from retention.tiers import runner, safety
from tests.support.api import token_client
from tests.support.ha_silence import (  # noqa: F401  (fixture)
    HA_SILENCE_UNCHECKED,
    ha_silence_unchecked,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb, HA_SILENCE_UNCHECKED]

TASKS = "/admin/django_celery_beat/periodictask/"
HOOK = "/api/webhook/enrich_retention_alerts"


def set_policy(ha_db, name: str, duration: str) -> None:
    db = quote_ident(ha_db.name)
    get_timeseries().execute(None, f"ALTER RETENTION POLICY {name} ON {db} DURATION {duration}")


def switch(admin_client, task: str, action: str) -> None:
    """Disable or enable the task's beat entry as an operator does (admin → Periodic tasks)."""
    entry = PeriodicTask.objects.get(task=task)
    admin_client.post(TASKS, {"action": f"{action}_tasks", "_selected_action": [entry.pk]})


def infinite(ha_db, name: str) -> str:
    return (
        f'INF (ALTER RETENTION POLICY "{name}" ON {quote_ident(ha_db.name)} DURATION INF; '
        "on InfluxDB 2.x the bucket's retention to 'never')"
    )


def hidden(message: str, ha_db) -> str:
    """`message` as the API shows it: without the names of enrich's databases."""
    return message.replace(repr(ha_db.name), "[hidden]").replace(
        quote_ident(ha_db.name), "[hidden]"
    )


@pytest.fixture
def tiers(ha_db, settings, replay_server):
    """Beat entries installed, the tier policies created (INF), alerts sent to the webhook."""
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(HOOK)
    replay_server.add("POST", HOOK, 200, body="")
    call_command("install_schedules")
    safety.ensure_tiers()
    return ha_db


def test_the_hourly_to_daily_entry_disabled_under_a_finite_hourly_policy_is_alerted(
    tiers, admin_client, replay_server
):
    set_policy(tiers, "enrich_hourly", "180d")  # long enough for the runs' check
    assert safety.check_retention_policies() == []
    assert alerts.check_alerts().raised == []
    switch(admin_client, "retention.downsample_daily", "disable")
    warning = (
        f"Retention policy 'enrich_hourly' of {tiers.name!r} (the hourly tier) keeps data "
        "180d, and no hourly -> daily run is scheduled: the beat entry 'Downsample hourly to "
        "daily' is disabled, so InfluxDB drops hourly rows no daily row holds once they are "
        "180d old. Enable the entry again (admin → Periodic tasks), or, to keep it disabled, "
        f"set the policy's duration to {infinite(tiers, 'enrich_hourly')}."
    )

    result = alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert result.raised == [alert.pk] and result.delivered == [alert.pk]
    assert (alert.kind, alert.run, alert.message) == ("hourly_policy_short", None, warning)
    [body] = [r.json() for r in replay_server.calls("POST", HOOK)]
    assert (body["kind"], body["operation"], body["run_id"], body["message"]) == (
        "hourly_policy_short",
        "downsample_daily",
        None,
        warning,
    )
    client = token_client("ops")
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["kind_label"], shown["operation_label"]) == (
        "hourly retention policy too short for paused runs",
        "hourly -> daily",
    )
    stats = client.get("/retention/stats").json()
    assert [a["alert_id"] for a in stats["open_alerts"]] == [alert.pk]
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/delete/", follow=True)
    assert "once the hourly -&gt; daily entry it names is enabled again" in page.content.decode()
    assert alerts.check_alerts().raised == []  # the same incident, delivered once

    switch(admin_client, "retention.downsample_daily", "enable")
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None and len(replay_server.calls("POST", HOOK)) == 1
    set_policy(tiers, "enrich_hourly", "INF")  # nothing dropped, however long it stays off
    switch(admin_client, "retention.downsample_daily", "disable")
    assert alerts.check_alerts().raised == []
    assert not Alert.objects.filter(cleared__isnull=True).exists()


def test_the_archive_disabled_or_without_a_target_under_a_finite_daily_policy_is_alerted(
    tiers, admin_client, settings, tmp_path
):
    settings.S3_ARCHIVE_BUCKET, settings.ARCHIVE_LOCAL_DIR = "", tmp_path
    set_policy(tiers, "enrich_daily", "1000d")
    assert safety.check_retention_policies() == []
    switch(admin_client, "retention.archive", "disable")
    dropped = "so InfluxDB drops daily rows no archive file holds once they are 1000d old."
    inf = infinite(tiers, "enrich_daily")
    said = (
        f"Retention policy 'enrich_daily' of {tiers.name!r} (the daily tier) keeps data 1000d, and"
    )

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.message) == (
        "daily_policy_short",
        f"{said} no archive run is scheduled: the beat entry 'Archive daily aggregates' is "
        f"disabled, {dropped} Enable the entry again (admin → Periodic tasks), or, to keep it "
        f"disabled, set the policy's duration to {inf}.",
    )
    [shown] = token_client("ops").get("/retention/alerts").json()["open"]
    assert (shown["kind_label"], shown["operation_type"], shown["operation_label"]) == (
        "daily retention policy too short for a paused or unset archive",
        "archive",
        "archive",
    )
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/delete/", follow=True)
    assert "once the archive can run again (the entry it names enabled, an archive target set)" in (
        page.content.decode()
    )

    switch(admin_client, "retention.archive", "enable")
    settings.ARCHIVE_LOCAL_DIR = None  # every archive run refuses: the rows wait in vain
    assert alerts.check_alerts().raised == []  # the same alert says what holds now
    alert.refresh_from_db()
    assert alert.cleared is None
    assert alert.message == (
        f"{said} no archive run can keep them: no archive target is set (neither "
        f"S3_ARCHIVE_BUCKET nor ARCHIVE_LOCAL_DIR) and every run refuses, {dropped} Set "
        "S3_ARCHIVE_BUCKET or ARCHIVE_LOCAL_DIR, or, to keep none, set the policy's duration "
        f"to {inf}."
    )
    settings.ARCHIVE_LOCAL_DIR = tmp_path
    alerts.check_alerts()
    alert.refresh_from_db()
    assert alert.cleared is not None


def test_each_tier_has_its_own_alert_and_the_raw_one_is_kept(tiers, admin_client, settings):
    settings.ARCHIVE_LOCAL_DIR = None
    set_policy(tiers, "autogen", "30d")
    set_policy(tiers, "enrich_hourly", "180d")
    set_policy(tiers, "enrich_daily", "1000d")
    switch(admin_client, "retention.downsample_hourly", "disable")

    alerts.check_alerts()

    kinds = sorted(Alert.objects.filter(cleared__isnull=True).values_list("kind", flat=True))
    assert kinds == ["daily_policy_short", "raw_policy_short"]
    raw = Alert.objects.get(kind="raw_policy_short")
    assert "no raw -> hourly run is scheduled" in raw.message
    assert "(Home Assistant's raw data) keeps data 30d" in raw.message


def test_a_raw_policy_the_runs_would_refuse_is_alerted_while_no_run_is_scheduled(
    tiers, admin_client
):
    """8 days is below the raw policy's hard minimum: a run refuses it, and its failure is
    alerted. With "Downsample raw to hourly" disabled no run is there to refuse, and InfluxDB
    drops the raw points at 8 days: the warning said nothing, as it did for a longer one."""
    set_policy(tiers, "autogen", "8d")
    switch(admin_client, "retention.downsample_hourly", "disable")

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert alert.kind == "raw_policy_short"
    assert "keeps data 8d, and no raw -> hourly run is scheduled" in alert.message


def test_the_hourly_to_daily_run_notes_the_hourly_policy_warning_as_the_alert_says_it(
    tiers, admin_client, capsys
):
    """The raw -> hourly run noted its policy's warnings in its record; a run of hourly ->
    daily queued by hand while its entry is disabled said nothing of the hourly policy that
    drops its rows: only the alert did."""
    set_policy(tiers, "enrich_hourly", "180d")
    switch(admin_client, "retention.downsample_daily", "disable")

    run = runner.downsample_daily()

    [alert] = Alert.objects.filter(cleared__isnull=True)
    assert (run.status, alert.kind) == ("ok", "hourly_policy_short")
    assert run.details["warnings"] == [alert.message]
    assert f"; {alert.message}; " in runner.summary(run)
    shown = token_client("ops").get(f"/retention/runs/{run.pk}").json()
    assert shown["details"]["warnings"] == [hidden(alert.message, tiers)]
    page = admin_client.get(f"/admin/retention/retentionrun/{run.pk}/change/").content.decode()
    assert "no hourly -&gt; daily run is scheduled" in page
    dry = runner.downsample_daily(dry_run=True)
    assert dry.details["warnings"] == [alert.message]
    call_command("downsample_daily", "--dry-run")
    assert capsys.readouterr().out.count(alert.message) == 1

    set_policy(tiers, "enrich_hourly", "INF")
    again = runner.downsample_daily()
    assert "warnings" not in again.details
    alert.refresh_from_db()
    assert alert.cleared is not None  # the run cleared it, as the raw -> hourly run does


def test_the_archive_run_notes_the_daily_policy_warning_also_when_it_refuses(
    tiers, admin_client, settings, tmp_path, capsys
):
    settings.S3_ARCHIVE_BUCKET, settings.ARCHIVE_LOCAL_DIR = "", tmp_path
    set_policy(tiers, "enrich_daily", "1000d")
    switch(admin_client, "retention.archive", "disable")

    report = run_archive()

    run = RetentionRun.objects.get(pk=report.run_id)
    [alert] = Alert.objects.filter(cleared__isnull=True)
    assert (run.status, alert.kind) == ("ok", "daily_policy_short")
    assert "no archive run is scheduled" in alert.message
    assert run.details["warnings"] == report.warnings == [alert.message]
    shown = token_client("ops").get(f"/retention/runs/{run.pk}").json()
    assert shown["details"]["warnings"] == [hidden(alert.message, tiers)]
    call_command("archive_to_s3", "--dry-run")
    assert capsys.readouterr().err.count(f"warning: {alert.message}") == 1

    switch(admin_client, "retention.archive", "enable")
    settings.ARCHIVE_LOCAL_DIR = None  # every run refuses: the rows wait in vain
    with pytest.raises(ArchiveNotConfigured):
        run_archive()
    refused = RetentionRun.objects.filter(operation="archive").order_by("pk").last()
    alert.refresh_from_db()
    assert refused.status == "failed" and "no archive target is set" in alert.message
    assert refused.details["warnings"] == [alert.message]
