"""The one Redis lock (enrich.redis.lock) against the real Redis: the parts the archive and
the view locks use (names of several parts, `keep()`, `taken()`)."""

import logging
import uuid

import pytest
from celery import shared_task

from enrich.errors import Permanent
from enrich.redis.client import get_redis
from enrich.redis.lock import LockLost, RunLock, lock_key


@pytest.fixture(autouse=True)
def own_prefix(settings):
    """Locks of this test under their own prefix (parallel test runs share Redis)."""
    settings.REDIS_KEY_PREFIX = f"test-lock-{uuid.uuid4().hex[:8]}"
    yield settings.REDIS_KEY_PREFIX
    keys = list(get_redis().scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*"))
    if keys:
        get_redis().delete(*keys)


def test_a_name_of_several_parts_is_one_key_with_each_part_escaped(own_prefix):
    assert lock_key("retention", "archive") == f"{own_prefix}:lock:retention:archive"
    assert lock_key("alert:7") == f"{own_prefix}:lock:alert%3A7"
    assert RunLock("retention", "view", "v1").key == f"{own_prefix}:lock:retention:view:v1"
    with pytest.raises(TypeError):
        RunLock()


def test_keep_renews_and_raises_when_the_lock_was_lost():
    first = RunLock("job", owner="first", ttl_seconds=30)
    assert first.acquire()
    first.keep()
    assert get_redis().pttl(first.key) > 29_000
    get_redis().delete(first.key)  # expired meanwhile ...
    second = RunLock("job", owner="second", ttl_seconds=30)
    assert second.acquire()  # ... and taken by another run
    with pytest.raises(LockLost, match="lost to second since") as caught:
        first.keep()
    assert isinstance(caught.value, Permanent)  # not worth retrying: another run has it
    assert second.holder().startswith("second since ")


def test_taken_tries_once_and_releases_on_leaving():
    with RunLock("job", owner="first").taken() as mine:
        assert mine
        with RunLock("job", owner="second").taken() as theirs:
            assert not theirs
        assert get_redis().get(lock_key("job")).startswith("first since ")  # still held
    assert get_redis().get(lock_key("job")) is None


def test_taken_releases_after_an_error_and_logs_a_lock_that_expired_meanwhile(caplog):
    with pytest.raises(RuntimeError), RunLock("job").taken() as mine:
        assert mine
        raise RuntimeError("the work failed")
    assert get_redis().get(lock_key("job")) is None
    with caplog.at_level(logging.WARNING, logger="enrich.redis.lock"):
        with RunLock("job").taken() as mine:
            get_redis().delete(lock_key("job"))  # expired under the run
        assert mine
    assert "not released: it expired meanwhile" in caplog.text


@shared_task(name="tests.take_lock_in_a_task")
def _take(name: str) -> bool:
    return RunLock(name, owner="task").acquire()  # held on: as by a delivery that died


def test_a_task_delivered_again_takes_over_the_lock_of_its_dead_delivery(caplog):
    """The same task id (Celery's redelivery after the worker died) takes the lock over; any
    other task, or code outside a task, finds it held."""
    assert _take.apply(args=["job"], task_id="first").get() is True
    assert _take.apply(args=["job"], task_id="other").get() is False
    assert RunLock("job", owner="command").acquire() is False
    with caplog.at_level(logging.WARNING, logger="enrich.redis.lock"):
        assert _take.apply(args=["job"], task_id="first").get() is True
    assert "an earlier delivery of this task, whose worker died" in caplog.text
    assert get_redis().get(lock_key("job")).endswith(" task first]")
    assert _take.apply(args=["job"], task_id="irst").get() is False  # the whole id
