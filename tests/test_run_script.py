"""`make run` (scripts/run.sh) prints where web listens: the address the Procfile's gunicorn
really binds. It printed WEB_BIND from the shell's environment, while honcho gives the processes
`.env`'s value over the shell's: with WEB_BIND=0.0.0.0:8000 in .env (as docs/deployment.md says
to reach it from the LAN) it still printed http://127.0.0.1:8000, and with another WEB_BIND
exported in the shell, that one, where nothing listened."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from config.celery import app
from enrich.redis.client import get_redis
from tests.support import worker as worker_support
from tests.support.broker import broker_at
from tests.support.compose import ROOT
from tests.support.ports import free_port
from tests.support.redis_server import OwnRedis
from tests.support.web import first_answer

HONCHO = str(Path(sys.executable).parent / "honcho")
HONCHO_RELATIVE = [".venv/bin/python", "scripts/honcho"]  # as scripts/run.sh names it


def test_run_prints_the_banner_with_the_environment_honcho_gives_the_processes():
    steps = [line for line in (ROOT / "scripts" / "run.sh").read_text().splitlines()
             if line and not line.startswith("#")]  # fmt: skip
    # Both read the same .env (honcho's default, in the project root run.sh changes to).
    # scripts/honcho is honcho with a longer wait before SIGKILL (the worker's warm stop).
    assert steps[-2:] == [".venv/bin/python scripts/honcho run scripts/banner",
                          "exec .venv/bin/python scripts/honcho start -f Procfile"]  # fmt: skip


@pytest.mark.django_db
def test_the_banner_names_where_web_really_listens(tmp_path):
    listening, elsewhere = free_port(), free_port()
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"WEB_BIND=0.0.0.0:{listening}\n")  # reachable from the LAN
    env = dict(os.environ, WEB_BIND=f"127.0.0.1:{elsewhere}",  # an older export in the shell
               DATABASE_URL=worker_support.test_database_url())  # fmt: skip
    banner = subprocess.run(
        [HONCHO, "run", "-e", str(dotenv), "scripts/banner"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert f"web on 0.0.0.0:{listening} (and every other address of this machine)" in banner
    health = re.search(r"health +(\S+)", banner)[1]
    assert health == f"http://127.0.0.1:{listening}/api/health/"
    assert str(elsewhere) not in banner

    log = (tmp_path / "honcho.log").open("w+")
    web = subprocess.Popen(
        [HONCHO, "start", "-f", "Procfile", "-e", str(dotenv), "web"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    web.log = log
    try:
        answer = first_answer(health, web)
        assert answer.status_code in (200, 503), answer.text  # the health check itself answers
        assert "services" in answer.json()
    finally:
        try:
            worker_support.stop(web)
        finally:
            log.close()


def test_make_runs_preparation_reads_the_settings_its_processes_get(tmp_path):
    # run.sh migrated, created the admin and checked InfluxDB with the shell's variables over
    # .env's, and honcho then gave the processes .env's over the shell's: with DATABASE_URL or
    # INFLUXDB_URL exported in the shell and set in .env too, the processes used a database
    # nobody had migrated, and an InfluxDB nobody had prepared.
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    python = re.search(r'^PY="?([^"\n]*)"?$', run_sh, re.MULTILINE)[1].split()
    assert python[:3] == [*HONCHO_RELATIVE, "run"], python
    steps = [line for line in run_sh.splitlines() if "manage.py" in line and line[0] != "#"]
    assert len(steps) >= 6 and all(step.startswith("$PY manage.py ") for step in steps), steps
    shell_db, dotenv_db = tmp_path / "shell.sqlite3", tmp_path / "dotenv.sqlite3"
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"DATABASE_URL=sqlite:///{dotenv_db}\n")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{shell_db}")  # an older export
    migrate = [*python[:3], "-e", str(dotenv), *python[3:], "manage.py", "migrate", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=300, capture_output=True)
    assert not shell_db.exists()
    with sqlite3.connect(dotenv_db) as db:  # the database the Procfile's processes get
        assert db.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 10


# Values honcho's own .env reader changed (it splits a line as a shell would and joins the
# words): the quotes of docs/configuration.md's PROVIDER_BASE_URLS example, the spaces of a
# password (taken as written) and everything from a `#` on.
DOTENV_VALUES = {
    "PROVIDER_BASE_URLS": '{"octopus": "http://127.0.0.1:8791"}',
    "INFLUXDB_PASSWORD": "two words#and a hash",
    "ALERT_WEBHOOK_URL": "http://ha.local:8123/api/webhook/a#b",
}


def test_make_runs_steps_and_processes_get_dotenv_as_the_settings_read_it(tmp_path):
    # With PROVIDER_BASE_URLS in .env every step of `make run` stopped at start with
    # "PROVIDER_BASE_URLS must be a JSON object": honcho gave it as {octopus:http://...}.
    python = re.search(r'^PY="?([^"\n]*)"?$', (ROOT / "scripts" / "run.sh").read_text(),
                       re.MULTILINE)[1].split()  # fmt: skip
    dotenv = tmp_path / ".env"
    dotenv.write_text("".join(f"{name}={value}\n" for name, value in DOTENV_VALUES.items()))
    show = ("import json; from django.conf import settings as s; print(json.dumps([s.PROVIDER_BASE_"
            "URLS, s.INFLUXDB_PASSWORD, s.ALERT_WEBHOOK_URL]))")  # fmt: skip
    step = [*python[:3], "-e", str(dotenv), *python[3:], "manage.py", "shell", "-c", show]
    done = subprocess.run(step, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [
        {"octopus": "http://127.0.0.1:8791"}, "two words#and a hash",
        "http://ha.local:8123/api/webhook/a#b",
    ]  # fmt: skip
    printed = "import json, os; print(json.dumps({n: os.environ.get(n) for n in %r}))"
    started = subprocess.run(  # what `honcho start` gives the Procfile's processes
        [*python[:3], "-e", str(dotenv), sys.executable, "-c", printed % list(DOTENV_VALUES)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(started.stdout) == DOTENV_VALUES


@pytest.mark.django_db(transaction=True)
def test_make_run_goes_on_when_redis_restarts_under_a_worker_holding_a_retry(tmp_path):
    # The worker, holding a task due later (a retry's countdown), died when Redis restarted
    # (kombu's restore of the unacknowledged messages: AttributeError), and honcho then stopped
    # web, beat and Flower too, until the user started it all again (enrich.redis.transport).
    web, flower, redis = free_port(), free_port(), OwnRedis()
    url = redis.url
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"REDIS_URL={url}\nCELERY_BROKER_URL=\nCELERY_RESULT_BACKEND=\n"
        f"DATABASE_URL={worker_support.test_database_url()}\n"
        f"WEB_BIND=127.0.0.1:{web}\nFLOWER_PORT={flower}\n"
        "FLOWER_BASIC_AUTH=admin:flower-test-password\n"
    )
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [HONCHO, "start", "-f", "Procfile", "-e", str(dotenv)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    honcho.log = log

    def said() -> str:
        return worker_support._tail(honcho)

    try:
        with broker_at(url):
            worker_support.until(lambda: " ready." in said(), honcho, seconds=120)  # the worker
            app.send_task("enrich.check_services", countdown=600)
            worker_support.until(lambda: get_redis(url).hlen("unacked"), honcho)

            redis.stop()
            redis.start()
            after = app.send_task("enrich.check_services")

            ran = f"Task enrich.check_services[{after.id}] succeeded"
            worker_support.until(lambda: ran in said(), honcho)  # fails once honcho stopped
            health = first_answer(f"http://127.0.0.1:{web}/api/health/", honcho)
            assert health.status_code == 200, health.text
            assert honcho.poll() is None and "stopped (rc=" not in said(), said()
    finally:
        try:
            worker_support.stop(honcho)
        finally:
            log.close()
            redis.stop()


def test_make_runs_processes_log_to_its_terminal_only():
    # docs/deployment.md said "Logs go to var/log/": only the services' do (redis.log,
    # influxd.log, mosquitto.log). web, worker, beat and Flower write to honcho's output, the
    # terminal of `make run`: no Procfile command names a log file, and Django logs to stderr.
    from django.conf import settings

    options = ("--logfile", "--access-logfile", "--error-logfile", "-f", "--log-file")
    for line in filter(None, (ROOT / "Procfile").read_text().splitlines()):
        argv = line.split(":", 1)[1].split()
        named = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in options]
        pairs = [arg.partition("=") for arg in argv]
        named += [value for option, equals, value in pairs if equals and option in options]
        assert set(named) <= {"-"}, line
    assert [h["class"] for h in settings.LOGGING["handlers"].values()] == ["logging.StreamHandler"]
    assert not any("stream" in h or "filename" in h for h in settings.LOGGING["handlers"].values())


def _running(marker: str) -> list[str]:
    """The processes whose command line holds `marker` (a worker's node name: its pool's
    children have the same command line), as `ps` would list them."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
            continue
        if marker in argv and "python" in argv:
            found.append(f"{proc.name} {argv}")
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("seconds", "terminal"), [(2, True), (2, False), (120, True)],
    ids=["short-task-ctrl-c-in-a-terminal", "short-task-sigint-to-honcho", "long-task"],
)  # fmt: skip
def test_stopping_make_run_stops_the_worker_warm(tmp_path, seconds, terminal):
    # Ctrl-C made honcho send SIGTERM to the worker's whole process group: the pool's children
    # died under their tasks with the parent (WorkerLostError, a traceback), and each such
    # stop counted a redelivery towards TASK_MAX_REDELIVERIES, so a few stops during an archive
    # run marked it poisoned. The Procfile's worker (and web, which stops first and starts
    # honcho's 5 s before SIGKILL), with the test's task: a short task ends, a long one goes
    # back to the queue uncounted, nothing is logged as a crash and no process is left.
    from django.conf import settings

    from enrich.deliveries import delivery_key
    from tests.support.sleepy_app import sleep_for

    node = f"stop-{uuid.uuid4().hex[:12]}@%h"
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    worker = lines["worker"].replace(" -A config ", " -A tests.support.sleepy_app ")
    worker = worker.replace(" -n worker@%h", f" -n {node}")
    assert node in worker and "sleepy_app" in worker, worker
    if seconds < 5:  # Celery waits out the whole soft shutdown, the task ended or not
        worker = worker.replace("soft_shutdown_timeout=10", "soft_shutdown_timeout=5")
        assert worker.endswith("soft_shutdown_timeout=5"), worker
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"web: {lines['web']}\nworker: {worker}\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"REDIS_URL={settings.REDIS_URL}\nDATABASE_URL={worker_support.test_database_url()}\n"
        f"WEB_BIND=127.0.0.1:{free_port()}\nCELERY_SKIP_CHECKS=1\n"
    )
    start = (ROOT / "scripts" / "run.sh").read_text().splitlines()[-1].split()  # as run.sh does
    assert start[0] == "exec" and start[-2:] == ["-f", "Procfile"], start
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [*start[1:-1], str(procfile), "-e", str(dotenv)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    honcho.log = log

    def said() -> str:
        return worker_support._tail(honcho)

    redis = get_redis()
    try:
        worker_support.until(lambda: " ready." in said(), honcho, seconds=120)
        result = sleep_for.apply_async(args=[seconds])
        # Running, not only received: its delivery is counted as its pool process begins it (a
        # task received but not begun when the worker stops goes back to its queue unrun).
        worker_support.until(lambda: redis.get(delivery_key(result.id, 0)), honcho)
        if terminal:  # a terminal's Ctrl-C: SIGINT to its foreground process group
            os.killpg(honcho.pid, signal.SIGINT)
        else:
            honcho.send_signal(signal.SIGINT)
        assert honcho.wait(timeout=60) is not None
        assert _running(node.split("@")[0]) == []  # no worker nor pool child left
        if seconds < 5:
            assert result.get(timeout=1) == seconds, said()
        else:  # back in its queue, as delivered once
            assert redis.llen("default") == 1, said()
        assert int(redis.get(delivery_key(result.id, 0)) or 0) < 1 + (seconds < 5), said()
        assert "WorkerLostError" not in said() and "Traceback" not in said(), said()
        assert "SIGKILL" not in said(), said()
    finally:
        if honcho.poll() is None:  # honcho stops its processes (SIGKILL would leave them)
            honcho.send_signal(signal.SIGINT)
            honcho.wait(timeout=60)
        log.close()
        redis.delete("default")


@pytest.mark.django_db(transaction=True)
def test_a_task_of_make_runs_worker_can_be_terminated(tmp_path):
    # Flower's Terminate (revoke with terminate=True, SIGTERM) still ends a running task,
    # although the pool's processes ignore the SIGTERM honcho sends to the worker's group.
    from django.conf import settings

    from tests.support.sleepy_app import sleep_for

    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    node = f"terminate-{uuid.uuid4().hex[:12]}@{socket.gethostname()}"
    worker = lines["worker"].replace(" -A config ", " -A tests.support.sleepy_app ")
    worker = worker.replace(" -n worker@%h", f" -n {node}")
    (tmp_path / "Procfile").write_text(f"worker: {worker}\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"REDIS_URL={settings.REDIS_URL}\nDATABASE_URL={worker_support.test_database_url()}\n"
        "CELERY_SKIP_CHECKS=1\n"
    )
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [HONCHO, "start", "-f", str(tmp_path / "Procfile"), "-e", str(dotenv)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    honcho.log = log
    try:
        worker_support.until(lambda: " ready." in worker_support._tail(honcho), honcho, 120)
        result = sleep_for.apply_async(args=[120])
        worker_support.until(lambda: result.state == "STARTED", honcho)
        app.control.revoke(result.id, terminate=True, signal="SIGTERM")
        # The pool's process ended it (revoke marks it REVOKED at once, ended or not).
        active = app.control.inspect([node], timeout=1).active
        worker_support.until(lambda: active() == {node: []}, honcho)
    finally:
        if honcho.poll() is None:  # honcho stops its processes (SIGKILL would leave them)
            honcho.send_signal(signal.SIGINT)
            honcho.wait(timeout=60)
        log.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sent", ["SIGTERM", "SIGQUIT", "SIGINT"])
def test_make_runs_worker_stopped_as_it_starts_stops_without_a_traceback(sent):
    # A Ctrl-C under `make run` in the worker's first seconds (honcho's SIGTERM, a cold stop
    # through the Procfile's REMAP_SIGTERM, as SIGQUIT is) came while the worker started: the
    # stop stopped its pool, and Celery's event loop, beginning next, read the stopped pool:
    # "CRITICAL ... Unrecoverable error: AttributeError(\"'NoneType' object has no attribute
    # 'did_start_ok'\")" and a traceback. The Procfile's worker, sent `sent` as it gets ready.
    from django.conf import settings

    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    env_part, command = lines["worker"].split(" ", 1)
    assert env_part == "REMAP_SIGTERM=SIGQUIT", lines["worker"]
    node = f"started-{uuid.uuid4().hex[:12]}"
    command = command.replace(" -A config ", " -A tests.support.stopped_at_start_app ")
    command = command.replace(" -n worker@%h", f" -n {node}@%h")
    assert "stopped_at_start_app" in command and node in command, command
    env = dict(os.environ, REMAP_SIGTERM="SIGQUIT", STOP_AT_START=sent, CELERY_SKIP_CHECKS="1",
               REDIS_URL=settings.REDIS_URL, DATABASE_URL=worker_support.test_database_url())  # fmt: skip
    worker = subprocess.run(command.split(), cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    said = worker.stdout + worker.stderr
    assert " ready." in said and " shutdown (MainProcess)" in said, said
    assert "Unrecoverable error" not in said and "Traceback" not in said, said
    assert _running(node) == [], said  # no pool process left
