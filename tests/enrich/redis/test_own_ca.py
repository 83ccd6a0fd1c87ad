"""Redis over TLS with a certificate the home signed itself: a redis-server of the test's own
answering only on its `--tls-port`, its certificate signed by a CA made for the test, and
REDIS_URL `rediss://…?ssl_ca_certs=<the CA>` as docs/configuration.md gives it. A Celery
worker takes a task from that broker and stores its result there (Celery's result store refuses
a rediss:// URL without `ssl_cert_reqs`: enrich gives it redis-py's default, `required`), and
beat starts on it; without the CA, enrich's Redis door says the certificate failed the check."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest
import redis

from enrich.redis.client import RedisUnavailable, get_redis, reachable
from tests.support import worker as workers
from tests.support.ports import free_port
from tests.support.tls import OwnCa, own_ca
from tests.support.worker import QUICK_EXIT, ROOT

CELERY = [sys.executable, *QUICK_EXIT, "celery", "-A", "config"]


@pytest.fixture
def home_ca(tmp_path) -> OwnCa:
    return own_ca(tmp_path / "ca")


@pytest.fixture
def tls_redis(home_ca) -> Iterator[str]:
    """REDIS_URL of a Redis answering only over TLS, verified with the home's CA."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(home_ca.certificate), "--tls-key-file", str(home_ca.key),
         "--tls-ca-cert-file", str(home_ca.ca), "--tls-auth-clients", "no", "--save", "",
         "--appendonly", "no", "--dir", tempfile.gettempdir()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://localhost:{port}/0?ssl_ca_certs={home_ca.ca}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis.from_url(url, socket_connect_timeout=1).ping():
                break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "the TLS redis-server did not start"
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def env_of(url: str) -> dict[str, str]:
    env = dict(os.environ, REDIS_URL=url, DATABASE_URL=workers.test_database_url())
    env.update(CELERY_SKIP_CHECKS="1", REDIS_KEY_PREFIX="test_own_ca")
    # The alert check's round trip raises no alert: the tests' Home Assistant database does not
    # exist, which HA_SILENT_HOURS=0 leaves unchecked (tests/support/ha_silence.py).
    env["HA_SILENT_HOURS"] = "0"
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)
    return env


@pytest.mark.django_db(transaction=True)  # the beat writes its schedule into the database
def test_a_worker_and_beat_run_on_rediss_with_the_home_s_ca(tls_redis, tmp_path):
    env = env_of(tls_redis)
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [*CELERY, "worker", "-Q", "collectors,retention,default", "-P", "solo", "-c", "1",
             "-n", f"own-ca-{os.getpid()}@%h", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        sent = subprocess.run(
            [sys.executable, *QUICK_EXIT, "django", "shell", "-c",
             "from config.celery import app; "
             "print(app.send_task('retention.check_alerts').get(timeout=60))"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert sent.returncode == 0, f"{sent.stderr}\n{log.read_text()}"
        assert "'raised': []" in sent.stdout
    finally:
        worker.terminate()
        worker.wait(30)
    # Beat: its lock (who sends the periodic tasks) is taken on that Redis.
    with open(tmp_path / "beat.log", "w") as out:
        beat = subprocess.Popen(
            [*CELERY, "beat", "-l", "info", "--pidfile=", "-s", str(tmp_path / "schedule")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        assert said(tmp_path / "beat.log", "sends the periodic tasks", beat)
    finally:
        beat.terminate()
        beat.wait(30)


def said(log, words: str, proc: subprocess.Popen) -> bool:
    """Whether `proc` logged `words` before it ended (or 60 s passed)."""
    deadline = time.monotonic() + 60
    while words not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            return words in log.read_text()
        time.sleep(0.2)
    return True


def test_without_the_ca_the_redis_door_says_how_to_give_it(tls_redis, settings):
    settings.REDIS_URL = tls_redis.partition("?")[0]
    with pytest.raises(RedisUnavailable) as refused, reachable("The rate limit memory"):
        get_redis().ping()
    said = str(refused.value)
    assert "certificate verify failed" in said
    assert "give that CA's PEM file in REDIS_URL (rediss://…?ssl_ca_certs=" in said
