"""Home Assistant's raw retention policy past its hard minimum but short of a week of failed
nightly runs. With RETENTION_RAW_DAYS=7 a 9-day policy passed silently: two nights in a row of
a raw -> hourly run failing (InfluxDB down, a lock held past the retries) let InfluxDB drop raw
points no hourly row held. Refusing it would refuse every run (and the policy would drop
everything untiered), so the run goes on and says so: in its record and summary, in its dry
run, and by an alert that is cleared once the policy is lengthened."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from enrich.influx import get_timeseries, quote_ident
from retention.entities.ha_source import count_samples
from retention.models import Alert
from retention.stats import alerts
from retention.tiers import runner as tiers
from retention.tiers import safety, slack
from tests.retention.conftest import T0
from tests.support.api import token_client
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("ha_silence_unchecked"),
]

DAY = timedelta(days=1)
D0 = T0.date()


def set_raw_policy(ha_db, duration: str) -> None:
    db = quote_ident(ha_db.name)
    get_timeseries().execute(None, f"ALTER RETENTION POLICY autogen ON {db} DURATION {duration}")


def said(ha_db, duration: str, nights: str) -> str:
    """The warning for a raw policy of `duration` (RETENTION_RAW_DAYS=7, 2 h late margin)."""
    return (
        f"Retention policy 'autogen' of {ha_db.name!r} (Home Assistant's raw data) keeps data "
        f"{duration}: enough while every nightly raw -> hourly run succeeds, but {nights} "
        "(InfluxDB down, another run holding the tier's lock past its retries) let"
        f"{'s' if nights.startswith('1 ') else ''} InfluxDB drop raw points before an hourly "
        f'row holds them. Set its duration to INF (ALTER RETENTION POLICY "autogen" ON '
        f"{quote_ident(ha_db.name)} DURATION INF; on InfluxDB 2.x the bucket's retention to "
        "'never') or to at least 16d to allow for 7 failed nights."
    )


@pytest.mark.parametrize(
    ("duration", "nights"),
    [("9d", "1 failed night"), ("10d", "2 failed nights in a row"),
     ("360h", "7 failed nights in a row")],
)  # fmt: skip
def test_a_raw_policy_short_of_a_week_of_failed_nights_is_a_warning_not_a_refusal(
    ha_db, duration, nights
):
    set_raw_policy(ha_db, duration)
    assert safety.check_retention_policies() == []  # the run goes on
    shown = "15d" if duration == "360h" else duration
    assert slack.check_raw_slack() == [said(ha_db, shown, nights)]


@pytest.mark.parametrize("duration", ["16d", "INF", "8d"])
def test_a_week_of_slack_an_infinite_policy_or_a_refused_one_gives_no_warning(ha_db, duration):
    set_raw_policy(ha_db, duration)
    assert slack.check_raw_slack() == []
    assert bool(safety.check_retention_policies()) == (duration == "8d")  # refused instead


def test_the_run_warns_in_its_record_and_summary_and_opens_an_alert_until_lengthened(
    ha_db, settings
):
    settings.ALERT_WEBHOOK_URL = ""
    # Its points are of 2024: Home Assistant silent since is not this test's (test_ha_silent.py).
    settings.HA_SILENT_HOURS = 0
    entity = ha_db.saved_entity("official", "sensor.oven_power", [(0, 1500), (600, 0)], unit="W")
    set_raw_policy(ha_db, "9d")
    warning = said(ha_db, "9d", "1 failed night")

    run = tiers.downsample_hourly(D0, D0 + DAY)

    assert run.status == "ok" and run.records_deleted == 2  # it went on as before
    assert count_samples(entity, T0, T0 + DAY) == 0
    run.refresh_from_db()
    assert run.details["warnings"] == [warning]
    assert f"; {warning}; " in tiers.summary(run)
    [alert] = Alert.objects.all()
    assert (alert.kind, alert.run, alert.message, alert.cleared) == (
        "raw_policy_short",
        None,
        warning,
        None,
    )
    client = token_client("ops")
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["alert_id"], shown["kind"], shown["operation_type"]) == (
        alert.pk,
        "raw_policy_short",
        "downsample_hourly",
    )
    assert (shown["kind_label"], shown["operation_label"]) == (
        "raw retention policy too short for failed or paused runs",
        "raw -> hourly",
    )
    stats = client.get("/retention/stats").json()
    assert [a["alert_id"] for a in stats["open_alerts"]] == [alert.pk]
    assert alerts.check_alerts().raised == []  # the same incident, not a second alert

    set_raw_policy(ha_db, "10d")  # longer, still short: the same alert says so
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.cleared is None
    assert alert.message == said(ha_db, "10d", "2 failed nights in a row")

    set_raw_policy(ha_db, "INF")
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None
    listed = client.get("/retention/alerts").json()
    assert listed["open"] == []
    assert [(a["alert_id"], a["cleared"] is not None) for a in listed["history"]] == [
        (alert.pk, True)
    ]
    again = tiers.downsample_hourly(D0, D0 + DAY)
    assert "warnings" not in again.details and warning not in tiers.summary(again)


def test_the_alert_check_opens_it_without_a_run_and_delivers_it(ha_db, settings, replay_server):
    hook = "/api/webhook/enrich_retention_alerts"
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(hook)
    replay_server.add("POST", hook, 200, body="")
    set_raw_policy(ha_db, "10d")

    result = alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert result.raised == [alert.pk] and result.delivered == [alert.pk]
    [body] = [r.json() for r in replay_server.calls("POST", hook)]
    assert (body["kind"], body["operation"], body["run_id"], body["message"]) == (
        "raw_policy_short",
        "downsample_hourly",
        None,
        said(ha_db, "10d", "2 failed nights in a row"),
    )
    set_raw_policy(ha_db, "16d")
    alerts.check_alerts()
    alert.refresh_from_db()
    assert alert.cleared is not None and len(replay_server.calls("POST", hook)) == 1


def test_the_dry_run_and_the_command_say_it(ha_db, capsys):
    ha_db.saved_entity("official", "sensor.toaster_power", [(0, 800), (120, 0)], unit="W")
    set_raw_policy(ha_db, "9d")
    warning = said(ha_db, "9d", "1 failed night")

    dry = tiers.downsample_hourly(D0, D0 + DAY, dry_run=True)

    assert dry.status == "dry_run" and dry.details["warnings"] == [warning]
    assert warning in tiers.summary(dry)
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY), "--dry-run")
    assert capsys.readouterr().out.count(warning) == 1
    assert Alert.objects.get(kind="raw_policy_short", cleared__isnull=True).message == warning


def test_the_admin_says_why_the_open_alert_cannot_be_deleted(ha_db, admin_client):
    call_command("install_schedules")
    set_raw_policy(ha_db, "9d")
    alerts.check_alerts()
    alert = Alert.objects.get(kind="raw_policy_short")
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/delete/", follow=True)
    text = page.content.decode()
    assert "the alert check (every 5 minutes) would raise it again" in text
    assert "once the retention policy of Home Assistant&#x27;s raw data is lengthened" in text


def test_the_raw_to_hourly_entry_disabled_in_the_admin_opens_the_alert_until_enabled(
    ha_db, admin_client
):
    """An operator pauses "Downsample raw to hourly" (admin → Periodic tasks, as the Schedules
    section offers) under a raw policy with a week of slack: no run takes the raw points, and
    InfluxDB drops them once they are 30 days old, no hourly row holding them. Nothing said
    so: the check found the policy long enough for failed nights and stayed silent."""
    call_command("install_schedules")
    set_raw_policy(ha_db, "30d")
    assert slack.check_raw_slack() == [] and alerts.check_alerts().raised == []
    entry = PeriodicTask.objects.get(task="retention.downsample_hourly")
    tasks = "/admin/django_celery_beat/periodictask/"
    admin_client.post(tasks, {"action": "disable_tasks", "_selected_action": [entry.pk]})
    warning = (
        f"Retention policy 'autogen' of {ha_db.name!r} (Home Assistant's raw data) keeps data "
        "30d, and no raw -> hourly run is scheduled: the beat entry 'Downsample raw to hourly' "
        "is disabled, so InfluxDB drops raw points no hourly row holds once they are 30d old. "
        "Enable the entry again (admin → Periodic tasks), or, to keep it disabled, set the "
        f'policy\'s duration to INF (ALTER RETENTION POLICY "autogen" ON {quote_ident(ha_db.name)}'
        " DURATION INF; on InfluxDB 2.x the bucket's retention to 'never')."
    )

    result = alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert result.raised == [alert.pk]
    assert (alert.kind, alert.message, alert.cleared) == ("raw_policy_short", warning, None)
    [shown] = token_client("ops").get("/retention/alerts").json()["open"]
    assert shown["kind_label"] == "raw retention policy too short for failed or paused runs"
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/delete/", follow=True)
    assert "or once the raw -&gt; hourly entry it names is enabled again" in page.content.decode()
    admin_client.post(tasks, {"action": "enable_tasks", "_selected_action": [entry.pk]})
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None
    set_raw_policy(ha_db, "INF")  # nothing is dropped, however long the entry stays disabled
    admin_client.post(tasks, {"action": "disable_tasks", "_selected_action": [entry.pk]})
    assert slack.check_raw_slack() == [] and alerts.check_alerts().raised == []
