"""A real Celery worker in a child process, on the real Redis broker and the test database."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.celery import QUEUES
from config.celery import app as celery_app
from tests.support.redis_server import asking_once

ROOT = Path(__file__).resolve().parents[2]
# `python -m <module>` as the tests run a worker or server: its process ends as soon as it is
# done (tests/support/quick_exit.py).
QUICK_EXIT = ("-m", "tests.support.quick_exit")


def test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def celery_worker(
    node: str = "test",
    *,
    app: str = "config",
    pool: str = "solo",
    max_tasks_per_child: int | None = None,
    **env_overrides: str,
) -> Iterator[subprocess.Popen]:
    """A worker with one process on all queues; `node` names it (two workers need two names).
    `app` is the module holding the Celery app; `pool` "prefork" runs tasks in a child process
    (one the task can kill without killing the worker), replaced after `max_tasks_per_child`
    tasks when given; the project's app is then tests.support.prefork_app (the same app, its
    pool quicker to replace a child that left)."""
    if pool == "prefork" and app == "config":
        app = "tests.support.prefork_app"
    # Django's system checks run once, in tests/test_settings.py, not at every worker's start.
    env = dict(os.environ, DATABASE_URL=test_database_url(), CELERY_SKIP_CHECKS="1")
    env.update(env_overrides)
    # The worker logs to a file, not a pipe: nobody reads a pipe while a test waits on a task,
    # and a worker whose pipe is full (a few tracebacks) blocks in its next log line.
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            *QUICK_EXIT,
            "celery",
            "-A",
            app,
            "worker",
            "-Q",
            ",".join(QUEUES),
            "-c",
            "1",
            "-P",
            pool,
            "-l",
            "info",
            "-n",
            f"{node}-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
            *(["--max-tasks-per-child", str(max_tasks_per_child)] if max_tasks_per_child else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    proc.node = f"{node}-{os.getpid()}@{socket.gethostname()}"
    proc.broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL", "")  # as config/broker.py
    try:
        yield proc
        if proc.poll() is None:
            _idle(proc, timeout=10)  # a test may leave a task running: then stop it anyway
    finally:
        try:
            stop(proc)
        finally:
            log.close()


def output(worker: subprocess.Popen) -> str:
    """The worker's output (stops it, once it runs no task, up to 10 s, as the `with` block's
    end does: a test reads it as soon as a run record says the task ended, while the task may
    still be finishing), for assertions and failure messages."""
    if getattr(worker, "node", None) and worker.poll() is None:  # a Celery worker, still up
        _idle(worker, timeout=10)
    stop(worker)
    return _tail(worker)


# A line the worker logged itself: "[<time>: LEVEL/<process>] message".
LINE = re.compile(r"^\[[^\]]*: (\w+)/\w+\] (.*)$")


def logged(log: str, level: str) -> list[str]:
    """The messages the worker logged at `level` (its own lines: a traceback's are not)."""
    return [m.group(2) for m in map(LINE.match, log.splitlines()) if m and m.group(1) == level]


def stop(proc: subprocess.Popen) -> None:
    """Tell the worker (or another child started with a `log`, e.g. a web server) to stop;
    fail with its log when it has not within 30 s."""
    proc.terminate()
    if getattr(proc, "broker", None):
        _wake(proc.broker)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the worker did not stop within 30 s:\n{_tail(proc)}") from None


def _wake(broker: str) -> None:
    """Wake the Celery workers waiting on `broker`'s queues, so one just told to stop stops now.
    A worker looks at its SIGTERM only when its loop wakes: when its BRPOP on the queues ends,
    at the latest after kombu's one-second brpop_timeout, up to a second more per worker stopped.
    CLIENT UNBLOCK ends the BRPOPs of the database at once with the answer of a timeout (nil),
    after which a worker not told to stop (another of the test's) asks again, as after any."""
    from enrich.redis.client import CONNECTION_ERRORS

    # A client of its own, tried once: a broker the test stopped costs no retries.
    redis = asking_once(broker, socket_connect_timeout=1, socket_timeout=1)
    try:
        database = redis.connection_pool.connection_kwargs.get("db", 0)
        for client in redis.client_list():
            blocked = "b" in client["flags"] and int(client["db"]) == database
            if blocked and client["cmd"] == "brpop":
                redis.client_unblock(client["id"])
    except CONNECTION_ERRORS:
        pass  # a broker the test stopped: the worker stops at its loop's next look
    finally:
        redis.close()


def wait_idle(worker: subprocess.Popen, timeout: float = 30) -> None:
    """Until the worker runs no task (fails with its log after `timeout` s)."""
    assert _idle(worker, timeout), _tail(worker)


def _idle(proc: subprocess.Popen, timeout: float) -> bool:
    """Whether the worker ran no task within `timeout` s. A task's result reaches the backend
    a moment before the worker hears it is done; a worker stopped in that moment waits out the
    task's hard time limit before it stops, so each worker is stopped once idle. One that ended
    (a fault the test caused may end it) answers nothing: the wait is over at once."""
    deadline = time.monotonic() + timeout
    while celery_app.control.inspect([proc.node], timeout=1, limit=1).active() != {proc.node: []}:
        if proc.poll() is not None or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _tail(proc: subprocess.Popen) -> str:
    """The log's last 20,000 characters: tests look for a line a few warnings back (the
    fault injected), failure messages show what led to the failure."""
    proc.log.seek(0)
    return proc.log.read()[-20_000:]


def followed(client, answer: dict, worker: subprocess.Popen, timeout: float = 90) -> dict:
    """The retention run of a 202 answer, polled at its `poll` URL (GET /retention/runs/<run_id>)
    with the API `client` until it is no longer running; the worker's output on timeout."""
    deadline = time.monotonic() + timeout
    while (run := client.get(answer["poll"]).json())["status"] == "running":
        assert time.monotonic() < deadline, output(worker)
        time.sleep(0.2)
    return run


def manage_in_child(*argv: str, timeout: int, **env: str) -> subprocess.CompletedProcess:
    """`manage.py *argv` in a child process on the test database, with `env` on top of ours;
    what it printed. Django's system checks are skipped (`--skip-checks`): they import every
    view and took half of such a child's CPU time."""
    return subprocess.run(
        [sys.executable, "manage.py", argv[0], "--skip-checks", *argv[1:]],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=test_database_url(), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def waiting_for_its_retry(run_id: int, worker, timeout: float = 60):
    """The RetentionRun once its first attempt failed and a retry is due (the worker's output
    if it ended instead, or nothing happened within `timeout` s)."""
    from retention.models import RetentionRun

    deadline = time.monotonic() + timeout
    while not (run := RetentionRun.objects.get(pk=run_id)).details.get("retries"):
        assert run.status == "running" and time.monotonic() < deadline, output(worker)
        time.sleep(0.05)
    return run


def retried_in_the_same_run(client, answer: dict, worker, proxy, error: str) -> dict:
    """The queued run of `answer` whose service (behind the closed `proxy`) was out of reach:
    while its retry is due it is not over and says why (`error`, the exception's name); then,
    `proxy` opened, the run as it ended, keeping that first retry in its details (the API shows
    its error without the quoted database names of the settings: enrich.addresses)."""
    run = waiting_for_its_retry(answer["run_id"], worker)
    assert (run.status, run.errors, run.finished) == ("running", "", None)
    [first] = run.details["retries"]
    assert first["error"].startswith(f"{error}: ") and first["retry"] == "1 of 3"
    proxy.open()
    try:
        done = followed(client, answer, worker)
    finally:
        proxy.close()
    shown = done["details"]["retries"][0]
    assert {**shown, "error": first["error"]} == first, shown
    assert shown["error"].startswith(f"{error}: "), shown
    return done


def started(argv: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """`python -m <argv>` (e.g. a beat, or Flower; through QUICK_EXIT) in a child process
    logging to `log_path`; stop it with `stop()` and close its `log`."""
    log = log_path.open("w+")
    proc = subprocess.Popen(
        [sys.executable, *QUICK_EXIT, *argv],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    return proc


def until(condition, proc: subprocess.Popen | None = None, seconds: float = 60):
    """Poll `condition()` until it returns something true, and return that; fail (with the log
    of `proc`, when one is watched) if `proc` stops or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if proc is not None:
            assert proc.poll() is None, f"it stopped:\n{_tail(proc)}"
        assert time.monotonic() < deadline, _tail(proc) if proc else f"not within {seconds} s"
        time.sleep(0.1)
    return result
