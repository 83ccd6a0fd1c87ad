"""Celery wiring: JSON only, explicit queues, routes by name, and a real worker on Redis."""

import os
import tempfile
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from config.celery import QUEUES, app
from tests.support.ports import free_port
from tests.support.redis_server import own_redis, stopped
from tests.support.startup import refused_start, run_django
from tests.support.worker import celery_worker, output

ROOT = Path(__file__).resolve().parent.parent


def test_json_only_and_explicit_queues():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert (
        {q.name for q in conf.task_queues} == set(QUEUES) == {"collectors", "retention", "default"}
    )
    assert conf.task_create_missing_queues is False
    assert conf.task_acks_late is True
    assert conf.worker_send_task_events is True
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.beat_scheduler == "enrich.beat_scheduler:Scheduler"


@pytest.mark.parametrize(
    "task_name, queue",
    [
        ("collectors.collect", "collectors"),
        ("collectors.write_current_prices", "collectors"),
        ("retention.downsample_hourly", "retention"),
        ("enrich.check_services", "default"),
    ],
)
def test_routes_by_task_name(task_name, queue):
    route = app.amqp.router.route({}, task_name)
    assert route["queue"].name == queue


def test_a_missing_queue_is_an_error():
    with pytest.raises(Exception, match="nowhere"):
        app.amqp.router.route({"queue": "nowhere"}, "enrich.check_services")


@pytest.fixture
def worker(django_db_setup):
    with celery_worker() as proc:
        yield proc


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_through_the_real_redis_broker(worker):
    try:
        result = app.send_task("enrich.check_services")
    except OperationalError as exc:  # pragma: no cover - Redis down is a setup error
        pytest.fail(f"Redis broker not reachable: {exc}")
    try:
        answer = result.get(timeout=60)
    except Exception:
        pytest.fail(f"the worker did not run the task; its output:\n{output(worker)}")
    assert result.successful()
    assert set(answer["services"]) == {"database", "redis", "influxdb"}
    assert answer["services"]["database"] == {**answer["services"]["database"], "ok": True}
    assert answer["services"]["redis"]["ok"] is True
    assert answer["services"]["influxdb"]["ok"] is True


# --- Long work: visibility timeout, time limits, redeliveries --------------------------------
def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_no_task_is_delivered_again_while_it_still_runs():
    """Redis hands an unacknowledged task to another worker after the visibility timeout;
    with acks_late that would start a second copy of a run still going."""
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    tasks = project_tasks()
    assert {"retention.archive", "retention.refresh_views", "collectors.collect"} <= set(tasks)
    assert visibility > app.conf.task_time_limit
    for name, task in tasks.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert soft < hard < visibility, name
        assert task.acks_late is True, name
    # The longest run: the archive, 3 h + 5 min (it was 3600 s against 11,100 s before).
    assert tasks["retention.archive"].time_limit == 11_100 < visibility


def test_every_long_task_takes_its_limits_from_the_table_the_timeout_is_derived_from():
    from django.conf import settings

    for name, task in project_tasks().items():
        if task.time_limit and task.time_limit > settings.CELERY_TASK_TIME_LIMIT:
            assert settings.TASK_TIME_LIMITS[name] == (task.soft_time_limit, task.time_limit)
    longest = max(hard for _, hard in settings.TASK_TIME_LIMITS.values())
    assert app.conf.broker_transport_options["visibility_timeout"] == longest + 600


def test_results_and_acknowledgement_agree_with_the_long_runs():
    conf = app.conf
    # A worker lost mid-task puts the task back (acks_late); the redelivery guard bounds it.
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    longest = max(t.time_limit or conf.task_time_limit for t in project_tasks().values())
    # A result is still there when someone asks after the longest run.
    assert conf.result_expires > longest
    assert conf.result_backend.startswith(("redis://", "rediss://", "unix://"))


def test_retry_countdowns_stay_inside_the_visibility_timeout(settings):
    """A retry waiting in Redis longer than the visibility timeout would be delivered twice."""
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    tiers = project_tasks()["retention.downsample_hourly"]
    assert settings.RETENTION_RETRY_SECONDS * 2 ** (tiers.max_retries - 1) < visibility


def test_the_configuration_page_says_which_redis_keys_redis_key_prefix_does_not_cover(settings):
    """docs/configuration.md called REDIS_KEY_PREFIX the prefix of every Redis key of a
    deployment, so two deployments sharing a Redis database under two prefixes would be
    apart; the broker's queue of a task sent now is a key outside the prefix, and the row
    says so as long as it is (each deployment then needs a database of its own)."""
    from enrich.redis.client import get_redis

    redis = get_redis()
    app.control.purge()
    before = set(redis.keys("*"))
    app.send_task("enrich.check_services", queue="default")
    try:
        made = set(redis.keys("*")) - before
    finally:
        app.control.purge()
    assert made, "sending a task wrote no Redis key"
    outside = sorted(key for key in made if not key.startswith(f"{settings.REDIS_KEY_PREFIX}:"))
    text = (ROOT / "docs" / "configuration.md").read_text()
    [row] = [line for line in text.splitlines() if line.startswith("| `REDIS_KEY_PREFIX`")]
    says_outside = "Celery's queues and task results are not under it" in row
    assert says_outside == bool(outside), (outside, row)
    assert "every Redis key" not in row


def test_the_default_time_limits_bound_no_task_of_enrich():
    """docs/configuration.md: CELERY_TASK_SOFT_TIME_LIMIT and CELERY_TASK_TIME_LIMIT are only
    the limits of a task that sets none; its row gave them as the tasks' limits, while every
    task sets its own (a collection 150 s, an archive run 3 h 5 min)."""
    import re

    from tests.support.doc_pages import ROOT

    tasks = project_tasks()
    assert {"collectors.collect", "retention.archive"} <= set(tasks)
    assert [
        name for name, task in tasks.items() if not (task.time_limit and task.soft_time_limit)
    ] == []
    (row,) = [
        line
        for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
        if line.startswith("| `CELERY_TASK_SOFT_TIME_LIMIT`")
    ]
    assert "so they bound none of them" in row
    collect, archive = tasks["collectors.collect"].time_limit, tasks["retention.archive"].time_limit
    assert f"a collection {collect} s" in row
    hours, minutes = divmod(archive // 60, 60)
    assert re.search(rf"an archive run {hours} h {minutes} min\b", row)


ON_THE_SOCKET = """
import redis
from config.celery import app
with app.connection_for_write() as conn:
    queue = conn.SimpleQueue("socket-test")
    queue.put({"n": 1})
    message = queue.get(timeout=5)
    message.ack()
app.backend.set("socket-test-result", "done")
print(message.payload["n"], app.backend.get("socket-test-result").decode())
print(sorted(k.decode() for k in redis.Redis(unix_socket_path=SOCK, db=3).keys()))
"""


def test_a_redis_url_of_a_unix_socket_is_celerys_broker_and_result_store_too():
    """Celery has no unix:// transport: with REDIS_URL=unix://<path>?db=3 and the Celery URLs
    left empty, the workers failed at their start ("No such transport"); Celery is given the
    same socket and database (redis+socket://), as the caches, locks and budgets use."""
    folder = tempfile.mkdtemp(prefix="rs")
    sock = f"{folder}/redis.sock"
    proc = own_redis(free_port(), "--unixsocket", sock, "--unixsocketperm", "700")
    try:
        result = run_django(
            ON_THE_SOCKET.replace("SOCK", repr(sock)), REDIS_URL=f"unix://{sock}?db=3"
        )
    finally:
        stopped(proc)
    assert result.returncode == 0, result.stderr[-3000:]
    said, keys = result.stdout.strip().splitlines()[-2:]
    assert said == "1 done"
    assert "socket-test-result" in keys and "_kombu.binding.socket-test" in keys  # database 3


def test_a_unix_socket_with_a_login_asks_for_the_celery_urls():
    stderr = refused_start(REDIS_URL="unix://:secret@/run/redis.sock?db=1")
    assert "REDIS_URL names a Unix socket with a login or options: set CELERY_BROKER_URL" in stderr
    assert "secret" not in stderr.split("ImproperlyConfigured")[-1]


def test_a_celery_url_of_a_redis_socket_is_taken():
    url = "redis+socket:///run/redis.sock?virtual_host=2"
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    result = run_django(code, setup=False, CELERY_BROKER_URL=url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == url


def test_a_start_of_django_makes_the_projects_app_the_one_tasks_are_sent_through():
    """Every process that starts Django sends the project's tasks (shared_task) through the
    project's app, on its broker, not through Celery's default app (amqp://localhost)."""
    code = (
        "from celery import current_app; current = current_app._get_current_object(); "
        "from config.celery import app; from enrich.tasks import check_services; "
        "print(current is app, check_services.app is app, app.conf.broker_url)"
    )
    child = run_django(code)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["True", "True", os.environ["REDIS_URL"]], child.stdout
