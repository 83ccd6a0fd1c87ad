"""scripts/init-env, the first-start step: run before `docker compose up` and by `make run`.

It writes the missing secrets into .env (0600), keeps every value already set, and what it
writes is everything docker-compose.yml requires and passes the settings' checks.
"""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.support import worker as worker_support
from tests.support.compose import COMPOSE, INIT_ENV, ROOT, interpolated, read_dotenv
from tests.support.ports import free_port
from tests.support.web import first_answer


def init_env(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([INIT_ENV, *args], capture_output=True, text=True, timeout=30, check=True)


def settings_from(dotenv: Path, show: str) -> str:
    """A setting as a process started with only `dotenv` (no secrets in the environment) sees it."""
    names = ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ARCHIVE_LOCAL_DIR", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(ENRICH_ENV_FILE=str(dotenv), DJANGO_SETTINGS_MODULE="config.settings")
    code = f"import django; django.setup(); from django.conf import settings; print({show})"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_init_env_writes_every_secret_compose_needs_readable_by_the_owner_only(tmp_path):
    dotenv = tmp_path / ".env"
    init_env(dotenv)
    assert dotenv.stat().st_mode & 0o777 == 0o600
    values = read_dotenv(dotenv)
    # Nothing compose marks as required is left unset.
    interpolated(COMPOSE, values)
    Fernet(values["FIELD_ENCRYPTION_KEY"])
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    user, _, password = values["FLOWER_BASIC_AUTH"].partition(":")
    assert user and len(password) >= 20
    name, _, key = values["MINIO_KMS_SECRET_KEY"].partition(":")
    assert name and len(base64.b64decode(key)) == 32
    # Letters, digits, - and _ only: they go into URLs (DATABASE_URL, REDIS_URL) unquoted.
    for secret in (
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "INFLUXDB_ADMIN_PASSWORD",
        "MINIO_ROOT_PASSWORD",
    ):
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", values[secret]), secret
    # Generated, not fixed: a second file gets other values.
    init_env(tmp_path / "other.env")
    assert read_dotenv(tmp_path / "other.env")["POSTGRES_PASSWORD"] != values["POSTGRES_PASSWORD"]
    assert "ARCHIVE_LOCAL_DIR" not in values  # compose archives to MinIO
    # The generated secrets pass the settings' checks (Fernet key, secret key length).
    assert settings_from(dotenv, "len(settings.SECRET_KEY)") == "64"


def test_init_env_keeps_what_is_set_and_fills_empty_or_placeholder_values(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# my settings\n"
        "DJANGO_SECRET_KEY=change-me-to-a-long-random-string\n"
        "FIELD_ENCRYPTION_KEY=\n"
        "POSTGRES_PASSWORD=chosen-by-me\n"
        "LATITUDE=52.52\n"
    )
    dotenv.chmod(0o644)
    init_env(dotenv)
    values = read_dotenv(dotenv)
    assert values["POSTGRES_PASSWORD"] == "chosen-by-me"
    assert values["LATITUDE"] == "52.52"
    assert values["DJANGO_SECRET_KEY"] != "change-me-to-a-long-random-string"
    Fernet(values["FIELD_ENCRYPTION_KEY"])
    assert dotenv.read_text().startswith("# my settings\n")
    assert dotenv.stat().st_mode & 0o777 == 0o600
    before = dotenv.read_text()
    init_env(dotenv)
    assert dotenv.read_text() == before


def test_make_run_writes_its_secrets_and_an_explicit_archive_folder(tmp_path):
    dotenv = tmp_path / ".env"
    init_env("--local", dotenv)
    values = read_dotenv(dotenv)
    assert set(values) == {
        "DJANGO_SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "ARCHIVE_LOCAL_DIR",
        "FLOWER_BASIC_AUTH",
    }
    assert values["ARCHIVE_LOCAL_DIR"] == "var/archive"
    assert settings_from(dotenv, "settings.ARCHIVE_LOCAL_DIR") == str(ROOT / "var" / "archive")
    assert dotenv.stat().st_mode & 0o777 == 0o600
    assert "scripts/init-env --local" in (ROOT / "scripts" / "run.sh").read_text()


def test_a_copied_env_example_becomes_a_working_env(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text())
    init_env(dotenv)
    values = read_dotenv(dotenv)
    interpolated(COMPOSE, values)
    assert values["DJANGO_SECRET_KEY"] != "change-me-to-a-long-random-string"
    assert settings_from(dotenv, "settings.TIME_ZONE") == "UTC"
    # Only the generated lines were added; the example's own lines are all still there.
    assert dotenv.read_text().count("\n# ") == (ROOT / ".env.example").read_text().count("\n# ")


# A .env saved by an editor that writes no final newline: the documented `cat >>.env` glued
# POSTGRES_PASSWORD=enrich onto its last line, corrupting that value (FIELD_ENCRYPTION_KEY here,
# which decrypts the stored secrets), and init-env then generated a Postgres password the old
# volume refuses.
@pytest.mark.parametrize("last_line_end", ["\n", ""], ids=["newline", "no-final-newline"])
def test_the_documented_upgrade_of_an_old_compose_install_keeps_its_volumes_passwords(
    tmp_path, last_line_end
):
    """docs/deployment.md's upgrade of a compose install from before 2026-12-02 (its compose
    file held Postgres' password `enrich` and MinIO's KMS key): run up to `scripts/init-env`
    on that install's .env, the old volumes' password and key are kept, the rest generated."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    section = docs[docs.index("**Upgrading a compose install from before 2026-12-02.**") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    steps = block[: block.index("scripts/init-env") + len("scripts/init-env")]
    dotenv = tmp_path / ".env"
    old_key = Fernet.generate_key().decode()
    dotenv.write_text(
        f"DJANGO_SECRET_KEY={'k' * 50}\nFIELD_ENCRYPTION_KEY={old_key}{last_line_end}"
    )
    before = read_dotenv(dotenv)
    subprocess.run(
        ["sh", "-c", steps.replace("scripts/init-env", f"{INIT_ENV} {dotenv}")],
        cwd=tmp_path, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    values = read_dotenv(dotenv)
    assert values["POSTGRES_PASSWORD"] == "enrich"
    assert values["MINIO_KMS_SECRET_KEY"] == (
        "enrich-key:ZW5yaWNoLW1pbmlvLXNzZS1rZXktMzItYnl0ZXMtb2s="
    )
    for kept in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        assert values[kept] == before[kept]
    interpolated(COMPOSE, values)  # every other secret compose needs is there


def run_the_documented_upgrade(tmp_path: Path) -> tuple[Path, list[str]]:
    """docs/deployment.md's upgrade of a compose install from before 2026-12-02, every line
    run on a .env of that install, docker a stand-in recording its calls (and .env as each call
    found it, in tmp_path/env-<n>): the .env and the docker calls."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    section = docs[docs.index("**Upgrading a compose install from before 2026-12-02.**") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "docker-calls"
    dotenv = tmp_path / ".env"
    (bin_dir / "docker").write_text(
        f"#!/bin/sh\nn=$(cat {calls} 2>/dev/null | wc -l)\ncp {dotenv} {tmp_path}/env-$n\n"
        f'printf "%s\\n" "$*" >>{calls}\n'
    )
    (bin_dir / "docker").chmod(0o755)
    dotenv.write_text(
        f"DJANGO_SECRET_KEY={'k' * 50}\nFIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
    )
    subprocess.run(
        ["sh", "-c", block.replace("scripts/init-env", f"{INIT_ENV} {dotenv}")],
        cwd=tmp_path, check=True, capture_output=True, timeout=30,
        env=dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
    )  # fmt: skip
    return dotenv, calls.read_text().splitlines()


def test_the_documented_upgrade_of_an_old_compose_install_ends_with_a_postgres_password_of_its_own(
    tmp_path,
):
    """The same upgrade, every line run: it left Postgres on `enrich`, written on that page and
    in the old compose file, which every user of the docker host could log in with at the
    container's address (the database holds each user's API token); changing it was an
    optional remark after the block."""
    dotenv, said = run_the_documented_upgrade(tmp_path)
    password = read_dotenv(dotenv)["POSTGRES_PASSWORD"]
    assert password != "enrich"
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", password)  # fits in DATABASE_URL as written
    (alter,) = [n for n, call in enumerate(said) if "ALTER USER enrich PASSWORD" in call]
    assert f"PASSWORD '{password}'" in said[alter]
    assert said[alter].startswith("compose exec postgres psql -U enrich -d enrich")
    assert said[-1] == "compose up -d"  # the containers then log in with it
    assert (dotenv.stat().st_mode & 0o777) == 0o600


def test_the_documented_upgrade_of_an_old_compose_install_starts_enrich_only_once_it_can(tmp_path):
    """The same upgrade: each `docker compose up -d` that starts enrich's containers comes once
    .env's service passwords pass their start check. Its middle `up -d` (to reach Postgres for
    the ALTER USER) started them all while POSTGRES_PASSWORD was still the old volume's `enrich`,
    which stops them at start: web exited and compose failed waiting for it to be healthy."""
    from config.security import MIN_SERVICE_PASSWORD_LENGTH, SERVICE_PASSWORDS

    _, said = run_the_documented_upgrade(tmp_path)
    data_services = {"redis", "postgres", "influxdb", "minio"}
    started = 0
    for n, call in enumerate(said):
        named = set(call.split()[3:])
        if not call.startswith("compose up -d") or (named and named <= data_services):
            continue
        started += 1
        values = read_dotenv(tmp_path / f"env-{n}")
        short = [v for v in SERVICE_PASSWORDS if len(values[v]) < MIN_SERVICE_PASSWORD_LENGTH]
        assert not short, f"`docker {call}` starts enrich's containers with {short} too short"
    assert started


def test_the_documented_upgrade_to_a_redis_with_a_password_adds_it_and_keeps_the_rest(tmp_path):
    """docs/deployment.md's upgrade of a compose install from before 2026-12-05 (its Redis asked
    no password): compose refuses that install's .env, naming REDIS_PASSWORD and the fix, until
    the documented `scripts/init-env` has added it; every value the install had is kept."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    section = docs[docs.index("**Upgrading a compose install from before 2026-12-05.**") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    steps = [line for line in block.splitlines() if not line.startswith(("git ", "docker "))]
    assert steps == ["scripts/init-env"] and block.splitlines()[-1] == "docker compose up -d"
    dotenv = tmp_path / ".env"
    init_env(dotenv)  # the install's .env: everything but REDIS_PASSWORD
    dotenv.write_text(re.sub(r"^REDIS_PASSWORD=.*\n", "", dotenv.read_text(), flags=re.M))
    before = read_dotenv(dotenv)
    assert "REDIS_PASSWORD" not in before
    with pytest.raises(AssertionError, match=r"REDIS_PASSWORD unset \(run scripts/init-env first"):
        interpolated(COMPOSE, before)
    for step in steps:
        subprocess.run(
            ["sh", "-c", step.replace("scripts/init-env", f"{INIT_ENV} {dotenv}")],
            cwd=tmp_path, check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    values = read_dotenv(dotenv)
    assert {k: v for k, v in values.items() if k != "REDIS_PASSWORD"} == before
    services = interpolated(COMPOSE, values)["services"]
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == values["REDIS_PASSWORD"]
    assert services["web"]["environment"]["REDIS_URL"] == (
        f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0"
    )


def test_make_runs_flower_asks_for_the_login_init_env_wrote(tmp_path):
    """`make run`: honcho starts the Procfile's Flower with .env; Flower can revoke tasks, so
    even on loopback it answers only to the login scripts/init-env --local generated."""
    dotenv = tmp_path / ".env"
    init_env("--local", dotenv)
    user, _, password = read_dotenv(dotenv)["FLOWER_BASIC_AUTH"].partition(":")
    assert user and len(password) >= 20
    port = free_port()
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile", "-e", str(dotenv),
         "flower"],
        cwd=ROOT, env=dict(os.environ, FLOWER_PORT=str(port)), stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    honcho.log = log
    url = f"http://127.0.0.1:{port}/"
    try:
        assert first_answer(url, honcho).status_code == 401
        assert requests.get(url, auth=(user, "wrong"), timeout=10).status_code == 401
        assert requests.get(url, auth=(user, password), timeout=10).status_code == 200
    finally:
        try:
            worker_support.stop(honcho)
        finally:
            log.close()


def test_init_env_runs_with_only_the_programs_the_docs_name(tmp_path):
    # docs/deployment.md named sh, head, base64 and awk: it runs tr too, which a machine with
    # docker and nothing else lacking it would have stopped at.
    import shutil

    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    said = re.search(r"`scripts/init-env` \((.*?)\) generates", text)[1]
    programs = {"sh", *re.findall(r"`([a-z0-9]+)`", said)}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in programs:
        (bin_dir / program).symlink_to(shutil.which(program))
    dotenv = tmp_path / ".env"
    done = subprocess.run(
        ["sh", INIT_ENV, dotenv], env={"PATH": str(bin_dir)}, capture_output=True, text=True,
        timeout=30, executable=bin_dir / "sh",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(read_dotenv(dotenv)) >= {"DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"}
