"""A poison task cannot loop: a task whose worker dies under it is run at most
1 + TASK_MAX_REDELIVERIES times, then recorded as failed (enrich.deliveries)."""

import uuid

import pytest
from django.conf import settings

from config.celery import app
from enrich.deliveries import PoisonedTask, count_delivery, delivery_key
from enrich.redis.client import get_redis, make_key
from retention.models import RetentionRun
from retention.tiers.tasks import downsample_hourly
from tests.support.worker import celery_worker, output


@pytest.mark.django_db(transaction=True)
def test_a_task_that_kills_its_worker_stops_after_the_allowed_redeliveries():
    """A real prefork worker: the task SIGKILLs its pool process, the worker notices, the task
    goes back to Redis and comes again; the delivery after the allowed ones is refused. (One
    redelivery allowed: Celery's pool may take up to 5 s to notice each dead process, 0.2 s in
    the tests' prefork workers, tests.support.prefork_app.)"""
    started = make_key("test", "poison-started", uuid.uuid4().hex)
    redis = get_redis()
    with celery_worker(
        "poison", app="tests.support.poison_app", pool="prefork", TASK_MAX_REDELIVERIES="1"
    ) as worker:
        result = app.send_task("tests.kill_own_worker", args=[started])
        try:
            result.get(timeout=120, propagate=False)
        except Exception:
            pytest.fail(f"no outcome was recorded; the worker's output:\n{output(worker)}")
        assert result.state == "FAILURE", output(worker)
    assert isinstance(result.result, PoisonedTask)
    assert "delivered 3 times without finishing" in str(result.result)
    assert "TASK_MAX_REDELIVERIES=1" in str(result.result)
    # The first delivery and the redelivery ran (and died); the third did not run.
    assert int(redis.get(started)) == 2
    assert int(redis.get(delivery_key(result.id, 0))) == 3
    redis.delete(started, delivery_key(result.id, 0))


def test_deliveries_are_counted_per_task_and_retry_and_expire():
    task_id = uuid.uuid4().hex
    assert [count_delivery(task_id) for _ in range(3)] == [1, 2, 3]
    assert count_delivery(task_id, retries=1) == 1  # a deliberate retry starts a new count
    ttl = get_redis().ttl(delivery_key(task_id, 0))
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility * (settings.TASK_MAX_REDELIVERIES + 1) < ttl
    get_redis().delete(delivery_key(task_id, 0), delivery_key(task_id, 1))


@pytest.mark.django_db
def test_a_refused_retention_task_marks_its_run_record_failed():
    """The delivery path with the same task id: its earlier deliveries died (counted), so
    the next one is refused and the run the API created says why."""
    run = RetentionRun.objects.create(
        operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
        status=RetentionRun.Status.RUNNING,
        started="2026-01-01T00:00:00Z",
    )
    task_id = uuid.uuid4().hex
    for _ in range(1 + settings.TASK_MAX_REDELIVERIES):
        count_delivery(task_id)
    result = downsample_hourly.apply(kwargs={"run_id": run.pk}, task_id=task_id)
    assert result.state == "FAILURE" and isinstance(result.result, PoisonedTask)
    run.refresh_from_db()
    assert run.status == "failed" and run.finished is not None
    assert f"was delivered {2 + settings.TASK_MAX_REDELIVERIES} times" in run.errors
    assert run.details["task_id"] == task_id
    # Nothing ran: a run would have replaced the errors and set its own status.
    assert RetentionRun.objects.count() == 1
    get_redis().delete(delivery_key(task_id, 0))


@pytest.mark.django_db
def test_a_refused_task_without_a_run_id_records_a_failed_run_of_its_operation():
    from retention.archive.tasks import archive

    task_id = uuid.uuid4().hex
    for _ in range(1 + settings.TASK_MAX_REDELIVERIES):
        count_delivery(task_id)
    result = archive.apply(task_id=task_id)
    assert result.state == "FAILURE"
    run = RetentionRun.objects.get()
    assert (run.operation, run.status) == ("archive", "failed")
    assert "out of memory or killed" in run.errors
    get_redis().delete(delivery_key(task_id, 0))


@pytest.mark.django_db
def test_a_refused_collect_is_a_failed_run_of_its_provider_config():
    from collectors.models import CollectorRun
    from collectors.tasks import collect
    from enrich.models import ProviderConfig, Site

    site = Site.objects.create(name="home", latitude=47.6, longitude=-122.33)
    config = ProviderConfig.objects.create(
        site=site, source="air_quality", provider="airnow", api_key="k"
    )
    task_id = uuid.uuid4().hex
    for _ in range(1 + settings.TASK_MAX_REDELIVERIES):
        count_delivery(task_id)
    result = collect.apply(args=[config.pk], task_id=task_id)
    assert result.state == "FAILURE" and isinstance(result.result, PoisonedTask)
    run = CollectorRun.objects.get()  # the only run: the collection itself never started
    assert (run.source, run.provider, run.status) == ("air_quality", "airnow", "failed")
    assert run.task_id == task_id and "out of memory or killed" in run.error
    assert run.served == "nothing (the task was not run)"
    assert run.message == run.error  # the status page's last-run cell says why (it said nothing)
    get_redis().delete(delivery_key(task_id, 0))


@pytest.mark.django_db
def test_a_refused_task_closes_the_runs_its_dead_deliveries_left_running():
    """Scheduled (no run_id): each delivery that died left its own run "running"; the refused
    one marks them failed with the reason instead of adding one more run."""
    task_id = uuid.uuid4().hex
    left = [
        RetentionRun.objects.create(
            operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
            status=RetentionRun.Status.RUNNING,
            started="2026-01-01T02:00:00Z",
            details={"task_id": task_id},
        )
        for _ in range(1 + settings.TASK_MAX_REDELIVERIES)
    ]
    other = RetentionRun.objects.create(
        operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
        status=RetentionRun.Status.RUNNING,
        started="2026-01-01T02:00:00Z",
        details={"task_id": "another task"},
    )
    for _ in range(1 + settings.TASK_MAX_REDELIVERIES):
        count_delivery(task_id)
    result = downsample_hourly.apply(task_id=task_id)
    assert result.state == "FAILURE" and isinstance(result.result, PoisonedTask)
    assert RetentionRun.objects.count() == len(left) + 1
    for run in left:
        run.refresh_from_db()
        assert run.status == "failed" and run.finished is not None
        assert "its worker died each time" in run.errors and run.details["worker_lost"]
    other.refresh_from_db()
    assert other.status == "running"
    get_redis().delete(delivery_key(task_id, 0))
