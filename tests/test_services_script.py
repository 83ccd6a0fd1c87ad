"""scripts/services.sh: what it starts keeps what a user would expect of it."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import redis

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def _ran(service: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["scripts/services.sh", service], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=90,
    )  # fmt: skip


def _started(service: str, env: dict[str, str]) -> str:
    """What scripts/services.sh <service> said (stderr), once it succeeded."""
    done = _ran(service, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


def _services(port: int) -> None:
    _started("redis", dict(os.environ, ENRICH_REDIS_PORT=str(port)))


def test_a_redis_it_starts_keeps_its_data_across_a_restart():
    # The last good answers, the API budgets and the remembered refusals live in Redis: a
    # Redis started without snapshots lost them at every reboot, so an API failing after one
    # served nothing, and a day's budget started again from zero.
    port = free_port()  # a Redis of its own: the shared one is never stopped
    dump = ROOT / "var" / "redis" / f"dump-{port}.rdb"
    client = redis.Redis(port=port, decode_responses=True)
    try:
        _services(port)
        client.set("enrich:cache:last-good:carbon_intensity", "312 gCO2/kWh")
        client.shutdown()  # as at a reboot (SIGTERM): no explicit SAVE
        _services(port)
        assert client.get("enrich:cache:last-good:carbon_intensity") == "312 gCO2/kWh"
    finally:
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        dump.unlink(missing_ok=True)


def test_the_docs_say_which_local_services_ask_no_password():
    """The InfluxDB and Mosquitto that scripts/services.sh starts take anyone on loopback: the
    deployment docs say so, and that they listen on 127.0.0.1 only."""
    script = (ROOT / "scripts" / "services.sh").read_text()
    influxdb = (ROOT / "scripts" / "influxdb.conf.template").read_text()
    assert "allow_anonymous true" in script and "listener %s 127.0.0.1" in script
    assert (
        "auth-enabled = false" in influxdb and 'bind-address = "127.0.0.1:@HTTP_PORT@"' in influxdb
    )
    assert "--bind 127.0.0.1" in script  # Redis, without requirepass
    rows = {
        line.split("|")[1].strip(): line
        for line in (ROOT / "docs" / "deployment.md").read_text().splitlines()
        if line.startswith("| ")
    }
    assert "on 127.0.0.1 without authentication" in rows["InfluxDB"]
    assert "accepting anonymous clients" in rows[next(r for r in rows if r.startswith("Mosquitto"))]
    docs = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    assert (
        "Redis, InfluxDB and Mosquitto started here listen on 127.0.0.1 only and ask no password"
        in docs
    )
    # ...and, for a machine shared with users you do not trust, to point all three elsewhere:
    # Redis is the broker too, where any local user could queue enrich's tasks.
    assert (
        "point `INFLUXDB_URL`, `MQTT_URL` and `REDIS_URL` at services with their own logins" in docs
    )


def _path_without(tmp_path: Path, *missing: str, **stand_ins: str) -> str:
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


def test_an_influxdb_it_starts_is_found_on_a_machine_without_curl(tmp_path):
    # A fresh Debian (its minimal install, its container image) has no curl: the script asked
    # curl whether the InfluxDB it had just started answered, never heard yes, and after 30 s
    # said "influxdb did not come up" and stopped `make run` and `make test`.
    env, port, data = _own_influxdb(tmp_path, PATH=_path_without(tmp_path, "curl"))
    try:
        assert f"influxdb: starting on 127.0.0.1:{port}" in _started("influxdb", env)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
            assert answer.status == 204
        # Started again, it finds the one running instead of starting a second.
        assert f"influxdb: running on 127.0.0.1:{port}" in _started("influxdb", env)
    finally:
        _stop(data / "influxd.pid")


def _own_influxdb(tmp_path: Path, **env: str) -> tuple[dict[str, str], int, Path]:
    """The environment that has scripts/services.sh start an InfluxDB of the test's own (the
    shared one stays), its HTTP port and data directory."""
    port, data = free_port(), tmp_path / "influxdb"
    return (
        dict(
            os.environ,
            ENRICH_INFLUXDB_PORT=str(port),
            ENRICH_INFLUXDB_RPC_PORT=str(free_port()),
            ENRICH_INFLUXDB_DATA_DIR=str(data),
            **env,
        ),
        port,
        data,
    )


def _stop(pid_file: Path) -> None:
    """Stop the server the script started (its pid file), and wait until it is gone."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def test_the_influxdb_package_it_installs_does_not_serve_the_network_on_its_own(tmp_path):
    # On a machine without InfluxDB the script installs Debian's package, whose postinst starts
    # and enables the package's own service: InfluxDB on every interface, port 8086, without
    # authentication, back at every boot, beside the loopback one the script starts. The docs
    # promise only loopback services; the package's service is stopped and disabled.
    calls = tmp_path / "calls"
    record = f'echo "$(basename "$0") $*" >>{calls}'
    real_influxd = shutil.which("influxd")
    path = _path_without(
        tmp_path, "influxd", "apt-get", "sudo", "service", "update-rc.d", "systemctl",
        **{
            "apt-get": f'{record}\ncase "$*" in *"install"*influxdb*) '
            f'ln -s {real_influxd} "$(dirname "$0")/influxd" ;; esac',
            "sudo": 'exec "$@"',
            "service": record,
            "update-rc.d": record,
            "systemctl": record,
        },
    )  # fmt: skip
    env, port, data = _own_influxdb(tmp_path, PATH=path)
    try:
        said = _started("influxdb", env)
        assert f"influxdb: starting on 127.0.0.1:{port}" in said
        done = calls.read_text().splitlines()
        assert "apt-get install -y -qq influxdb" in done
        if Path("/run/systemd/system").is_dir():
            assert "systemctl disable --now influxdb" in done
        else:
            assert {"service influxdb stop", "update-rc.d influxdb disable"} <= set(done), done
        assert "influxdb: the package's own service stopped and disabled" in said
    finally:
        _stop(data / "influxd.pid")


def _private(path: Path) -> bool:
    return path.stat().st_mode & 0o077 == 0


def test_what_the_services_keep_is_readable_by_their_owner_only(tmp_path):
    # var/ holds the home's history (InfluxDB), the archive, the database, Redis' snapshots and
    # the logs: it was created 0755 with 0644 files, so every local user could read them.
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    var.chmod(0o755)  # as an older checkout left it
    redis_port, mqtt_port = free_port(), free_port()
    env, influx_port, data = _own_influxdb(
        tmp_path, ENRICH_REDIS_PORT=str(redis_port), ENRICH_MQTT_PORT=str(mqtt_port)
    )
    client = redis.Redis(port=redis_port)
    mosquitto = var / "mosquitto" / "mosquitto.pid"
    try:
        for service in ("redis", "influxdb", "mosquitto"):
            assert "starting on 127.0.0.1" in _started(service, env)
        # They run, and answer, from their private directories.
        assert client.set("enrich:probe", "1") and client.save()
        with urllib.request.urlopen(f"http://127.0.0.1:{influx_port}/ping", timeout=5) as answer:
            assert answer.status == 204
        for folder in (var, var / "log", var / "redis", var / "mosquitto", data):
            assert folder.stat().st_mode & 0o777 == 0o700, folder
        written = [
            var / "redis" / f"dump-{redis_port}.rdb",
            var / "log" / "redis.log",
            var / "log" / "influxd.log",
            data / "influxdb.conf",
            *(path for path in (data / "meta").rglob("*")),
        ]
        assert all(_private(path) for path in written), [p for p in written if not _private(p)]
        if os.geteuid() == 0 and shutil.which("runuser"):  # another local user, for real
            other = subprocess.run(
                ["runuser", "-u", "nobody", "--", "cat", str(var / "log" / "redis.log")],
                capture_output=True, text=True, timeout=10,
            )  # fmt: skip
            assert other.returncode != 0 and "Permission denied" in other.stderr
    finally:
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        (var / "redis" / f"dump-{redis_port}.rdb").unlink(missing_ok=True)
        _stop(data / "influxd.pid")
        _stop(mosquitto)


def test_make_run_keeps_var_and_what_its_processes_write_private(tmp_path):
    # scripts/run.sh made var/log with the shell's umask (0755), and its processes wrote the
    # database, the archive and the logs readable by every local user. Its preamble, run in a
    # copy of the project, leaves var/ 0700 and the processes' umask 077.
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    preamble = run_sh[: run_sh.index("\nPY=")]
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "run.sh"
    script.write_text(preamble + "\numask >umask\ntouch var/enrich.sqlite3\n")
    (tmp_path / "var").mkdir(mode=0o755)
    subprocess.run(["bash", str(script)], cwd=tmp_path, check=True, timeout=30, umask=0o022)
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "umask").read_text().strip() == "0077"
    assert (tmp_path / "var" / "enrich.sqlite3").stat().st_mode & 0o777 == 0o600


def _not_root(tmp_path: Path, *missing: str, **stand_ins: str) -> dict[str, str]:
    """The environment of a user who is not root (`id -u` says 1000), on a machine without
    `missing`; apt-get records its calls (with its umask and DEBIAN_FRONTEND) in
    tmp_path/apt-get.calls and installs nothing; the system's services are left alone."""
    calls = tmp_path / "apt-get.calls"
    apt_get = f'echo "apt-get $* (umask $(umask), DEBIAN_FRONTEND=$DEBIAN_FRONTEND)" >>{calls}'
    path = _path_without(
        tmp_path, *missing,
        id='case "$1" in -u) echo 1000 ;; -un) echo someone ;; *) exec /usr/bin/id "$@" ;; esac',
        **{"apt-get": apt_get, "systemctl": "", "service": "", "update-rc.d": "", **stand_ins},
    )  # fmt: skip
    return dict(os.environ, PATH=path, ENRICH_REDIS_PORT=str(free_port()))


def test_without_sudo_it_says_what_to_run_as_root_before_installing_anything(tmp_path):
    # Not root and no sudo: "sudo: command not found" midway, exit 127, and no word of what to
    # do. Now it stops before the step and names the command to run as root.
    done = _ran("redis", _not_root(tmp_path, "sudo", "redis-server"))
    assert done.returncode == 1, done.stderr
    assert "installing redis-server needs root, and sudo is not installed" in done.stderr
    assert "apt-get update && apt-get install -y redis-server" in done.stderr
    assert "command not found" not in done.stderr
    assert not (tmp_path / "apt-get.calls").exists()  # nothing half-done


def test_when_sudo_refuses_it_says_what_to_run_as_root(tmp_path):
    refusing = 'echo "someone is not in the sudoers file." >&2; exit 1'
    done = _ran("redis", _not_root(tmp_path, "redis-server", sudo=refusing))
    assert done.returncode == 1, done.stderr
    assert "installing redis-server needs root, and sudo refused" in done.stderr
    assert "apt-get update && apt-get install -y redis-server" in done.stderr
    assert not (tmp_path / "apt-get.calls").exists()


def test_through_sudo_apt_asks_no_questions_and_installs_with_the_usual_umask(tmp_path):
    # sudo resets the environment: the DEBIAN_FRONTEND=noninteractive put before it never
    # reached apt-get, whose debconf could stop `make run` with questions. And apt's package
    # scripts, which write files every user must read, ran with the script's umask 077.
    sudo = '[ "$1" = -v ] && exit 0; exec env -i PATH="$PATH" "$@"'  # as sudo's env_reset
    done = _ran("redis", _not_root(tmp_path, "redis-server", sudo=sudo))
    calls = (tmp_path / "apt-get.calls").read_text().splitlines()
    assert calls == [
        "apt-get update -qq (umask 0022, DEBIAN_FRONTEND=)",
        "apt-get install -y -qq redis-server (umask 0022, DEBIAN_FRONTEND=noninteractive)",
    ], done.stderr


def test_without_sudo_what_runs_already_is_used(tmp_path):
    # Root is needed only to install: a Redis that answers is used without asking for sudo.
    env = _not_root(tmp_path, "sudo", "redis-server")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        _redis_running(port)
        said = _started("redis", dict(env, ENRICH_REDIS_PORT=str(port)))
        assert f"redis: running on 127.0.0.1:{port}" in said
    finally:
        server.terminate()
        server.wait(10)


def _redis_running(port: int, password: str | None = None) -> redis.Redis:
    client = redis.Redis(port=port, password=password, decode_responses=True)
    for _ in range(100):
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"the test's Redis on {port} did not start")


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
        client = _redis_running(port, password)
        client.set("enrich:kept", "yes")
        refused = _ran("redis", env)
        assert refused.returncode == 1
        assert f"the Redis on 127.0.0.1:{port} asks for a password (requirepass)" in refused.stderr
        assert "REDIS_URL is not set" in refused.stderr
        assert f"REDIS_URL=redis://:PASSWORD@127.0.0.1:{port}/0" in refused.stderr
        assert "starting" not in refused.stderr
        wrong = _ran("redis", dict(env, REDIS_URL=f"redis://:wrong@127.0.0.1:{port}/0"))
        assert wrong.returncode == 1 and "does not give the right one" in wrong.stderr

        url = f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"
        dotenv = tmp_path / ".env"
        dotenv.write_text(f"LATITUDE=52.5\nREDIS_URL={url}\n")
        said = _started("redis", dict(env, ENRICH_ENV_FILE=str(dotenv)))
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
    port = free_port()
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        done = _ran("redis", dict(os.environ, ENRICH_REDIS_PORT=str(port)))
        assert done.returncode == 1
        assert f"127.0.0.1:{port} answers PING with '<!DOCTYPE HTML>'" in done.stderr
        assert "set ENRICH_REDIS_PORT (and REDIS_URL) to a free port" in done.stderr
        assert "starting" not in done.stderr
    finally:
        other.terminate()
        other.wait(10)
