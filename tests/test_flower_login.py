"""Flower refuses to start without a usable login: FLOWER_BASIC_AUTH missing, or a user or a
password left empty, started it open (every page without a login) or let in `admin` with an
empty password, to anyone who reaches its port (on a docker host, every local user at the
container's address). Started as the Procfile and docker-compose.yml start it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.compose import ROOT
from tests.support.ports import free_port

CELERY = str(Path(sys.executable).parent / "celery")


def flower(login: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    if login is not None:
        env["FLOWER_BASIC_AUTH"] = login
    port = str(free_port())
    argv = [CELERY, "-A", "config", "flower", "--address=127.0.0.1", f"--port={port}"]
    try:
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as running:
        pytest.fail(f"Flower started with FLOWER_BASIC_AUTH={login!r}: {running.stderr}")


@pytest.mark.parametrize(
    ("login", "said"),
    [
        (None, "FLOWER_BASIC_AUTH is not set"),
        ("", "FLOWER_BASIC_AUTH is not set"),
        ("admin:", "FLOWER_BASIC_AUTH: the login 'admin' has a password of 0 characters"),
        (":flower-test-password", "FLOWER_BASIC_AUTH: a login has no user name"),
        ("admin", "FLOWER_BASIC_AUTH: 'admin' is not user:password"),
        ("admin:short", "FLOWER_BASIC_AUTH: the login 'admin' has a password of 5 characters"),
        (
            "admin:flower-test-password,guest:",
            "FLOWER_BASIC_AUTH: the login 'guest' has a password of 0 characters",
        ),
    ],
)
def test_flower_does_not_start_without_a_usable_login(login, said):
    stopped = flower(login)
    assert stopped.returncode == 1
    assert said in stopped.stderr
    assert "scripts/init-env" in stopped.stderr
    assert "Traceback" not in stopped.stderr
