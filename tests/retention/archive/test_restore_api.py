"""POST /retention/restore is queued to a real Celery worker, as the archive is: 202 with the
run to follow, whose details hold the report. It ran inside the web request, where gunicorn's
worker timeout could cut a long restore off half done, with no record saying so.

A failure is a failed run saying why: a damaged archive file at once, naming it; S3 or
InfluxDB out of reach, and the archive's lock held by another run (an archive run may replace
or delete the files a restore reads), are tried again later in the same run, which waits in
the queue meanwhile saying why."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from enrich.redis.client import get_redis, make_key
from enrich.redis.lock import RunLock
from retention.archive.lock import NAME
from retention.archive.restore import restore_to_influxdb
from retention.archive.run import run_archive
from retention.models import RetentionRun
from tests.support.api import token_client
from tests.support.archive import BUCKET, as_rows, daily_rows, read_back, restore_worker_env
from tests.support.archived import archived_once
from tests.support.broker import broker_at, empty_queues  # noqa: F401  (fixture)
from tests.support.pause_app import pause_key, paused_key
from tests.support.ports import free_port
from tests.support.proxy import Proxy, silent_server
from tests.support.redis_server import own_redis, stopped
from tests.support.web import gunicorn
from tests.support.worker import (
    celery_worker,
    followed,
    output,
    retried_in_the_same_run,
    until,
    waiting_for_its_retry,
)

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 15, tzinfo=UTC)
KEY = "archives/2022/data_2022-01-01.parquet"
MARCH = {"start_date": "2022-03-01", "end_date": "2022-03-31"}


@pytest.fixture
def archived(tier, s3):
    """Two entities' 2022, archived to moto's S3 (one file) and gone from the daily tier."""

    def archive():
        readings = daily_rows(2, date(2022, 1, 1), 365)
        tier.write(readings)
        assert run_archive(NOW).objects[0]["key"] == KEY and tier.rows() == []
        return as_rows(readings)

    return archived_once(archive, tier, s3)  # made once, then planted (tests/support/archived.py)


def march(rows: list[dict]) -> list[dict]:
    return [r for r in rows if date(2022, 3, 1) <= r["time"].date() <= date(2022, 3, 31)]


def test_a_restore_is_queued_and_its_run_holds_the_report(client, settings, tier, s3, archived):
    with celery_worker("restore", **restore_worker_env(settings, tier, s3.endpoint)) as worker:
        response = client.post("/retention/restore", MARCH, format="json")
        assert response.status_code == 202, response.json()
        answer = response.json()
        assert answer["status"] == "queued" and answer["task_id"]
        assert (answer["start_date"], answer["end_date"]) == ("2022-03-01", "2022-03-31")
        assert answer["database"] == tier.restore_database
        assert answer["poll"] == f"http://testserver/retention/runs/{answer['run_id']}"
        run = followed(client, answer, worker)
    assert (run["operation_type"], run["status"], run["errors"]) == ("restore", "ok", "")
    assert run["records_processed"] == 2 * 31
    details = run["details"]
    assert (details["records"], details["days"], details["database"]) == (
        2 * 31,
        31,
        tier.restore_database,
    )
    assert details["objects"] == [KEY] and details["queued_by"] == "ops"
    assert "retries" not in details
    assert read_back(tier.restore_database) == march(archived)  # value for value
    stored = RetentionRun.objects.get(pk=answer["run_id"])
    assert (stored.range_start, stored.range_end) == (
        datetime(2022, 3, 1, tzinfo=UTC),
        datetime(2022, 3, 31, tzinfo=UTC),
    )


def test_a_damaged_archive_file_fails_the_run_at_once_naming_it(
    client, settings, tier, s3, archived
):
    s3.client().put_object(Bucket=BUCKET, Key=KEY, Body=b"PAR1 damaged")
    with celery_worker("restore-bad", **restore_worker_env(settings, tier, s3.endpoint)) as worker:
        answer = client.post("/retention/restore", MARCH, format="json").json()
        run = followed(client, answer, worker)
    assert run["status"] == "failed" and run["finished"] is not None
    assert run["errors"].startswith(f"VerificationError: {KEY} in {BUCKET} does not match")
    assert "retries" not in run["details"]  # not tried again: a retry finds the same file
    assert read_back(tier.restore_database) == []


def test_s3_out_of_reach_is_tried_again_in_the_same_run(client, settings, tier, s3, archived):
    proxy = Proxy(s3.endpoint)  # closed: S3 refuses connections
    env = restore_worker_env(settings, tier, proxy.url)
    with celery_worker("restore-s3", **env) as worker:
        answer = client.post("/retention/restore", MARCH, format="json").json()
        # Waiting for its retry, the run is not over: it says why and when it goes on.
        done = retried_in_the_same_run(client, answer, worker, proxy, "StorageUnavailable")
    assert (done["status"], done["errors"], done["records_processed"]) == ("ok", "", 2 * 31)
    assert read_back(tier.restore_database) == march(archived)
    assert RetentionRun.objects.filter(operation="restore").count() == 1


def test_influxdb_out_of_reach_fails_the_run_saying_so_after_the_retries(
    client, settings, tier, s3, archived
):
    proxy = Proxy(settings.INFLUXDB_URL)  # never opened: InfluxDB refuses connections
    # Its three retries after 0.2, 0.4 and 0.8 s: nothing opens the proxy between them.
    env = restore_worker_env(
        settings, tier, s3.endpoint, INFLUXDB_URL=proxy.url, RETENTION_RETRY_SECONDS="0.2"
    )
    with celery_worker("restore-influx", **env) as worker:
        answer = client.post("/retention/restore", MARCH, format="json").json()
        run = followed(client, answer, worker, timeout=120)
    assert run["status"] == "failed"
    assert run["errors"].startswith(f"InfluxUnavailable: Cannot reach InfluxDB at {proxy.url}")
    assert [r["retry"] for r in run["details"]["retries"]] == ["1 of 3", "2 of 3", "3 of 3"]
    assert read_back(tier.restore_database) == []


def test_a_restore_waits_while_an_archive_run_holds_the_archive_lock(
    client, settings, tier, s3, archived
):
    """An archive run replaces (a merge) or deletes (an expiry) files a restore beside it would
    read: the restore waits for the lock, saying who holds it, and then restores."""
    archive = RunLock(*NAME, owner="archive", ttl_seconds=120)
    assert archive.acquire()
    try:
        with celery_worker(
            "restore-lock", **restore_worker_env(settings, tier, s3.endpoint)
        ) as worker:
            answer = client.post("/retention/restore", MARCH, format="json").json()
            run = waiting_for_its_retry(answer["run_id"], worker)
            assert run.status == "running"
            error = run.details["retries"][0]["error"]
            assert error.startswith("ArchiveBusy: the archive's lock is held by archive since")
            assert "Nothing was restored" in error
            assert read_back(tier.restore_database) == []
            archive.release()
            done = followed(client, answer, worker)
    finally:
        archive.release()
    assert (done["status"], done["records_processed"]) == ("ok", 2 * 31)
    assert read_back(tier.restore_database) == march(archived)


def test_an_archive_run_beside_a_restore_is_skipped_saying_so(tier, s3, archived):
    """What the archive run finds while a restore holds the lock (a restore, or an index
    rebuild, beside an archive run is refused the same way, the other way round)."""
    beside = []

    def archive_meanwhile(items):
        beside.append(run_archive(NOW))
        return items

    report = restore_to_influxdb("2022-03-01", "2022-03-31", progress=archive_meanwhile)
    [archive] = beside
    assert archive.status == "skipped" and archive.objects == []
    [why] = archive.errors
    assert why.startswith(f"the archive's lock is held by restore run {report.run_id} since ")
    assert "; nothing done: run it again once that run has finished, or " in why
    assert why.endswith("Nothing is lost meanwhile: the daily tier keeps the rows due until an "
                        "archive run has verified their file.")  # fmt: skip
    assert RetentionRun.objects.get(pk=archive.run_id).errors == why
    assert report.records == 2 * 31
    assert read_back(tier.restore_database) == march(archived)


def test_the_command_refuses_while_the_archive_lock_is_held(tier, s3, archived):
    archive = RunLock(*NAME, owner="archive", ttl_seconds=60)
    assert archive.acquire()
    try:
        with pytest.raises(CommandError, match="the archive's lock is held by archive since"):
            call_command("restore_from_archive", "2022-03-01", "2022-03-31")
    finally:
        archive.release()
    assert read_back(tier.restore_database) == []
    [run] = RetentionRun.objects.filter(operation="restore")
    assert run.status == "failed" and "ArchiveBusy: the archive's lock is held" in run.errors


@pytest.fixture
def staff_token() -> str:
    staff = get_user_model().objects.create_user("restorer", password="pw-123", is_staff=True)
    return Token.objects.create(user=staff).key


def test_the_web_server_answers_at_once_and_its_timeout_cuts_nothing_off(
    settings, tier, s3, archived, staff_token
):
    """gunicorn with a 20 s worker timeout, whose InfluxDB hangs (240 s): the restore ran in the
    request, which gunicorn aborted (a 500, the restore half done); now the request only queues
    it. The timeout is far below the hang, and far above what queueing takes on a loaded machine
    (with 2 s, a POST slowed by the load would have been cut off too)."""
    env = restore_worker_env(settings, tier, s3.endpoint)
    # The worker starts first: it gets ready while gunicorn does (gunicorn's start waits for
    # its first answer; the worker's does not wait).
    with (
        silent_server() as influxdb,
        celery_worker("restore-web", **env) as worker,
        gunicorn(timeout=20, **env, INFLUXDB_URL=influxdb, INFLUXDB_TIMEOUT="240") as (web, _),
    ):
        answer = requests.post(
            f"{web}/retention/restore",
            json=MARCH,
            headers={"Authorization": f"Token {staff_token}"},
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        run = followed(token_client("reader"), answer.json(), worker)
    assert (run["status"], run["records_processed"]) == ("ok", 2 * 31)
    assert read_back(tier.restore_database) == march(archived)


@pytest.mark.usefixtures("empty_queues")  # a task left queued would take the crash
def test_a_restore_whose_worker_died_is_finished_by_the_next_delivery(settings, tier, s3, archived):
    """The worker process dies (SIGKILL, as the out-of-memory killer would) after downloading
    the files: Celery delivers the task again, which takes the dead delivery's archive lock
    over and finishes the same run, instead of leaving the restore half done."""
    from tests.support.crash_once_app import crash_once_key  # its signal: the worker's only

    get_redis().set(crash_once_key(), "restore.after_download")
    api = token_client("crash-api", staff=True)
    env = restore_worker_env(settings, tier, s3.endpoint)
    with celery_worker(
        "restore-killed", app="tests.support.crash_once_app", pool="prefork", **env
    ) as worker:
        answer = api.post("/retention/restore", MARCH, format="json").json()
        run = followed(api, answer, worker, timeout=120)
        log = output(worker)
    assert "fault injection: process exits at restore.after_download" in log
    assert (run["status"], run["records_processed"]) == ("ok", 2 * 31), (run, log)
    assert RetentionRun.objects.filter(operation="restore").count() == 1
    assert read_back(tier.restore_database) == march(archived)
    assert get_redis().keys(make_key("lock", "*")) == []


def test_redis_gone_mid_restore_fails_the_run_saying_to_ask_again(
    client, settings, tier, s3, archived
):
    """Redis (the worker's broker, and the store of the archive's lock the restore holds) stops
    once the files are read, before anything is written: the run failed with redis' own
    "ConnectionError: Error 111 ...", not tried again and not a word of what to do. Its retry
    cannot be queued (the broker is that Redis): it fails at once saying so, and to ask again."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = own_redis(port)
    get_redis().set(pause_key(), "restore.after_download@1")  # the test's Redis
    env = restore_worker_env(
        settings, tier, s3.endpoint, REDIS_URL=url, PAUSE_REDIS_URL=settings.REDIS_URL
    )
    try:
        with (
            broker_at(url),  # the API queues to the worker's Redis
            celery_worker("restore-redis", app="tests.support.pause_app", **env) as worker,
        ):
            answer = client.post("/retention/restore", MARCH, format="json").json()
            until(lambda: get_redis().get(paused_key()), worker, seconds=120)
            stopped(redis)
            get_redis().delete(paused_key())
            ended = RetentionRun.objects.filter(pk=answer["run_id"]).exclude(status="running")
            run = until(ended.first, worker, seconds=60)
            redis = own_redis(port)  # back, so the worker is stopped as every test's
    finally:
        if redis.poll() is None:
            stopped(redis)
    assert (run.status, run.details.get("retry_not_queued")) == ("failed", True), run.errors
    assert run.errors.startswith(
        "RedisUnavailable: The archive's lock is unavailable: cannot reach Redis at "
        f"REDIS_URL={url} ("
    ), run.errors
    assert "Not tried again: its retry (1 of 3) could not be queued: the Celery broker at " in (
        run.errors
    )
    assert "ask for the restore again (POST /retention/restore" in run.errors
    assert read_back(tier.restore_database) == []
