"""The one Redis lock (enrich.redis.lock) against the real Redis: the parts the archive and
the view locks use (names of several parts, `keep()`, `taken()`), and `kept_alive()`, held by a
thread of a real process that is then killed."""

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import shared_task

from enrich.errors import Permanent
from enrich.redis.client import get_redis
from enrich.redis.lock import LockLost, RunLock, lock_key
from tests.support.redis_server import OwnRedis
from tests.support.worker import until


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


def test_kept_alive_holds_the_lock_through_a_step_longer_than_its_expiry_then_releases_it():
    # Renewed every 0.1 s, expiring after 2.4 s: only a stall of the whole process longer than
    # 2.3 s could let it expire (1.2 s did once, in CI on 6e19e6f, beside 3 busy test workers).
    lock = RunLock("job", owner="first", ttl_seconds=2.4)
    with lock.kept_alive(interval=0.1):
        deadline = time.monotonic() + 6.0  # one long step: two and a half expiries
        while time.monotonic() < deadline:
            assert 0 < get_redis().pttl(lock.key) <= 2400
            assert not RunLock("job", owner="second").acquire()
            time.sleep(0.05)
        assert lock.holder().startswith("first since ")
    assert get_redis().exists(lock.key) == 0


def test_kept_alive_takes_the_lock_again_when_it_is_gone_and_logs_one_lost_to_another(caplog):
    lock = RunLock("job", owner="first", ttl_seconds=0.4)
    with caplog.at_level(logging.WARNING, logger="enrich.redis.lock"), lock.kept_alive():
        get_redis().delete(lock.key)  # a Redis restarted without it
        until(lambda: (lock.holder() or "").startswith("first since "), seconds=10)
        get_redis().set(lock.key, "second since then [x]")  # expired and taken meanwhile
        lost = "lock " + lock.key + " lost to second since then (it expired)"
        until(lambda: lost in caplog.text, seconds=10)
        assert lock.holder() == "second since then"
    assert lock.holder() == "second since then"  # not released by the first


HOLDER = """
import sys, time
import django
django.setup()
from enrich.redis.lock import RunLock
with RunLock("job", owner="the holder", ttl_seconds=float(sys.argv[1])).kept_alive():
    print("held", flush=True)
    time.sleep(3600)  # one long step
"""


def test_a_lock_kept_alive_lapses_within_its_expiry_once_its_process_is_killed(own_prefix):
    ttl = 1.0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ttl)],
        cwd=Path(__file__).resolve().parents[3],
        env=dict(os.environ, REDIS_KEY_PREFIX=own_prefix),
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline() == b"held\n"
        time.sleep(2 * ttl)  # alive, its process keeps the lock
        assert RunLock("job").holder().startswith("the holder since ")
        assert get_redis().pttl(lock_key("job")) > 0
        holder.kill()  # SIGKILL: nothing released
        holder.wait(10)
        died = time.monotonic()
        assert RunLock("job").holder() is not None
        assert RunLock("job", owner="next").acquire(wait_seconds=10)
        assert time.monotonic() - died <= ttl + 0.5
    finally:
        holder.kill()
        holder.wait(10)


def test_release_quietly_logs_a_redis_out_of_reach_and_leaves_a_lock_not_held_alone(
    settings, caplog
):
    redis, ours = OwnRedis(), settings.REDIS_URL
    settings.REDIS_URL = redis.url
    try:
        held, not_held = RunLock("job", owner="first"), RunLock("other")
        assert held.acquire()
        redis.stop()
        with caplog.at_level(logging.WARNING, logger="enrich.redis.lock"):
            not_held.release_quietly()  # asks Redis nothing: no warning
            assert caplog.text == ""
            held.release_quietly()  # a `finally` goes on; the lock expires by itself
    finally:
        redis.stop()
        settings.REDIS_URL = ours  # the prefix fixture cleans up in the test Redis
    assert f"lock {held.key} not released (it expires by itself): " in caplog.text
    assert f"127.0.0.1:{redis.port}" in caplog.text
