"""docker-compose.yml's healthchecks of the beat and Flower, run for real: the service's own
command started here as docker would start it, and the healthcheck's exact line against it.
Without them a dead or hung beat silently stopped every schedule while `docker compose ps`
showed nothing wrong."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from enrich.redis import alive
from tests.support import worker as worker_support
from tests.support.compose import COMPOSE, ROOT, commands_of
from tests.support.ports import free_port

SERVICES = COMPOSE["services"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a container of ours: the test database, an own Redis key prefix."""
    return dict(
        os.environ,
        DATABASE_URL=worker_support.test_database_url(),
        CELERY_SKIP_CHECKS="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **extra,
    )


def run_check(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    """A healthcheck's CMD line, run as docker runs it (no shell) in the image's directory."""
    assert argv[0] == "python"
    return subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_every_service_has_a_healthcheck():
    """Docker says a container is unhealthy only if it has a check: without one a process that
    hangs (a beat that no longer ticks) shows as up."""
    missing = [name for name, service in SERVICES.items() if "healthcheck" not in service]
    assert missing == []


@pytest.mark.django_db(transaction=True)
def test_the_beat_is_healthy_exactly_while_it_ticks(tmp_path, settings):
    kind, *check = SERVICES["beat"]["healthcheck"]["test"]
    assert kind == "CMD"
    assert check[-2:] == ["--max-age", "60"]
    settings.REDIS_KEY_PREFIX = f"test-beat-health-{uuid.uuid4().hex[:8]}"
    env = child_env(REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX)

    never = run_check(check, env)  # no beat has run with this Redis
    assert never.returncode == 1
    assert "No beat tick is recorded" in never.stderr

    def ticked_since(moment: float):
        """The beat's last tick when it is later than `moment` (read here, in-process: the
        check's own process is started only once the state it judges is there)."""
        tick = alive.last_beat()
        return tick if tick and tick["at"] > moment else None

    (argv,) = commands_of(SERVICES["beat"])
    beat = worker_support.started(argv, env, tmp_path / "beat.log")
    try:
        worker_support.until(lambda: ticked_since(0), beat)
        healthy = run_check(check, env)
        assert healthy.returncode == 0, healthy.stderr
        assert healthy.stdout.startswith("beat ok: last tick ")
        # Hung (stopped by a signal): alive as a process, but it ticks no more. The same line
        # with a limit of 2 s, not 60, turns unhealthy once its last tick is older.
        beat.send_signal(signal.SIGSTOP)
        last = alive.last_beat()["at"]
        time.sleep(max(0.0, last + 2.5 - time.time()))
        assert ticked_since(last) is None  # stopped: no tick since
        short = [*check[:-1], "2"]
        hung = run_check(short, env)
        assert hung.returncode == 1
        assert "the beat has stopped or hangs, so no schedule runs" in hung.stderr
        beat.send_signal(signal.SIGCONT)
        worker_support.until(lambda: ticked_since(last), beat)  # it ticks again
    finally:
        beat.send_signal(signal.SIGCONT)
        worker_support.stop(beat)
        beat.log.close()


def test_flower_is_healthy_exactly_while_it_answers_behind_its_login(tmp_path):
    kind, *check = SERVICES["flower"]["healthcheck"]["test"]
    assert kind == "CMD"
    assert "http://127.0.0.1:5555/healthcheck" in check[-1]
    assert SERVICES["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    (argv,) = commands_of(SERVICES["flower"])
    assert "--port=5555" in argv
    # Another port than 5555 (something of this machine may hold it), in both.
    port = str(free_port())
    argv = [a.replace("5555", port) for a in argv]
    check = [a.replace(":5555/", f":{port}/") for a in check]
    env = child_env(FLOWER_BASIC_AUTH="admin:flower-test-password")

    assert run_check(check, env).returncode != 0  # nothing answers yet
    flower = worker_support.started(argv, env, tmp_path / "flower.log")
    try:
        worker_support.until(lambda: run_check(check, env).returncode == 0, flower)
        # The login still holds everywhere else.
        import urllib.error
        import urllib.request

        for page in ("/", "/tasks", "/api/workers", "/api/tasks"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=5)
            assert refused.value.code == 401, page
        # Flower's Prometheus counts need none (docs/deployment.md says so; it said every page
        # but /healthcheck asked for the login).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as metrics:
            assert metrics.status == 200 and b"flower_" in metrics.read()
        docs = (ROOT / "docs" / "deployment.md").read_text()
        rows = [line for line in docs.splitlines() if line.startswith(("| Flower", "| `flower`"))]
        assert len(rows) == 2 and all("/metrics" in row for row in rows), rows
    finally:
        worker_support.stop(flower)
        flower.log.close()
    stopped = run_check(check, env)
    assert stopped.returncode != 0
    assert "Connection refused" in stopped.stderr
