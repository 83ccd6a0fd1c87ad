"""Running scripts/services.sh in the tests, and the machines it meets: programs missing, a
user who is not root, servers of the test's own."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.support.ports import free_port
from tests.support.redis_server import asking_once

ROOT = Path(__file__).resolve().parent.parent.parent


def ran(service: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """scripts/services.sh <service> run to its end, whatever its exit status."""
    return subprocess.run(
        ["scripts/services.sh", service], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=90,
    )  # fmt: skip


def started(service: str, env: dict[str, str]) -> str:
    """What scripts/services.sh <service> said (stderr), once it succeeded."""
    done = ran(service, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


def path_without(tmp_path: Path, *missing: str, **stand_ins: str) -> str:
    """A PATH holding every program of this one but `missing`, as on a machine without them,
    and the shell scripts `stand_ins` under their names (in place of the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in stand_ins.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o755)
    for directory in [*os.environ["PATH"].split(os.pathsep), "/usr/sbin", "/sbin"]:
        folder = Path(directory)
        if not folder.is_dir():
            continue
        for program in folder.iterdir():
            link = bin_dir / program.name
            if program.name in missing or link.exists() or not os.access(program, os.X_OK):
                continue
            link.symlink_to(program)
    return str(bin_dir)


def not_root(tmp_path: Path, *missing: str, **stand_ins: str) -> dict[str, str]:
    """The environment of a user who is not root (`id -u` says 1000), on a machine without
    `missing`; apt-get records its calls (with its umask and DEBIAN_FRONTEND) in
    tmp_path/apt-get.calls and installs nothing; the system's services are left alone."""
    calls = tmp_path / "apt-get.calls"
    apt_get = f'echo "apt-get $* (umask $(umask), DEBIAN_FRONTEND=$DEBIAN_FRONTEND)" >>{calls}'
    path = path_without(
        tmp_path, *missing,
        id='case "$1" in -u) echo 1000 ;; -un) echo someone ;; *) exec /usr/bin/id "$@" ;; esac',
        **{"apt-get": apt_get, "systemctl": "", "service": "", "update-rc.d": "", **stand_ins},
    )  # fmt: skip
    return dict(os.environ, PATH=path, ENRICH_REDIS_PORT=str(free_port()))


def redis_running(port: int, password: str | None = None) -> redis.Redis:
    """A client of the test's own Redis on `port`, once that answers."""
    client = asking_once(port=port, password=password, decode_responses=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"the test's Redis on {port} did not start")


def beside_a_web_server(service: str, port_setting: str, directory: Path):
    """scripts/services.sh <service> run with another server (python's http.server) on the
    port `port_setting` gives it: that port, and the run."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert listening(port), "the test's web server did not start"
        return port, ran(service, dict(os.environ, **{port_setting: str(port)}))
    finally:
        server.terminate()
        server.wait(10)


def listening(port: int, seconds: float = 10) -> bool:
    """Whether something listens on 127.0.0.1:`port` within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def logins_tried(
    service: str, env: dict[str, str], name: str, wrong: str, right: str, directory: Path
) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess, str]:
    """scripts/services.sh <service> before a server that asks for a login: run without the
    URL `name`, run with the `wrong` one, and what it said (stderr) once a .env in `directory`
    gives the `right` one (as .env gives it to `make run`'s processes)."""
    refused = ran(service, env)
    wrong_one = ran(service, dict(env, **{name: wrong}))
    dotenv = directory / ".env"
    dotenv.write_text(f"LATITUDE=52.5\n{name}={right}\n")
    return refused, wrong_one, started(service, dict(env, ENRICH_ENV_FILE=str(dotenv)))
