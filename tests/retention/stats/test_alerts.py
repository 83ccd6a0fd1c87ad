"""Alerts for failed and overrunning retention runs: recorded, logged at ERROR, shown in stats
and the admin, and POSTed once per incident to a webhook (a local receiver here)."""

import logging
import threading
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from celery import current_app
from django.db import connection

from retention import lost
from retention.models import Alert, RetentionRun
from retention.stats import alerts
from tests.support.api import token_client
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)
from tests.support.webhook import HOOK, posts, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ha_silence_unchecked")]

Op, Status = RetentionRun.Operation, RetentionRun.Status


@pytest.fixture
def alive_run():
    """`alive_run(**fields)`: a run recorded running whose process works on it, as one that
    hangs does: it shows it is alive (retention.liveness) until the test ends."""
    from retention import liveness

    with ExitStack() as stack:
        yield lambda **fields: stack.enter_context(liveness.alive(RetentionRun(**fields)))


def failed_run(**fields) -> RetentionRun:
    started = datetime.now(UTC) - timedelta(minutes=10)
    defaults = {
        "operation": Op.DOWNSAMPLE_HOURLY,
        "status": Status.FAILED,
        "started": started,
        "finished": started + timedelta(seconds=95),
        "duration_seconds": 95.0,
        "errors": "InfluxDB at http://127.0.0.1:8186 did not answer within 30 s",
    }
    return RetentionRun.objects.create(**{**defaults, **fields})


def test_a_failed_run_is_alerted_once_logged_recorded_and_posted(webhook, caplog):
    webhook.add("POST", HOOK, 200, body="")
    run = failed_run()

    with caplog.at_level(logging.ERROR, logger="retention.stats.alerts"):
        first = alerts.check_alerts()
    second = alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert (alert.run_id, alert.kind) == (run.pk, Alert.Kind.FAILED)
    assert first.raised == [alert.pk] and first.delivered == [alert.pk]
    assert second.raised == [] and second.delivered == []
    # The operation in the admin's words: it said "Retention operation downsample_hourly".
    assert alert.message.startswith(f"Retention operation raw -> hourly (run {run.pk}, started ")
    assert "downsample_hourly" not in alert.message
    assert "did not answer within 30 s" in alert.message
    assert alert.sent is not None and alert.delivery_error == ""
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"retention alert {alert.pk} (failed): {alert.message}"
    ]
    [body] = posts(webhook)
    assert body == {
        "source": "enrich",
        "alert_id": alert.pk,
        "kind": "failed",
        "operation": "downsample_hourly",
        "status": "failed",
        "message": alert.message,
        "run_id": run.pk,
        "started": run.started.isoformat().replace("+00:00", "Z"),
        "duration_seconds": 95.0,
        "alert_created": alert.created.isoformat().replace("+00:00", "Z"),
    }


def test_a_long_error_is_shortened_in_its_own_text_not_in_the_sentences_after_it(webhook):
    """The message kept the first 500 characters of the run's errors, so a long error text (a
    connection error with its URL, query and connection pool) crowded out the sentences after
    it: what the run did not do and what comes next. The error's own text is cut in its middle
    (its start says where, its end why); the sentences after it reach the webhook whole."""
    webhook.add("POST", HOOK, 200, body="")
    query = "+".join(["SELECT+MEAN(value)+FROM+W+WHERE+entity_id%3D%27sensor.pump%27"] * 12)
    where = "InfluxDB became unreachable: Cannot reach InfluxDB at http://homeassistant.local:8086"
    then = (
        "Nothing was deleted for a day whose rows were not verified; the run was tried again "
        "until its retries were spent (details.retries); the next run resumes where it stopped."
    )
    run = failed_run(
        errors=f"{where} while querying 'homeassistant': ConnectionError: HTTPConnectionPool("
        f"host='homeassistant.local', port=8086): Max retries exceeded with url: /query?q={query}"
        " (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] "
        f"Connection refused')). Check INFLUXDB_URL and that influxd is running. {then}"
    )
    alerts.check_alerts()
    [body] = posts(webhook)
    message = body["message"]
    assert f"{where} while querying 'homeassistant'" in message, message
    assert "[Errno 111] Connection refused')). Check INFLUXDB_URL" in message, message
    assert f"{then} Retention steps are idempotent" in message, message
    assert len(run.errors) > 1000 and len(message) < 1100, message  # the middle of the URL left out
    assert query not in message and Alert.objects.get().message == message


def test_a_run_exceeding_the_duration_limit_is_alerted_while_it_runs(webhook, settings, alive_run):
    settings.ALERT_MAX_DURATION_SECONDS = 60  # test-shortened from 2 hours
    webhook.add("POST", HOOK, 200, body="")
    now = datetime.now(UTC)
    stuck = alive_run(
        operation=Op.ARCHIVE, status=Status.RUNNING, started=now - timedelta(seconds=150)
    )
    alive_run(  # running, but within the limit
        operation=Op.VIEW_REFRESH, status=Status.RUNNING, started=now - timedelta(seconds=30)
    )
    slow_but_done = RetentionRun.objects.create(  # finished between two checks, too slowly
        operation=Op.RESTORE, status=Status.OK, started=now - timedelta(minutes=30),
        duration_seconds=75.0, finished=now - timedelta(minutes=28, seconds=45),
    )  # fmt: skip

    alerts.check_alerts()
    alerts.check_alerts()

    raised = {a.run_id: a for a in Alert.objects.all()}
    assert set(raised) == {stuck.pk, slow_but_done.pk}
    assert {a.kind for a in raised.values()} == {Alert.Kind.OVERRUN}
    assert raised[stuck.pk].message.startswith(f"Retention operation archive (run {stuck.pk}")
    assert "has been running for 2 min" in raised[stuck.pk].message
    assert "ALERT_MAX_DURATION_SECONDS=60" in raised[stuck.pk].message
    assert "ran for 1 min, longer than" in raised[slow_but_done.pk].message
    assert "It finished with status: ok." in raised[slow_but_done.pk].message
    bodies = {b["run_id"]: b for b in posts(webhook)}
    assert len(posts(webhook)) == 2
    assert bodies[stuck.pk]["status"] == "running"
    assert bodies[stuck.pk]["duration_seconds"] >= 150
    assert bodies[slow_but_done.pk]["duration_seconds"] == 75.0


def test_an_overrun_says_what_happened_to_a_run_a_command_ran_or_a_worker_runs(settings):
    """A command's run that finished ok, too slowly, was said to be on a worker that "may be
    stuck"; it is neither."""
    settings.ALERT_MAX_DURATION_SECONDS = 60
    now = datetime.now(UTC)
    by_command = RetentionRun.objects.create(
        operation=Op.DOWNSAMPLE_HOURLY, status=Status.OK, started=now - timedelta(minutes=5),
        duration_seconds=130.0, finished=now - timedelta(minutes=3),
    )  # fmt: skip
    message = alerts.overrun_message(by_command, now)
    assert message.endswith(
        "It finished with status: ok. Check why it was slow (a command ran it, not the worker): "
        "InfluxDB or S3 answering slowly, or the data grew; raise the limit if this is expected."
    ), message
    assert "stuck" not in message
    still = RetentionRun(operation=Op.ARCHIVE, status=Status.RUNNING, details={},
                         started=now - timedelta(minutes=5))  # fmt: skip
    assert "Check the command running it (manage.py, not the worker): it may be stuck on " in (
        alerts.overrun_message(still, now)
    )
    still.details = {"queued_by": "admin", "queued_at": now.isoformat()}
    assert "Check the retention worker in Flower: it may be stuck on InfluxDB or S3" in (
        alerts.overrun_message(still, now)
    )
    by_command.details = {"task_id": "abc"}  # a worker's, finished: slow, not stuck
    assert "with status: ok. Check why it was slow: InfluxDB or S3" in (
        alerts.overrun_message(by_command, now)
    )


@pytest.mark.parametrize(
    ("operation", "operation_words", "status", "status_words"),
    [
        (Op.DOWNSAMPLE_DAILY, "hourly -> daily", Status.DRY_RUN, "dry run"),
        # It read "ran for 2 min (status skipped (another run holds the lock)), longer than".
        (
            Op.VIEW_REFRESH,
            "materialized view refresh",
            Status.SKIPPED,
            "skipped (another run holds the lock)",
        ),
    ],
)
def test_an_alert_message_names_the_operation_and_status_in_the_admins_words(
    webhook, settings, operation, operation_words, status, status_words
):
    # The message is read by a person (a notification on a phone): it said "Retention
    # operation downsample_daily (...) ran for 2 min (status dry_run)". The webhook's fields
    # keep the ids, for automations.
    settings.ALERT_MAX_DURATION_SECONDS = 60
    webhook.add("POST", HOOK, 200, body="")
    now = datetime.now(UTC)
    run = RetentionRun.objects.create(
        operation=operation, status=status, started=now - timedelta(minutes=5),
        duration_seconds=130.0, finished=now - timedelta(minutes=3),
    )  # fmt: skip

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert alert.message.startswith(
        f"Retention operation {operation_words} (run {run.pk}, started "
        f"{run.started:%Y-%m-%d %H:%M} UTC) ran for 2 min, longer than the limit of 1 min "
        f"(ALERT_MAX_DURATION_SECONDS=60). It finished with status: {status_words}. Check "
    )
    [body] = posts(webhook)
    assert (body["run_id"], body["operation"], body["status"]) == (run.pk, operation, status)
    assert body["message"] == alert.message


def test_the_overrun_of_a_run_that_then_fails_is_a_second_incident(webhook, settings, alive_run):
    settings.ALERT_MAX_DURATION_SECONDS = 60
    webhook.add("POST", HOOK, 200, body="")
    run = alive_run(
        operation=Op.DOWNSAMPLE_DAILY,
        status=Status.RUNNING,
        started=datetime.now(UTC) - timedelta(minutes=5),
    )
    alerts.check_alerts()
    run.status, run.errors, run.duration_seconds = Status.FAILED, "killed", 310.0
    run.save()
    alerts.check_alerts()
    alerts.check_alerts()

    assert sorted(Alert.objects.values_list("kind", flat=True)) == ["failed", "overrun"]
    assert [b["kind"] for b in posts(webhook)] == ["overrun", "failed"]


def test_a_webhook_answer_that_echoes_its_id_is_recorded_without_it(webhook):
    """The webhook's id is its password: an error answer quoting it (a proxy's 404 page, a
    receiver naming the hook it did not find) is kept in `delivery_error` with the id
    scrubbed, like the URL itself."""
    webhook.add("POST", HOOK, 404, json={"message": "No webhook enrich_alerts registered"})
    failed_run()

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert "HTTP 404" in alert.delivery_error
    assert '"No webhook *** registered"' in alert.delivery_error
    assert "enrich_alerts" not in alert.delivery_error


@pytest.mark.parametrize("status", [404, 405, 403])
def test_a_refused_delivery_names_the_webhook_setting_not_a_providers(
    webhook, admin_client, settings, status
):
    """A 4xx from the receiver (a wrong webhook id or path, a method it refuses) says to check
    ALERT_WEBHOOK_URL, in `delivery_error`, the API and the admin, not a provider's "region,
    zone, tariff" or "API key"."""
    webhook.add("POST", HOOK, status, body="")
    failed_run()

    alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert f"HTTP {status}" in alert.delivery_error
    assert "Check ALERT_WEBHOOK_URL: the receiver's full address with its webhook id" in (
        alert.delivery_error
    )
    for providers_words in ("region, zone, tariff", "API key", "base URL"):
        assert providers_words not in alert.delivery_error
    [listed] = token_client("ops").get("/retention/alerts").json()["history"]
    # The API: the same words without the receiver's address (its URL may hold a secret).
    assert listed["delivery_error"] == alert.delivery_error.replace(
        f"{settings.ALERT_WEBHOOK_URL.rsplit('/', 1)[0]}/***", "[hidden]"
    )
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/change/").content.decode()
    assert "Check ALERT_WEBHOOK_URL" in page


def test_delivery_is_retried_after_a_webhook_500_without_a_second_alert(webhook, caplog):
    webhook.add("POST", HOOK, 500, json={"message": "Home Assistant is restarting"}, times=1)
    webhook.add("POST", HOOK, 200, body="")
    failed_run()

    with caplog.at_level(logging.ERROR, logger="retention.stats.alerts"):
        first = alerts.check_alerts()
    [alert] = Alert.objects.all()
    assert first.delivery_failed == [alert.pk] and alert.sent is None
    assert "HTTP 500" in alert.delivery_error
    assert any(
        "could not be delivered" in r.getMessage() and r.levelno == logging.ERROR
        for r in caplog.records
    )

    second = alerts.check_alerts()
    third = alerts.check_alerts()

    alert.refresh_from_db()
    assert second.raised == [] and second.delivered == [alert.pk]
    assert third.delivered == []
    assert alert.sent is not None and alert.delivery_error == ""
    assert Alert.objects.count() == 1
    assert [b["alert_id"] for b in posts(webhook)] == [alert.pk, alert.pk]  # 500, then 200


def test_without_a_webhook_alerts_are_recorded_and_not_sent(settings, caplog):
    settings.ALERT_WEBHOOK_URL = ""
    failed_run()
    with caplog.at_level(logging.ERROR, logger="retention.stats.alerts"):
        result = alerts.check_alerts()
    [alert] = Alert.objects.all()
    assert result.raised == [alert.pk] and result.delivered == []
    assert alert.sent is None
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_runs_finished_before_the_detection_window_are_history_not_news(settings, alive_run):
    settings.ALERT_WEBHOOK_URL = ""
    settings.ALERT_MAX_DURATION_SECONDS = 60
    long_ago = datetime.now(UTC) - alerts.DETECTION_WINDOW - timedelta(hours=1)
    failed_run(started=long_ago)
    hung = alive_run(operation=Op.RESTORE, status=Status.RUNNING, started=long_ago)
    alerts.check_alerts()
    assert list(Alert.objects.values_list("run_id", "kind")) == [(hung.pk, "overrun")]


def test_recording_the_same_incident_twice_keeps_one_alert():
    run = failed_run()
    first = alerts.raise_alert(run, Alert.Kind.FAILED, "first")
    second = alerts.raise_alert(run, Alert.Kind.FAILED, "second")  # the unique constraint
    assert first is not None and second is None
    assert list(Alert.objects.values_list("message", flat=True)) == ["first"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_checkers_raise_and_send_one_alert(webhook):
    # The receiver answers slowly, so the second checker arrives while the first holds the
    # alert's row lock.
    webhook.add("POST", HOOK, 200, body="", delay=0.5)
    run = failed_run()
    barrier = threading.Barrier(2)
    results, failures = [], []

    def checker() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(alerts.check_alerts())
        except Exception as exc:  # surfaced below: a thread's exception is not the test's
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=checker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert Alert.objects.filter(run=run).count() == 1
    assert sum(len(r.raised) for r in results) == 1
    assert sum(len(r.delivered) for r in results) == 1
    assert len(posts(webhook)) == 1


def test_notify_run_finished_alerts_at_once_and_the_check_does_not_repeat_it(webhook):
    webhook.add("POST", HOOK, 200, body="")
    run = failed_run(operation=Op.ARCHIVE, errors="checksum mismatch after upload")

    [alert] = alerts.notify_run_finished(run)
    assert alert.kind == Alert.Kind.FAILED and posts(webhook)[0]["run_id"] == run.pk
    ok = RetentionRun.objects.create(
        operation=Op.ARCHIVE, status=Status.OK, started=datetime.now(UTC), duration_seconds=3.0
    )
    assert alerts.notify_run_finished(ok) == []
    alerts.check_alerts()
    assert len(posts(webhook)) == 1


def test_notify_run_finished_never_raises(settings, caplog):
    settings.ALERT_MAX_DURATION_SECONDS = None  # a broken configuration in the alert check
    run = failed_run()
    with caplog.at_level(logging.ERROR, logger="retention.stats.alerts"):
        assert alerts.notify_run_finished(run) == []
    assert any(
        f"alert check for retention run {run.pk} failed" in r.getMessage() for r in caplog.records
    )


def test_open_alerts_are_in_stats_until_a_later_run_succeeds(settings):
    settings.ALERT_WEBHOOK_URL = ""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = "no_such_database_for_stats"
    client = token_client("ops")
    run = failed_run(operation=Op.DOWNSAMPLE_DAILY)
    alerts.check_alerts()
    [alert] = Alert.objects.all()

    [shown] = client.get("/retention/stats").json()["open_alerts"]
    assert shown["alert_id"] == alert.pk and shown["run_id"] == run.pk
    assert (shown["kind"], shown["operation_type"], shown["sent"]) == (
        "failed",
        "downsample_daily",
        None,
    )
    # In the words of the admin and the status page.
    assert (shown["kind_label"], shown["operation_label"]) == (
        "operation failed",
        "hourly -> daily",
    )

    RetentionRun.objects.create(  # another operation succeeding closes nothing
        operation=Op.ARCHIVE, status=Status.OK, started=datetime.now(UTC)
    )
    assert len(client.get("/retention/stats").json()["open_alerts"]) == 1
    RetentionRun.objects.create(
        operation=Op.DOWNSAMPLE_DAILY, status=Status.OK, started=datetime.now(UTC)
    )
    assert client.get("/retention/stats").json()["open_alerts"] == []


def test_alerts_are_listed_in_the_admin(admin_client, settings):
    settings.ALERT_WEBHOOK_URL = ""
    failed_run(errors="the S3 bucket refused the upload")
    alerts.check_alerts()

    page = admin_client.get("/admin/retention/alert/")
    assert page.status_code == 200
    text = page.content.decode()
    # The operation in the words of the list filter ("raw -> hourly"), not its code.
    assert 'class="field-operation">raw -&gt; hourly<' in text
    assert ">raw -&gt; hourly</a>" in text  # the run__operation filter's choice, the same words
    assert 'class="field-kind">operation failed<' in text
    alert = Alert.objects.get()
    detail = admin_client.get(f"/admin/retention/alert/{alert.pk}/change/")
    assert (
        detail.status_code == 200 and "the S3 bucket refused the upload" in detail.content.decode()
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ALERT_WEBHOOK_URL": "homeassistant:8123/api/webhook/x"}, "ALERT_WEBHOOK_URL="),
        ({"ALERT_MAX_DURATION_SECONDS": "2h"}, "ALERT_MAX_DURATION_SECONDS='2h' is not a number"),
        ({"ALERT_MAX_DURATION_SECONDS": "0"}, "ALERT_MAX_DURATION_SECONDS=0 must be at least"),
        ({"STORAGE_PRICE_DB_GB_MONTH": "-1"}, "cannot be negative"),
    ],
)
def test_bad_alert_and_price_settings_stop_the_start_naming_them(overrides, named):
    from tests.support.startup import refused_start

    assert named in refused_start(**overrides)


def test_delivery_is_skipped_while_another_checker_holds_the_alert(webhook):
    """The Redis lock per alert guards delivery on every database (SQLite has no row locks)."""
    from enrich.redis.lock import RunLock

    webhook.add("POST", HOOK, 200, body="")
    failed_run()
    [alert] = alerts.detect()
    other = RunLock(f"alert-delivery:{alert.pk}", owner="another checker")
    assert other.acquire()
    try:
        assert alerts.deliver_pending() == ([], [])
        assert posts(webhook) == []
    finally:
        other.release()
    assert alerts.deliver_pending() == ([alert.pk], [])
    assert len(posts(webhook)) == 1


def test_a_failed_view_refresh_stays_open_until_that_view_refreshes(settings):
    """The refresh task refreshes the three views one after the other, each in its own run: the
    next view's success right after must not close the failed view's alert (the user would
    never see it open, every 4 hours)."""
    settings.ALERT_WEBHOOK_URL = ""
    started = datetime.now(UTC) - timedelta(minutes=10)

    def view_run(view: str, status: str, minutes: int = 0, **details) -> RetentionRun:
        if view:
            details = {"view": view, "mode": "refresh", **details}
        return failed_run(operation=Op.VIEW_REFRESH, status=status, details=details,
                          started=started + timedelta(minutes=minutes))  # fmt: skip

    energy = view_run("daily_energy_by_device", Status.FAILED)
    view_run("hourly_room_activity", Status.OK, 1)
    view_run("daily_carbon_summary", Status.OK, 2)
    died = view_run("", Status.FAILED, 3, task_id="t1", poisoned=True)  # no view recorded
    alerts.check_alerts()

    assert {a.run_id for a in alerts.open_alerts()} == {energy.pk, died.pk}
    view_run("hourly_room_activity", Status.OK, 4, mode="edits")
    assert {a.run_id for a in alerts.open_alerts()} == {energy.pk}  # any refresh ran since
    view_run("daily_energy_by_device", Status.OK, 5)
    assert list(alerts.open_alerts()) == []


def test_a_failed_restore_stays_open_until_a_restore_covering_its_range_succeeds(settings):
    """A restore records its date range (range_start/range_end, the UTC midnights of its
    first and last day): restoring 2024-05 says nothing of the 2024-03 restore that failed."""
    from retention.timeutil import utc_midnight

    settings.ALERT_WEBHOOK_URL = ""
    started = datetime.now(UTC) - timedelta(minutes=10)

    def restore_run(first: str, last: str, status: str, minutes: int = 0) -> RetentionRun:
        first_day, last_day = (datetime.fromisoformat(d).date() for d in (first, last))
        return failed_run(operation=Op.RESTORE, status=status,
                          range_start=utc_midnight(first_day), range_end=utc_midnight(last_day),
                          started=started + timedelta(minutes=minutes))  # fmt: skip

    march = restore_run("2024-03-01", "2024-03-31", Status.FAILED)
    alerts.check_alerts()
    restore_run("2024-05-01", "2024-05-31", Status.OK, 1)  # another range
    restore_run("2024-03-01", "2024-03-20", Status.OK, 2)  # part of it
    assert [a.run_id for a in alerts.open_alerts()] == [march.pk]
    restore_run("2024-02-15", "2024-04-15", Status.OK, 3)  # a range covering it
    assert list(alerts.open_alerts()) == []


def test_a_failed_view_rebuild_stays_open_until_a_run_of_that_view_covering_it_succeeds(settings):
    """A rebuild recomputes the days a person asked for (range_start..range_end): the next
    scheduled refresh of the same view recomputes only the last hours, and a rebuild of other
    days none of them, so neither says the failed rebuild's days were recomputed. Either closed
    its alert: March stayed as it was, with no open alert left to say so."""
    from retention.timeutil import utc_midnight

    settings.ALERT_WEBHOOK_URL = ""
    now = datetime.now(UTC)
    started = now - timedelta(minutes=10)

    def view_run(mode: str, first, last, status: str, minutes: int = 0, view=None) -> RetentionRun:
        return failed_run(operation=Op.VIEW_REFRESH, status=status,
                          details={"view": view or "daily_energy_by_device", "mode": mode},
                          range_start=first, range_end=last,
                          started=started + timedelta(minutes=minutes))  # fmt: skip

    def day(text: str) -> datetime:
        return utc_midnight(datetime.fromisoformat(text).date())

    march = view_run("rebuild", day("2024-03-01"), day("2024-04-01"), Status.FAILED)
    alerts.check_alerts()
    view_run("incremental", now - timedelta(hours=6), now, Status.OK, 1)  # the last hours
    view_run("rebuild", day("2024-05-01"), day("2024-06-01"), Status.OK, 2)  # other days
    view_run("rebuild", day("2024-03-01"), day("2024-03-20"), Status.OK, 3)  # part of them
    view_run("rebuild", day("2024-02-01"), day("2024-05-01"), Status.OK, 4,
             view="daily_carbon_summary")  # another view  # fmt: skip
    assert [a.run_id for a in alerts.open_alerts()] == [march.pk]
    closing = view_run("rebuild", day("2024-02-15"), day("2024-04-15"), Status.OK, 5)
    assert list(alerts.open_alerts()) == []
    assert alerts.with_state().get(run=march).over_at == closing.finished
    # A view's first refresh reads all history (no range start): it covers any rebuild.
    may = view_run("rebuild", day("2024-05-01"), day("2024-06-01"), Status.FAILED, 6)
    alerts.check_alerts()
    assert [a.run_id for a in alerts.open_alerts()] == [may.pk]
    view_run("incremental", None, now, Status.OK, 7)
    assert list(alerts.open_alerts()) == []


def test_the_alert_list_says_when_a_runs_incident_was_over(settings):
    """GET /retention/alerts lists the alerts of the last days with `cleared`: a run's alert
    closed by a later success showed `cleared: null` for ever, as if it had never cleared; it
    is when the run that closed it finished (null while the incident is open)."""
    settings.ALERT_WEBHOOK_URL = ""
    client = token_client("ops")
    started = datetime.now(UTC) - timedelta(hours=3)

    def done(status: str, minutes: int, took: int, **fields) -> RetentionRun:
        at = started + timedelta(minutes=minutes)
        return failed_run(status=status, started=at, finished=at + timedelta(seconds=took),
                          duration_seconds=float(took), **fields)  # fmt: skip

    failed = done(Status.FAILED, 0, 95)
    overran = done(Status.OK, 10, settings.ALERT_MAX_DURATION_SECONDS + 60,
                   operation=Op.ARCHIVE)  # fmt: skip
    energy = done(Status.FAILED, 20, 30, operation=Op.VIEW_REFRESH,
                  details={"view": "daily_energy_by_device"})  # fmt: skip
    alerts.check_alerts()

    def cleared() -> dict[int, str | None]:
        history = client.get("/retention/alerts").json()["history"]
        return {a["run_id"]: a["cleared"] for a in history}

    def iso(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    # the overrun that then finished ok was over when it finished; the failures are open
    assert cleared() == {failed.pk: None, overran.pk: iso(overran.finished), energy.pk: None}

    done(Status.OK, 30, 40, operation=Op.VIEW_REFRESH, details={"view": "hourly_room_activity"})
    first = done(Status.OK, 40, 50)
    done(Status.OK, 50, 60)  # a later success: the incident was over at the first one
    assert cleared() == {
        failed.pk: iso(first.finished),
        overran.pk: iso(overran.finished),
        energy.pk: None,  # another view's refresh says nothing of this one
    }
    shown = {a["run_id"]: a["cleared"] for a in client.get("/retention/alerts").json()["open"]}
    assert shown == {energy.pk: None}


def test_the_alert_list_says_how_many_alerts_there_are_when_it_lists_only_the_newest(settings):
    """A month of failing view refreshes (three views every 4 hours) is about 540 alerts: the
    history listed the newest 500 and said nothing of the others, as if there were no more."""
    from retention.stats.status_api import MAX_ALERTS

    settings.ALERT_WEBHOOK_URL = ""
    start = datetime.now(UTC) - timedelta(days=20)
    runs = RetentionRun.objects.bulk_create(
        RetentionRun(operation=Op.VIEW_REFRESH, status=Status.FAILED, errors="InfluxDB down",
                     started=start + timedelta(hours=i), details={"view": "hourly_room_activity"})
        for i in range(MAX_ALERTS + 3)
    )  # fmt: skip
    Alert.objects.bulk_create(Alert(run=r, kind=Alert.Kind.FAILED, message="failed") for r in runs)

    client = token_client("ops")
    body = client.get("/retention/alerts?days=30").json()
    assert (body["count"], body["truncated"], len(body["history"])) == (503, True, MAX_ALERTS)
    assert body["history"][0]["run_id"] == runs[-1].pk  # the newest first
    Alert.objects.filter(run__in=runs[3:]).delete()
    body = client.get("/retention/alerts?days=30").json()
    assert (body["count"], body["truncated"], len(body["history"])) == (3, False, 3)


def test_a_long_run_waiting_for_its_retry_is_not_said_to_wait_for_a_worker(settings):
    """A run that met InfluxDB out of reach waits in the queue for its retry (details.retries):
    past the limit its alert said "no worker has started it. Check in Flower that a worker
    consumes the retention queue", though a worker ran it and its retry is merely due."""
    settings.ALERT_MAX_DURATION_SECONDS = 60
    retry = {"error": "InfluxUnavailable: Cannot reach InfluxDB", "retry": "2 of 3",
             "at": "2026-12-05T02:40:00+00:00"}  # fmt: skip
    run = RetentionRun.objects.create(
        operation=Op.DOWNSAMPLE_HOURLY,
        status=Status.RUNNING,
        started=datetime.now(UTC) - timedelta(minutes=5),
        details={"queued_by": "schedule", "retries": [retry]},
    )
    # Its retry sent to the Redis answering, which records it (else, due hours ago, the retry
    # was lost by any Redis started empty since, and the run is closed: retention.lost).
    lost.sent(run.pk, current_app, retry="2 of 3")
    alerts.check_alerts()
    [alert] = Alert.objects.filter(run=run, kind="overrun")
    assert "no worker has started it" not in alert.message
    assert (
        "waits for its retry (retry 2 of 3, due 2026-12-05T02:40:00+00:00) after "
        "InfluxUnavailable: Cannot reach InfluxDB" in alert.message
    ), alert.message
    assert "longer than the limit of 1 min (ALERT_MAX_DURATION_SECONDS=60)" in alert.message
