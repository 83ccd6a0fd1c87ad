"""scripts/services.sh on the machines it meets: a user who is not root, with or without sudo;
a Redis that asks for a password, or another server, on its port."""

import os
import socket
import subprocess
from urllib.parse import quote

import pytest
import redis

from tests.support.ports import free_port
from tests.support.services import (
    ROOT,
    beside_a_web_server,
    logins_tried,
    not_root,
    ran,
    redis_running,
    started,
)


def test_without_sudo_it_says_what_to_run_as_root_before_installing_anything(tmp_path):
    # Not root and no sudo: "sudo: command not found" midway, exit 127, and no word of what to
    # do. Now it stops before the step and names the command to run as root.
    done = ran("redis", not_root(tmp_path, "sudo", "redis-server"))
    assert done.returncode == 1, done.stderr
    assert "installing redis-server needs root, and sudo is not installed" in done.stderr
    assert "apt-get update && apt-get install -y redis-server" in done.stderr
    assert "command not found" not in done.stderr
    assert not (tmp_path / "apt-get.calls").exists()  # nothing half-done


def test_when_sudo_refuses_it_says_what_to_run_as_root(tmp_path):
    refusing = 'echo "someone is not in the sudoers file." >&2; exit 1'
    done = ran("redis", not_root(tmp_path, "redis-server", sudo=refusing))
    assert done.returncode == 1, done.stderr
    assert "installing redis-server needs root, and sudo refused" in done.stderr
    assert "apt-get update && apt-get install -y redis-server" in done.stderr
    assert not (tmp_path / "apt-get.calls").exists()


def test_through_sudo_apt_asks_no_questions_and_installs_with_the_usual_umask(tmp_path):
    # sudo resets the environment: the DEBIAN_FRONTEND=noninteractive put before it never
    # reached apt-get, whose debconf could stop `make run` with questions. And apt's package
    # scripts, which write files every user must read, ran with the script's umask 077.
    sudo = '[ "$1" = -v ] && exit 0; exec env -i PATH="$PATH" "$@"'  # as sudo's env_reset
    done = ran("redis", not_root(tmp_path, "redis-server", sudo=sudo))
    calls = (tmp_path / "apt-get.calls").read_text().splitlines()
    assert calls == [
        "apt-get update -qq (umask 0022, DEBIAN_FRONTEND=)",
        "apt-get install -y -qq redis-server (umask 0022, DEBIAN_FRONTEND=noninteractive)",
    ], done.stderr


def test_without_sudo_what_runs_already_is_used(tmp_path):
    # Root is needed only to install: a Redis that answers is used without asking for sudo.
    env = not_root(tmp_path, "sudo", "redis-server")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        redis_running(port)
        said = started("redis", dict(env, ENRICH_REDIS_PORT=str(port)))
        assert f"redis: running on 127.0.0.1:{port}" in said
    finally:
        server.terminate()
        server.wait(10)


def test_a_redis_that_asks_for_a_password_is_named_and_used_with_redis_urls(tmp_path):
    # A Redis with requirepass on the port answered PING with NOAUTH, which the script took
    # for no Redis: it started a second one on the taken port (which failed, in var/log/) and,
    # as redis-cli's NOAUTH exits 0, said "redis: starting" and succeeded: `make run` went on
    # with a Redis its processes could not log in to. Now it says what it found and how to set
    # REDIS_URL, and uses it once REDIS_URL (as .env gives it to `make run`'s processes) opens it.
    port = free_port()
    password = "s3cret/with:odd@chars"
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--requirepass", password],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    env = dict(os.environ, ENRICH_REDIS_PORT=str(port), ENRICH_ENV_FILE="none")
    env.pop("REDIS_URL", None)
    try:
        client = redis_running(port, password)
        client.set("enrich:kept", "yes")
        url = f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"
        wrong_url = f"redis://:wrong@127.0.0.1:{port}/0"
        refused, wrong, said = logins_tried("redis", env, "REDIS_URL", wrong_url, url, tmp_path)
        assert refused.returncode == 1
        assert f"the Redis on 127.0.0.1:{port} asks for a password (requirepass)" in refused.stderr
        assert "REDIS_URL is not set" in refused.stderr
        assert f"REDIS_URL=redis://:PASSWORD@127.0.0.1:{port}/0" in refused.stderr
        assert "starting" not in refused.stderr
        assert wrong.returncode == 1 and "does not give the right one" in wrong.stderr
        assert f"redis: running on 127.0.0.1:{port}, with a password: REDIS_URL's opens it" in said
        assert password not in said
        # The same URL is what the processes then use, and the Redis found is the one there was.
        assert redis.Redis.from_url(url, decode_responses=True).get("enrich:kept") == "yes"
    finally:
        server.terminate()
        server.wait(10)


def test_make_test_checks_the_redis_url_the_tests_use():
    # `make test` gives the tests REDIS_URL (no password) and no .env: services.sh checks that
    # one against a Redis that wants a password, not the REDIS_URL of `make run`'s .env.
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    line = next(line for line in dry_run.splitlines() if "scripts/services.sh redis" in line)
    settings = line[: line.index("scripts/services.sh")].split()
    assert "REDIS_URL=redis://127.0.0.1:6379/12" in settings
    assert "ENRICH_ENV_FILE=none" in settings


def test_another_server_on_the_redis_port_is_named_not_fought(tmp_path):
    # Something else on the port (here a web server) was taken for no Redis: the script started
    # one on the taken port and waited 15 s for it. Now it says what answered, at once.
    port, done = beside_a_web_server("redis", "ENRICH_REDIS_PORT", tmp_path)
    assert done.returncode == 1
    assert f"127.0.0.1:{port} answers PING with '<!DOCTYPE HTML>'" in done.stderr
    assert "set ENRICH_REDIS_PORT (and REDIS_URL) to a free port" in done.stderr
    assert "starting" not in done.stderr


def test_a_redis_url_naming_ipv6_loopback_is_checked_like_127_0_0_1():
    # REDIS_URL=redis://:PASSWORD@[::1]:6379/0 gave the host "[::1]", brackets and all, which
    # was neither 127.0.0.1 nor localhost: the Redis asking for a password was "left alone" as
    # another one, with a wrong password too, and `make run` went on with a login its processes
    # could not use. Now [::1] is loopback, and the password is checked there.
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback on this machine")
    both, v4_only = free_port(), free_port()
    command = ["redis-server", "--save", "", "--requirepass", "s3cret"]
    servers = [
        subprocess.Popen([*command, "--port", str(port), "--bind", bind], stdout=subprocess.DEVNULL)
        for port, bind in ((both, "127.0.0.1 ::1"), (v4_only, "127.0.0.1"))
    ]
    env = dict(os.environ, ENRICH_REDIS_PORT=str(both), ENRICH_ENV_FILE="none")
    try:
        for port in (both, v4_only):
            redis_running(port, "s3cret")
        said = started("redis", dict(env, REDIS_URL=f"redis://:s3cret@[::1]:{both}/0"))
        assert f"redis: running on 127.0.0.1:{both}, with a password: REDIS_URL's opens it" in said
        wrong = ran("redis", dict(env, REDIS_URL=f"redis://:wrong@[::1]:{both}/0"))
        assert wrong.returncode == 1 and "does not give the right one" in wrong.stderr
        # A Redis on 127.0.0.1 only is not there for processes that ask [::1].
        env.update(ENRICH_REDIS_PORT=str(v4_only), REDIS_URL=f"redis://:s3cret@[::1]:{v4_only}/0")
        unreached = ran("redis", env)
        assert unreached.returncode == 1
        assert f"REDIS_URL names ::1, where no Redis answers on port {v4_only}" in unreached.stderr
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
