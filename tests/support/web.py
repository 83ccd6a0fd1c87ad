"""The web app as deployed: gunicorn in a child process, on the test database."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests.support import worker as support
from tests.support.ports import free_port


@contextmanager
def gunicorn(timeout: int = 300, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The web app as deployed (gunicorn, one sync worker, its worker timeout `timeout` s:
    WEB_TIMEOUT, which gunicorn.conf.py and the app read) on the test database (or the
    DATABASE_URL in `env`); its URL."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")
    env = {"DATABASE_URL": support.test_database_url(), "WEB_TIMEOUT": str(timeout), **env}
    proc = subprocess.Popen(
        [sys.executable, *support.QUICK_EXIT, "gunicorn", "config.wsgi:application",
         "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        cwd=support.ROOT, env=dict(os.environ, **env),
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    proc.log = log
    url = f"http://127.0.0.1:{port}"
    try:
        first_answer(f"{url}/admin/login/", proc)
        yield url, proc
    finally:
        try:
            support.stop(proc)
        finally:
            log.close()


def first_answer(url: str, proc: subprocess.Popen, timeout: float = 60) -> requests.Response:
    """The first answer of the server `proc` starts (one with a `log`) at `url`, once it
    listens; fail with its log when it exits or has not answered within `timeout` s. Its
    worker may still be loading the app when the server listens (about 10 s on a loaded
    machine): the answer is waited for until the deadline, not for a fixed few seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            left = max(deadline - time.monotonic(), 1)
            return requests.get(url, timeout=(left, left), allow_redirects=False)
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{proc.args[:3]} did not start:\n{support.output(proc)}")
            time.sleep(0.2)
        except requests.Timeout:
            pytest.fail(f"{proc.args[:3]} did not answer:\n{support.output(proc)}")
