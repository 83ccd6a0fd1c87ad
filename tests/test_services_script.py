"""scripts/services.sh: what it starts keeps what a user would expect of it."""

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import redis

from tests.support.ports import free_port
from tests.support.redis_server import asking_once
from tests.support.services import ROOT, path_without, started


def _services(port: int) -> None:
    started("redis", dict(os.environ, ENRICH_REDIS_PORT=str(port)))


def _stop_redis(client: redis.Redis, port: int) -> None:
    """Stop the test's own Redis on `port` (if it runs) and delete its snapshot."""
    try:
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    (ROOT / "var" / "redis" / f"dump-{port}.rdb").unlink(missing_ok=True)


def test_a_redis_it_starts_keeps_its_data_across_a_restart():
    # The last good answers, the API budgets and the remembered refusals live in Redis: a
    # Redis started without snapshots lost them at every reboot, so an API failing after one
    # served nothing, and a day's budget started again from zero.
    port = free_port()  # a Redis of its own: the shared one is never stopped
    dump = ROOT / "var" / "redis" / f"dump-{port}.rdb"
    client = asking_once(port=port, decode_responses=True)
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


def test_a_redis_it_starts_logs_no_line_for_each_snapshot():
    # Its snapshot a minute after a change (enrich changes keys every few seconds: beat's sign
    # of life) wrote five lines to var/log/redis.log each time: about 530 KB a day, 190 MB a
    # year, never rotated.
    port = free_port()  # a Redis of its own: the shared one is never stopped
    log = ROOT / "var" / "log" / "redis.log"
    client = asking_once(port=port)
    try:
        _services(port)
        pid = client.info("server")["process_id"]
        client.set("enrich:alive:beat", "1")
        client.bgsave()
        for _ in range(100):  # until the snapshot is written
            if not client.info("persistence")["rdb_bgsave_in_progress"]:
                break
            time.sleep(0.1)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        lines = [line for line in log.read_text().splitlines() if line.startswith(f"{pid}:")]
        assert not [line for line in lines if "saving" in line.lower()], lines
    finally:
        _stop_redis(client, port)


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


def test_an_influxdb_it_starts_is_found_on_a_machine_without_curl(tmp_path):
    # A fresh Debian (its minimal install, its container image) has no curl: the script asked
    # curl whether the InfluxDB it had just started answered, never heard yes, and after 30 s
    # said "influxdb did not come up" and stopped `make run` and `make test`.
    env, port, data = _own_influxdb(tmp_path, PATH=path_without(tmp_path, "curl"))
    try:
        assert f"influxdb: starting on 127.0.0.1:{port}" in started("influxdb", env)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
            assert answer.status == 204
        # Started again, it finds the one running instead of starting a second.
        assert f"influxdb: running on 127.0.0.1:{port}" in started("influxdb", env)
    finally:
        _stop(data / "influxd.pid")


def test_an_influxdb_data_dir_is_taken_as_given_whatever_its_characters(tmp_path):
    # ENRICH_INFLUXDB_DATA_DIR went through sed: with a # the script stopped on "unknown option
    # to `s'", with a & the data went to a directory of another name ("a@DATA_DIR@c"). And a
    # relative one was taken from wherever the script ran, not from the project's root as var/.
    data = tmp_path / 'in#flux & da|ta\\x"y'
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env, port, _ = _own_influxdb(tmp_path)
    env["ENRICH_INFLUXDB_DATA_DIR"] = relative = os.path.relpath(data, ROOT)
    script = ROOT / "scripts" / "services.sh"
    try:
        done = subprocess.run(
            [script, "influxdb"], cwd=elsewhere, env=env, capture_output=True, text=True,
            timeout=90,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"influxdb: starting on 127.0.0.1:{port} (data in {ROOT}/{relative})" in done.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
            assert answer.status == 204
        assert (data / "meta" / "meta.db").is_file()  # its data where it was told
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([data.name, "elsewhere"])
        assert not any(elsewhere.iterdir())
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
    path = path_without(
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
        said = started("influxdb", env)
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
    client = asking_once(port=redis_port)
    mosquitto = var / "mosquitto" / "mosquitto.pid"
    try:
        for service in ("redis", "influxdb", "mosquitto"):
            assert "starting on 127.0.0.1" in started(service, env)
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


def test_the_ports_and_folder_it_uses_are_read_from_env_as_the_processes_settings_are(tmp_path):
    # docs/configuration.md: settings come from the environment or .env, and services.sh says to
    # set ENRICH_REDIS_PORT (and REDIS_URL) when its port is taken. REDIS_URL in .env was read,
    # ENRICH_REDIS_PORT there was not: the script checked the taken port again and stopped.
    port = free_port()
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"ENRICH_REDIS_PORT={port}\nREDIS_URL=redis://127.0.0.1:{port}/0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENRICH_")}
    env |= {"ENRICH_ENV_FILE": str(dotenv), "ENRICH_REDIS_PORT": "6379"}  # .env's wins
    client = asking_once(port=port)
    try:
        assert f"redis: starting on 127.0.0.1:{port}" in started("redis", env)
        assert client.ping()
    finally:
        _stop_redis(client, port)
    # Every ENRICH_ variable the configuration page gives services.sh is read the same way.
    page = (ROOT / "docs" / "configuration.md").read_text()
    named = set(re.findall(r"`(ENRICH_(?!ENV_FILE)[A-Z_]+)`", page))
    script = (ROOT / "scripts" / "services.sh").read_text()
    assert named and named == set(re.findall(r"\$\(env_value (ENRICH_[A-Z_]+)", script))
    assert not re.search(r"\$\{ENRICH_(?!ENV_FILE)", script)
