"""A retention run whose process died is not left "running" for ever: it shows failed, saying
the process died and what to do, wherever runs are shown (API, admin, status page, alerts);
a run that is alive is never closed, nor anything while Redis cannot tell (retention.liveness).

The processes die for real: a tier run whose PostgreSQL connection is terminated by the
server, a Redis restarted under live runs.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from enrich.redis.client import get_redis, make_key
from retention.models import Alert, Entity, RetentionRun
from retention.stats import alerts
from tests.retention.conftest import T0
from tests.support.api import token_client
from tests.support.ha_silence import ha_silence_unchecked  # noqa: F401  (fixture)
from tests.support.ports import free_port
from tests.support.redis_server import own_redis, stopped
from tests.support.row_locks import waits_for_a_row_lock

Op, Status = RetentionRun.Operation, RetentionRun.Status


def heartbeat_key(run_id: int) -> str:
    """The Redis key a live run holds (spelled out: the old code has no module naming it)."""
    return make_key("lock", "retention", "run", str(run_id))


def left_running(operation: str, **fields) -> RetentionRun:
    """A run as a process killed in the middle of it leaves it: "running", no process showing
    it alive."""
    started = datetime.now(UTC) - timedelta(minutes=5)
    return RetentionRun.objects.create(
        operation=operation, status=Status.RUNNING, started=started, **fields
    )


# --- A restore whose process died ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("ha_silence_unchecked")
def test_a_restore_left_running_by_a_dead_process_shows_failed_and_says_to_ask_again(
    admin_client, settings
):
    """A restore runs on a worker (POST /retention/restore queues it; a worker that dies is
    replaced by a delivery that resumes the run: tests/retention/archive/test_restore_api.py)
    or in `manage.py restore_from_archive`. One whose process was killed for good left its
    record "running": the admin, the API and the alert check all say it failed, why, and to
    ask for the restore again."""
    settings.ALERT_WEBHOOK_URL = ""
    run = left_running(Op.RESTORE, range_start=T0, range_end=T0 + timedelta(days=6))
    page = admin_client.get("/admin/retention/retentionrun/").content.decode()
    api = token_client("reader")
    shown = api.get(f"/retention/runs/{run.pk}").json()
    [listed] = api.get("/retention/history").json()["runs"]

    assert 'class="field-status">failed<' in page
    assert 'class="field-status">running<' not in page
    assert shown["status"] == listed["status"] == "failed"
    assert shown["finished"] is not None
    errors = shown["errors"]
    assert "The process running it stopped before the run was recorded as finished" in errors
    assert "ask for the restore again (POST /retention/restore" in errors
    assert shown["details"]["process_died"] is True
    # Hours later the alert check reports a failed restore, not one that hangs.
    later = datetime.now(UTC) + timedelta(seconds=settings.ALERT_MAX_DURATION_SECONDS + 60)
    alerts.check_alerts(now=later)
    [alert] = Alert.objects.all()
    assert (alert.run_id, alert.kind) == (run.pk, "failed")
    assert "ask for the restore again" in alert.message


# --- A tier run that lost its database connection ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_tier_run_that_lost_its_database_connection_is_not_left_running(ha_db):
    """The server ends the run's PostgreSQL connection (a restart, a failover, an idle
    timeout) after the first day: the run cannot record its end and its record stays
    "running". The history shows it failed, with where the work resumes."""
    from retention.tiers.runner import downsample_hourly

    points = [(n * 600, 100.0 + n) for n in range(6 * 48)]
    ha_db.saved_entity("official", "sensor.fridge_power", points, unit="W")
    assert Entity.objects.count() == 1

    def server_ends_the_connection(done: int, total: int, day: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            [pid] = cursor.fetchone()

        def terminate() -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                connection.close()

        other = threading.Thread(target=terminate)  # a connection of its own
        other.start()
        other.join()

    with pytest.raises(DatabaseError):
        downsample_hourly(
            T0.date(), T0.date() + timedelta(days=2), progress=server_ends_the_connection
        )
    connection.close()  # the test's own connection was the run's: a new one
    [run] = RetentionRun.objects.all()
    assert run.status == "running"  # what the run could not correct

    [shown] = token_client("reader").get("/retention/history").json()["runs"]
    assert shown["run_id"] == run.pk and shown["status"] == "failed"
    errors = shown["errors"]
    assert "lost its database connection" in errors
    assert "the next run (the schedule, or POST /retention/downsample-hourly) resumes" in errors


# --- Every place that shows runs tells the truth ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "where",
    ["admin list", "admin page", "history", "run", "stats", "alert check"],
)
@pytest.mark.usefixtures("ha_silence_unchecked")
def test_a_run_left_running_by_a_dead_process_shows_failed(where, admin_client, settings):
    settings.ALERT_WEBHOOK_URL = ""
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = "no_such_database_for_stats"
    run = left_running(Op.ARCHIVE)
    api = token_client("reader")
    if where == "admin list":
        page = admin_client.get("/admin/retention/retentionrun/").content.decode()
        assert 'class="field-status">failed<' in page
    elif where == "admin page":
        page = admin_client.get(f"/admin/retention/retentionrun/{run.pk}/change/")
        assert "the next archive run (the schedule, or POST /retention/archive)" in (
            page.content.decode()
        )
    elif where == "history":
        assert api.get("/retention/history").json()["runs"][0]["status"] == "failed"
    elif where == "run":
        assert api.get(f"/retention/runs/{run.pk}").json()["status"] == "failed"
    elif where == "stats":
        assert api.get("/retention/stats").json()["last_archive_to_s3"]["status"] == "failed"
    else:
        later = run.started + timedelta(seconds=settings.ALERT_MAX_DURATION_SECONDS + 60)
        alerts.check_alerts(now=later)
        assert list(Alert.objects.values_list("kind", flat=True)) == ["failed"]
    run.refresh_from_db()
    assert run.status == "failed" and run.finished is not None


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_closed_as_dead_is_resumed_by_the_next_delivery_of_its_task(
    tier, local_archive
):
    """A worker killed as a whole leaves the run the API queued "running"; Celery delivers the
    task again only after the broker's visibility timeout (hours), long after the run was
    closed as dead. That delivery goes on in the same run, which then says how it ended."""
    import uuid

    from enrich.deliveries import count_delivery, delivery_key
    from retention import liveness
    from retention.archive.tasks import archive

    task_id = uuid.uuid4().hex
    run = left_running(
        Op.ARCHIVE, details={"queued_by": "ops", "queued_at": "2026-01-01T00:00:00+00:00",
                             "task_id": task_id, "dry_run": True},
    )  # fmt: skip
    count_delivery(task_id)  # the delivery that died
    assert [closed.pk for closed in liveness.close_dead()] == [run.pk]

    result = archive.apply(kwargs={"run_id": run.pk, "dry_run": True}, task_id=task_id)

    assert result.state == "SUCCESS", result.result
    run.refresh_from_db()
    assert run.status == "dry_run" and result.result["run_id"] == run.pk
    assert run.errors.splitlines()[-1] == "Delivery 2 of its Celery task resumes the run."
    assert "process_died" not in run.details
    assert RetentionRun.objects.count() == 1
    get_redis().delete(delivery_key(task_id, 0))


# --- Never closed: a live run, a queued one, or when Redis cannot tell --------------------


@pytest.mark.django_db(transaction=True)
def test_a_live_run_is_never_closed_though_its_step_outlasts_the_key_expiry(monkeypatch):
    """The key expires 1 s after each renewal here (a minute in production); one step of
    the run takes 3 s. The run's own thread renews the key, so it shows running throughout
    and ends ok."""
    from retention import liveness
    from retention.archive.run import recorded_run

    monkeypatch.setattr(liveness, "ALIVE_SECONDS", 1.0)
    working, finish = threading.Event(), threading.Event()
    ran: list[RetentionRun] = []

    def restore() -> None:
        try:
            with recorded_run(Op.RESTORE) as run:
                ran.append(run)
                working.set()
                finish.wait(timeout=30)  # one long step: a download, a write
        finally:
            connection.close()

    worker = threading.Thread(target=restore)
    worker.start()
    assert working.wait(timeout=10)
    [run] = ran
    api = token_client("reader")
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert liveness.close_dead() == []
        assert api.get(f"/retention/runs/{run.pk}").json()["status"] == "running"
        assert 0 < get_redis().pttl(heartbeat_key(run.pk)) <= 1000
        time.sleep(0.1)
    finish.set()
    worker.join(timeout=10)
    run.refresh_from_db()
    assert run.status == "ok" and run.errors == ""
    assert get_redis().exists(heartbeat_key(run.pk)) == 0  # given up after its last save


@pytest.mark.django_db
def test_a_run_queued_and_not_started_yet_is_not_closed():
    """A run the API queued holds no key while it waits for a worker: it is waiting, not dead
    (an overrun alert says so when it waits too long)."""
    from retention import liveness

    # queued just now: a run queued minutes ago without details.queued_in would be closed as
    # lost had the tests' Redis started empty since (retention.lost.sent_by)
    queued = RetentionRun.objects.create(
        operation=Op.ARCHIVE,
        status=Status.RUNNING,
        started=datetime.now(UTC),
        details={"queued_by": "ops"},
    )
    assert liveness.close_dead() == []
    queued.refresh_from_db()
    assert queued.status == "running"


@pytest.mark.django_db(transaction=True)
def test_a_run_that_went_back_to_the_queue_while_being_checked_is_not_closed():
    """A delivery that meets InfluxDB out of reach puts the run back in the queue for its retry
    and gives its key up; the next delivery takes the key 0.2 s (in production minutes) later.
    A check that saw the run taken up, and its key gone just after, must not close it: under
    the run's row lock it is waiting again."""
    from retention import liveness

    run = left_running(
        Op.RESTORE, details={"queued_by": "ops", "queued_at": "2026-01-01T00:00:00+00:00"}
    )
    locked, checked = threading.Event(), threading.Event()

    def delivery_retries() -> None:
        try:
            with transaction.atomic():
                again = RetentionRun.objects.select_for_update().get(pk=run.pk)
                locked.set()
                deadline = time.monotonic() + 10
                while not waits_for_a_row_lock() and time.monotonic() < deadline:
                    time.sleep(0.02)
                checked.set()
                again.details = {"queued_by": "ops", "retries": [{"retry": "1 of 3"}]}
                again.save()
        finally:
            connection.close()

    delivery = threading.Thread(target=delivery_retries)
    delivery.start()
    assert locked.wait(timeout=10)
    closed = liveness.close_dead()  # sees it taken up, no key; then waits for the row lock
    delivery.join(timeout=10)
    assert checked.is_set()
    assert closed == []
    run.refresh_from_db()
    assert (run.status, run.errors) == ("running", "")
    assert run.details["retries"] == [{"retry": "1 of 3"}]


@pytest.mark.django_db
def test_with_redis_out_of_reach_nothing_is_closed_and_runs_are_still_shown(settings, caplog):
    from retention import liveness

    run = left_running(Op.RESTORE)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert liveness.close_dead() == []
    assert "running retention runs not checked: Redis is out of reach" in caplog.text
    answer = token_client("reader").get("/retention/history")
    assert answer.status_code == 200 and answer.json()["runs"][0]["status"] == "running"
    run.refresh_from_db()
    assert run.status == "running"


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["list", "run"])
def test_with_redis_out_of_reach_the_admin_says_running_runs_were_not_checked(
    settings, admin_client, page
):
    # The run was listed "running" with nothing saying it had not been checked (only the log).
    run = left_running(Op.RESTORE)
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    url = reverse("admin:retention_retentionrun_changelist")
    if page == "run":
        url = reverse("admin:retention_retentionrun_change", args=[run.pk])
    said = [str(m) for m in admin_client.get(url).context["messages"]]
    assert len(said) == 1, said
    assert said[0].startswith(
        "Running retention runs were not checked for a worker that stopped: Redis is out of "
        f"reach (Error 111 connecting to 127.0.0.1:{port}."
    ), said
    assert said[0].endswith(
        "). A run shown running may have died; the page checks again when loaded."
    ), said
    run.refresh_from_db()
    assert run.status == "running"


ALIVE = 3.0  # liveness.ALIVE_SECONDS in the Redis restart test


@pytest.mark.django_db(transaction=True)
def test_after_a_redis_restart_only_dead_runs_are_closed(settings, monkeypatch):
    """A Redis restarted without persistence has forgotten the keys of the live runs too: for
    ALIVE_SECONDS (3 s here: starting a Redis on a loaded machine took more than 1 s, after
    which the live run was closed too) after its start nothing is closed, while the live run's
    thread takes its key again; then only the dead run is."""
    from retention import liveness

    monkeypatch.setattr(liveness, "ALIVE_SECONDS", ALIVE)
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    redis = own_redis(port)
    try:
        with liveness.alive(RetentionRun(operation=Op.ARCHIVE, started=datetime.now(UTC))) as live:
            time.sleep(ALIVE + 0.1)
            dead = left_running(Op.RESTORE)
            assert [run.pk for run in liveness.close_dead()] == [dead.pk]

            stopped(redis)
            redis = own_redis(port)
            after_restart = left_running(Op.VIEW_REFRESH)
            assert liveness.close_dead() == []  # the restarted Redis cannot tell yet
            time.sleep(ALIVE + 0.1)
            assert get_redis().exists(heartbeat_key(live.pk)) == 1  # taken again
            assert [run.pk for run in liveness.close_dead()] == [after_restart.pk]
            live.refresh_from_db()
            assert live.status == "running"
    finally:
        stopped(redis)


@pytest.mark.django_db
def test_a_tier_run_closed_while_it_waited_for_its_retry_counts_what_its_attempts_did():
    """Closed waiting for its retry (the retry could not be queued, or a Redis restart lost
    it), the run said 0 points processed and deleted: what its attempts did stayed in
    details.earlier, folded into the counts only by a run's own end."""
    from retention import liveness
    from retention.tiers.chunks import Outcome

    did = Outcome(days=["2024-03-04"], entities={"sensor.a_power"}, processed=360)
    did.rows_written, did.deleted = 24, 360
    run = left_running(Op.DOWNSAMPLE_HOURLY, details={"earlier": did.as_saved(), "retries": []})
    closed = liveness.close(run.pk, "Not tried again: its retry could not be queued.")
    run.refresh_from_db()
    assert (closed.pk, run.status) == (run.pk, "failed")
    assert (run.records_processed, run.records_deleted) == (360, 360)
    assert run.details["days"] == ["2024-03-04"] and run.details["entities"] == 1
    assert run.details["rows_written"] == 24 and "earlier" not in run.details
    # A dry run's attempts keep no days there: its report is its details, kept as they are.
    dry = left_running(Op.DOWNSAMPLE_DAILY, details={"earlier": Outcome().as_saved(), "x": 1})
    liveness.close(dry.pk, "lost")
    dry.refresh_from_db()
    assert (dry.records_processed, dry.details["x"]) == (0, 1) and "days" not in dry.details
