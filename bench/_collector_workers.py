"""bench.collectors' Celery workers and one collection cycle through them.

A worker is a real `celery worker` process tree on the collectors queue, started with the
bench's environment (its own Redis key prefix, database and InfluxDB database). Several
workers get separate node names (`-n`), as separate machines would; they share the broker.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("carbon_intensity", "electricity_pricing")


@contextmanager
def celery_worker(log_path: Path, *, processes: int = 2, number: int = 0) -> Iterator[str]:
    """A real worker (prefork, `processes` processes) on the collectors queue; yields its
    node name."""
    from bench._celery import app

    node = f"bench-collectors-{os.getpid()}-{number}@{os.uname().nodename}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench._celery", "worker", "-Q", "collectors",
             "-c", str(processes), "-P", "prefork", "-l", "info", "-n", node,
             "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The bench's Celery worker did not start; see {log_path}.")
        yield node
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def celery_workers(log_dir: Path, workers: int | None) -> Iterator[list[str]]:
    """None: one worker of 2 processes (the Procfile's worker line). N: N workers of one
    process each, under separate node names; logs collectors-worker[-<n>].log."""
    with ExitStack() as stack:
        if workers is None:
            yield [stack.enter_context(celery_worker(log_dir / "collectors-worker.log"))]
            return
        yield [
            stack.enter_context(
                celery_worker(log_dir / f"collectors-worker-{n}.log", processes=1, number=n)
            )
            for n in range(workers)
        ]


def run_cycle(expected_runs_timeout: float) -> tuple[int, float]:
    """Send the dispatch tasks, wait for every collect run; (collect tasks, seconds)."""
    from bench._celery import app
    from collectors.models import CollectorRun

    started = time.monotonic()
    dispatches = [app.send_task(f"collectors.dispatch_{source}") for source in SOURCES]
    tasks = sum(result.get(timeout=expected_runs_timeout) for result in dispatches)
    deadline = started + expected_runs_timeout
    while CollectorRun.objects.count() < tasks:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"Only {CollectorRun.objects.count()} of {tasks} collect runs finished within "
                f"{expected_runs_timeout:.0f} s; see var/bench/collectors-worker*.log."
            )
        time.sleep(0.05)
    seconds = time.monotonic() - started
    for result in dispatches:
        result.forget()
    return tasks, seconds


def forget_cycle(ts, database: str) -> None:
    """Undo a cycle so the next one starts as the first did: no runs, no cached answers or
    spent budgets (the bench's Redis keys other than Celery's), an empty InfluxDB database."""
    from django.conf import settings

    from collectors.models import CollectorRun
    from enrich.redis.client import get_redis

    CollectorRun.objects.all().delete()
    redis = get_redis()
    celery = f"{settings.REDIS_KEY_PREFIX}:celery:"
    for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*", count=1000):
        if not key.startswith(celery):
            redis.delete(key)
    ts.drop_database(database)
    ts.create_database(database)
