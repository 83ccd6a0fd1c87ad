"""Celery wiring: JSON only, explicit queues, routes by name, and a real worker on Redis."""

from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from config.celery import QUEUES, app
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
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


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
