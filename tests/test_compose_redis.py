"""docker-compose.yml's Redis asks the password scripts/init-env wrote, run for real: the service's
own command, rendered by compose's rules from that .env, started here with the container's
environment. No port is published, but every user of the docker host reaches the container's
address on the compose network: without a password they could read the caches and the tokens
in them, and queue Celery tasks."""

import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from kombu import Connection

from tests.support import worker as worker_support
from tests.support.compose import COMPOSE, INIT_ENV, interpolated, read_dotenv
from tests.support.ports import free_port
from tests.support.redis_server import asking_once

# The image's entrypoint, started by a user other than root (as here: docker runs it as root,
# and it starts itself again as the user redis with gosu), ends in `exec "$@"`. This stand-in
# notes the arguments it was given (its command line and redis-server's), then does that, with
# a free port, the test's folder and loopback added (`-` stays the first argument, where
# redis-server reads its config from stdin).
ENTRYPOINT = """#!/bin/sh
printf '%s\\n' "$@" >"$TEST_REDIS_DIR/argv"
exec "$@" --port "$TEST_REDIS_PORT" --bind 127.0.0.1 --dir "$TEST_REDIS_DIR" --save ""
"""


def raw(port: int, line: str) -> str:
    """What Redis answers a client that sends only `line`, as `nc` from the docker host would."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(line.encode() + b"\r\n")
        return conn.recv(256).decode()


@pytest.fixture(name="compose_redis")
def compose_redis_fixture(tmp_path):
    """The `redis` service as compose starts it after `scripts/init-env`: its command and
    environment, its healthcheck, the app's environment, the password, and its process."""
    dotenv = tmp_path / ".env"
    subprocess.run([INIT_ENV, dotenv], check=True, capture_output=True, timeout=30)
    password = read_dotenv(dotenv)["REDIS_PASSWORD"]
    services = interpolated(COMPOSE["services"], read_dotenv(dotenv))
    service = services["redis"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker-entrypoint.sh").write_text(ENTRYPOINT)
    (bin_dir / "docker-entrypoint.sh").chmod(0o755)
    port = free_port()
    # The container's environment: the image's PATH, and what compose sets. Docker starts the
    # command through the image's entrypoint, which for a first argument `sh` only sets the
    # umask and execs it.
    container_env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", **service["environment"]}
    log = (tmp_path / "redis.log").open("w+")
    proc = subprocess.Popen(
        service["command"],
        cwd=tmp_path,
        env=container_env | {"TEST_REDIS_PORT": str(port), "TEST_REDIS_DIR": str(tmp_path)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    try:
        worker_support.until(lambda: "NOAUTH" in answer_or_empty(port), proc, seconds=20)
        yield {
            "service": service,
            "app": services["web"]["environment"],
            "env": container_env,
            "password": password,
            "port": port,
            "proc": proc,
            "argv": (tmp_path / "argv").read_text().splitlines(),
        }
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def answer_or_empty(port: int) -> str:
    try:
        return raw(port, "PING")
    except OSError:
        return ""


def test_a_client_without_the_password_is_refused(compose_redis):
    port = compose_redis["port"]
    assert raw(port, "PING").startswith("-NOAUTH Authentication required")
    assert raw(port, "KEYS *").startswith("-NOAUTH")
    assert raw(port, "LPUSH collectors task").startswith("-NOAUTH")  # no task can be queued
    with pytest.raises(redis.exceptions.AuthenticationError):
        asking_once(port=port).get("enrich:anything")
    wrong = asking_once(port=port, password="not-" + compose_redis["password"])
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()


def test_the_apps_redis_url_logs_in_as_cache_and_as_celerys_broker(compose_redis):
    url = compose_redis["app"]["REDIS_URL"]
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == ("redis", 6379, "/0")
    assert parts.password == compose_redis["password"]  # nothing in it needed quoting
    here = url.replace("@redis:6379/", f"@127.0.0.1:{compose_redis['port']}/")
    client = redis.Redis.from_url(here)
    assert client.ping() is True
    client.set("enrich:test", "value")
    assert client.get("enrich:test") == b"value"
    with Connection(here) as broker:
        queue = broker.SimpleQueue("compose-redis-test")
        queue.put({"task": "ping"})
        assert queue.get(timeout=5).payload == {"task": "ping"}
        queue.close()


def test_the_healthcheck_logs_in_and_fails_without_the_password(compose_redis):
    kind, *check = compose_redis["service"]["healthcheck"]["test"]
    assert kind == "CMD" and check[0] == "redis-cli"
    argv = [check[0], "-p", str(compose_redis["port"]), *check[1:]]  # the test's port

    def run(env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)

    env = compose_redis["env"]  # docker runs a check with the container's environment
    healthy = run(env)
    assert (healthy.returncode, healthy.stdout.strip()) == (0, "PONG"), healthy.stderr
    # A Redis that refuses the check's PING is unhealthy, not healthy with an error printed.
    without = run({k: v for k, v in env.items() if k != "REDISCLI_AUTH"})
    assert without.returncode != 0
    assert "NOAUTH" in without.stdout + without.stderr
    wrong = run(env | {"REDISCLI_AUTH": "not-" + compose_redis["password"]})
    assert wrong.returncode != 0


def test_the_password_is_on_no_command_line_and_docker_stop_reaches_redis(compose_redis):
    """`ps` shows every process's command line to every user of the host; docker stop sends
    SIGTERM to the container's first process, which must be redis-server itself (it saves and
    exits) rather than a shell that ignores it."""
    password = compose_redis["password"]
    service = compose_redis["service"]
    assert password not in " ".join(service["command"] + service["healthcheck"]["test"])
    # What the container's shell made of the command: the entrypoint's and redis-server's.
    assert compose_redis["argv"][0] == "redis-server"
    assert password not in "\n".join(compose_redis["argv"])
    proc = compose_redis["proc"]
    proc_dir = Path(f"/proc/{proc.pid}")
    assert (proc_dir / "comm").read_text().strip() == "redis-server"  # exec'd, not a child
    assert password.encode() not in (proc_dir / "cmdline").read_bytes()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    proc.log.seek(0)
    assert "ready to exit" in proc.log.read()
