"""How `make run` ends, and the file it reads. Ctrl-C (the terminal's SIGINT to the whole
foreground group: make, and honcho, which run.sh becomes) made honcho exit 130 however cleanly
everything stopped, and make printed "make: *** [Makefile:47: run] Error 130" on every stop; and
honcho read `.env` whatever ENRICH_ENV_FILE named, while the settings and scripts/services.sh
read the named file (docs/configuration.md)."""

import json
import os
import re
import signal
import subprocess
import sys
import uuid

import pytest

from config.queues import QUEUES
from enrich.redis.client import get_redis
from tests.support import worker as worker_support
from tests.support.compose import ROOT
from tests.support.isolation import fresh_database
from tests.support.ports import free_port
from tests.support.web import first_answer

# make's line for a recipe that failed ("make: *** [Makefile:47: run] Error 130").
# "make[1]: ***" under another make (make test's pytest runs these tests)
MAKE_ERROR = re.compile(r"make(?:\[\d+\])?: \*\*\* \[Makefile:\d+: run\] (Error \d+|Interrupt)")


def make_run(env_file, log, **env: str) -> subprocess.Popen:
    """`make run` as typed in a terminal (its own process group, as the terminal's foreground
    job) with ENRICH_ENV_FILE naming `env_file`; the virtualenv taken as it is (-o: a checkout's
    requirements newer than the venv's stamp would reinstall the shared packages)."""
    shell = dict(os.environ, ENRICH_ENV_FILE=str(env_file), **env)
    proc = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "run"],
        cwd=ROOT, env=shell, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    proc.log = log
    return proc


@pytest.fixture(autouse=True)
def _no_lock_left(tmp_path):
    """Remove the lock `make run` kept in the checkout's var/ for the test's settings file
    (scripts/run.sh: var/run-<cksum of the file's path>.pid), or each run of the tests left
    one there."""
    yield
    path = f"{os.path.realpath(tmp_path / 'enrich.env')}\n"
    cksum = subprocess.run(["cksum"], input=path, capture_output=True, text=True, check=True)
    (ROOT / "var" / f"run-{cksum.stdout.split()[0]}.pid").unlink(missing_ok=True)


def write_settings(env_file, influx: str, ha: str, web: int) -> None:
    """A settings file for `make run` on the test database, Redis and InfluxDB databases, web
    on 127.0.0.1:`web`."""
    from django.conf import settings

    env_file.write_text(
        f"DATABASE_URL={worker_support.test_database_url()}\nREDIS_URL={settings.REDIS_URL}\n"
        f"INFLUXDB_DATABASE={influx}\nHA_INFLUXDB_DATABASE={ha}\n"
        f"WEB_BIND=127.0.0.1:{web}\nFLOWER_PORT={free_port()}\n"
        f"FIRST_START_CREDENTIALS_FILE={env_file.parent / 'credentials.txt'}\n"
    )


@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_make_run_without_an_error_line(tmp_path):
    web, elsewhere = free_port(), free_port()
    env_file = tmp_path / "enrich.env"  # not .env: the file ENRICH_ENV_FILE names
    log = (tmp_path / "make.log").open("w+")
    # Home Assistant's database is another than enrich's own (one for both is refused at start).
    with fresh_database("run_stop") as influx, fresh_database("run_stop_ha") as ha:
        write_settings(env_file, influx, ha, web)
        make = make_run(env_file, log, WEB_BIND=f"127.0.0.1:{elsewhere}")  # the file's wins
        try:
            health = first_answer(f"http://127.0.0.1:{web}/api/health/", make, timeout=240)
            assert health.status_code in (200, 503), health.text
            worker_support.until(lambda: " ready." in worker_support._tail(make), make, 120)
            os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
            make.wait(timeout=90)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGINT)
                make.wait(timeout=90)
            log.close()
            redis = get_redis()
            redis.delete(*QUEUES)
        said = (tmp_path / "make.log").read_text()
    stopped = re.findall(r"system +\| (\w+)\.1 stopped", said)
    assert sorted(stopped) == ["beat", "flower", "web", "worker"], said
    assert not MAKE_ERROR.search(said), said
    # make itself ends as interrupted (its own SIGINT, after honcho's exit 0): the shell
    # prints nothing for it and stops a `make run && ...`.
    assert make.returncode == -signal.SIGINT, said
    # init-env wrote the first start's secrets into the file honcho gave the processes.
    assert re.search(r"^FLOWER_BASIC_AUTH=admin:\S{12,}$", env_file.read_text(), re.MULTILINE)


@pytest.mark.django_db(transaction=True)
def test_a_second_make_run_with_the_same_settings_starts_nothing(tmp_path):
    # `make run` again in another terminal migrated, printed "enrich is starting", and started
    # a worker and a beat beside the first one's (every periodic task sent twice) until its
    # web found the port taken (gunicorn's "Address already in use", five times).
    web = free_port()
    env_file = tmp_path / "enrich.env"
    first_log = (tmp_path / "first.log").open("w+")
    second_log = (tmp_path / "second.log").open("w+")
    with fresh_database("run_twice") as influx, fresh_database("run_twice_ha") as ha:
        write_settings(env_file, influx, ha, web)
        first = make_run(env_file, first_log)
        try:
            first_answer(f"http://127.0.0.1:{web}/api/health/", first, timeout=240)
            second = make_run(env_file, second_log)
            assert second.wait(timeout=120) == 2
            said = (tmp_path / "second.log").read_text()
            running = re.search(r"^make run: enrich already runs from this checkout with the "
                                rf"settings of {re.escape(str(env_file))}: make run's pid "
                                r"(\d+), started ", said, re.MULTILINE)  # fmt: skip
            assert running, said
            assert os.getpgid(int(running[1])) == first.pid, said  # the first's honcho
            # The first one goes on.
            assert first_answer(f"http://127.0.0.1:{web}/api/health/", first, timeout=30)
        finally:
            os.killpg(first.pid, signal.SIGINT)
            first.wait(timeout=90)
            first_log.close()
            second_log.close()
            get_redis().delete(*QUEUES)
    assert "started (pid=" not in said and "Running migrations" not in said, said
    assert MAKE_ERROR.search(said)[1] == "Error 1", said


def test_a_failed_start_of_make_run_is_reported_by_make(tmp_path):
    # A migrate that fails (a database that does not exist) stops run.sh: make says so.
    env_file = tmp_path / "enrich.env"
    env_file.write_text(
        f"DATABASE_URL=postgres://enrich:enrich@127.0.0.1:5432/absent_{uuid.uuid4().hex[:8]}\n"
    )
    log = (tmp_path / "make.log").open("w+")
    try:
        make = make_run(env_file, log)
        assert make.wait(timeout=120) == 2
    finally:
        log.close()
    said = (tmp_path / "make.log").read_text()
    assert MAKE_ERROR.search(said)[1] == "Error 1", said
    assert "started (pid=" not in said, said


def test_a_process_that_stopped_on_its_own_keeps_its_code_through_a_later_ctrl_c(tmp_path):
    # honcho replaced a crashed process's code by 130 at a Ctrl-C during the stop that
    # followed; with 130 mapped to a clean stop's 0 the crash would have gone unreported.
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "broken: sh -c 'exit 3'\n"
        "slow: sh -c 'trap \"sleep 5; exit 0\" TERM; while :; do sleep 0.1; done'\n"
    )
    start = (ROOT / "scripts" / "run.sh").read_text().splitlines()[-1].split()  # as run.sh does
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [*start[1:-1], str(procfile), "-e", os.devnull],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    honcho.log = log
    try:
        worker_support.until(lambda: "sending SIGTERM to slow" in worker_support._tail(honcho))
        os.killpg(honcho.pid, signal.SIGINT)  # Ctrl-C while slow still stops
        assert honcho.wait(timeout=60) == 3, worker_support._tail(honcho)
    finally:
        if honcho.poll() is None:
            honcho.kill()
        log.close()


def test_honcho_reads_the_file_enrich_env_file_names(tmp_path):
    named, given = tmp_path / "enrich.env", tmp_path / "given.env"
    named.write_text("WEB_BIND=127.0.0.1:8101\nFLOWER_PORT=5601\n")
    given.write_text("WEB_BIND=127.0.0.1:8102\n")
    printed = "import json, os; print(json.dumps([os.environ.get(n) for n in ('WEB_BIND', 'FLOWER_PORT')]))"  # noqa: E501

    def seen(env_file: str, *args: str) -> list:
        env = dict(os.environ, ENRICH_ENV_FILE=env_file, WEB_BIND="shell", FLOWER_PORT="shell")
        done = subprocess.run(
            [sys.executable, "scripts/honcho", "run", *args, sys.executable, "-c", printed],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    assert seen(str(named)) == ["127.0.0.1:8101", "5601"]  # the file's over the shell's
    assert seen(str(named), "-e", str(given)) == ["127.0.0.1:8102", "shell"]  # -e wins
    assert seen("none") == ["shell", "shell"]  # no file: the shell's


def test_ctrl_c_stops_make_run_whose_output_goes_to_a_pipe(tmp_path):
    # `make run 2>&1 | tee run.log` (its processes log to its terminal only): Ctrl-C ends tee
    # too, and honcho's "SIGINT received" raised BrokenPipeError in its signal handler before it
    # stopped anything; it then waited for processes it never stopped, which kept running, their
    # ports taken. The reader of honcho's output gone, Ctrl-C stops them and honcho all the same.
    procfile = tmp_path / "Procfile"
    procfile.write_text("slow: exec sleep 600\n")
    start = (ROOT / "scripts" / "run.sh").read_text().splitlines()[-1].split()  # as run.sh does
    honcho = subprocess.Popen(
        [*start[1:-1], str(procfile), "-e", os.devnull],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        started = ""
        while "started (pid=" not in started:
            started = honcho.stdout.readline().decode()
            assert started, "honcho ended before it started the process"
        slow = int(re.search(r"pid=(\d+)", started)[1])
        honcho.stdout.close()  # tee, ended by the same Ctrl-C
        os.killpg(honcho.pid, signal.SIGINT)
        assert honcho.wait(timeout=60) == 0
        with pytest.raises(ProcessLookupError):
            os.killpg(slow, 0)  # the process honcho started, stopped
    finally:
        if honcho.poll() is None:
            os.killpg(slow, signal.SIGKILL)
            honcho.kill()
            honcho.wait()
