"""docker-compose.yml and the Dockerfile stay runnable: every command they start exists here.

No docker engine is needed: the files are parsed and each thing they name (management command,
Celery app and queues, WSGI application, beat scheduler, requirements file) is resolved against
the code.
"""

import importlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from celery.app.utils import find_app
from celery.utils.imports import symbol_by_name
from cryptography.fernet import Fernet
from django.core.management import get_commands

import config.celery
from tests.support import worker as worker_support
from tests.support.compose import (
    COMPOSE,
    INIT_ENV,
    ROOT,
    commands_of,
    interpolated,
    read_dotenv,
)
from tests.support.startup import documented_production_env, load_settings

SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()

APP_SERVICES = ("web", "worker-collectors", "worker-retention", "beat", "flower")
INFRA_SERVICES = ("redis", "postgres", "influxdb", "minio")


def option(argv: list[str], *names: str) -> str | None:
    """The value of an option given as `-Q x`, `--queues x` or `--queues=x`."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name:
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def requirement_names(path: Path) -> set[str]:
    """Package names a requirements file installs, following `-r` includes."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
        elif line:
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower())
    return names


def requirement_files(path: Path) -> set[Path]:
    files = {path}
    for line in path.read_text().splitlines():
        if line.strip().startswith("-r"):
            files |= requirement_files(path.parent / line.strip()[2:].strip())
    return files


def test_all_services_are_defined():
    assert set(APP_SERVICES) | set(INFRA_SERVICES) <= set(SERVICES)
    assert SERVICES["redis"]["image"].startswith("redis:7")
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["influxdb"]["image"].startswith(("influxdb:1.8", "influxdb:2.7"))
    assert "--console-address" in SERVICES["minio"]["command"]


@pytest.fixture(name="services", scope="module")
def services_fixture(tmp_path_factory) -> dict:
    """The services as docker compose sees them after `scripts/init-env` wrote .env."""
    dotenv = tmp_path_factory.mktemp("compose") / ".env"
    subprocess.run([INIT_ENV, dotenv], check=True, capture_output=True, timeout=30)
    return interpolated(SERVICES, read_dotenv(dotenv))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_one_image_and_wiring(name, services):
    service = services[name]
    web = services["web"]
    assert service["build"] == "."
    assert service["image"] == web["image"]
    assert service["env_file"] == [{"path": ".env", "required": False}]
    env = service["environment"]
    # Flower alone adds its login.
    extra = {"FLOWER_BASIC_AUTH"} if name == "flower" else set()
    assert {k: v for k, v in env.items() if k not in extra} == web["environment"]
    # Redis asks a password: the host's users reach the container's address too.
    redis_url = urlsplit(env["REDIS_URL"])
    assert (redis_url.hostname, redis_url.port, redis_url.path) == ("redis", 6379, "/0")
    assert redis_url.password == services["redis"]["environment"]["REDISCLI_AUTH"]
    assert len(redis_url.password) >= 32
    assert env["INFLUXDB_URL"] == "http://influxdb:8086"
    # Every URL points at a service of this file.
    for key in ("DATABASE_URL", "REDIS_URL", "INFLUXDB_URL", "S3_ENDPOINT_URL"):
        assert urlsplit(env[key]).hostname in SERVICES, key
    database = urlsplit(env["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert database.scheme == "postgres"
    assert (database.username, database.password, database.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        "/" + postgres["POSTGRES_DB"],
    )
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        services["minio"]["environment"]["MINIO_ROOT_USER"],
        services["minio"]["environment"]["MINIO_ROOT_PASSWORD"],
    )
    influxdb = services["influxdb"]["environment"]
    assert (env["INFLUXDB_USERNAME"], env["INFLUXDB_PASSWORD"]) == (
        influxdb["INFLUXDB_ADMIN_USER"],
        influxdb["INFLUXDB_ADMIN_PASSWORD"],
    )
    for dependency in ("postgres", "redis", "influxdb"):
        assert service["depends_on"][dependency]["condition"] == "service_healthy"


def test_healthy_conditions_have_healthchecks_and_volumes_are_declared():
    for name, service in SERVICES.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{dependency} has no healthcheck"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    for name in ("postgres", "influxdb", "minio"):
        assert SERVICES[name].get("volumes"), f"{name} keeps its data in a volume"


def test_web_prepares_the_database_before_serving():
    steps = commands_of(SERVICES["web"])
    programs = [" ".join(step[:3]) for step in steps]
    assert programs[0] == "python manage.py migrate"
    assert "python manage.py install_schedules" in programs
    assert "python manage.py bootstrap" in programs
    assert steps[-1][:2] == ["gunicorn", "config.wsgi:application"]


@pytest.mark.parametrize("name", ["worker-collectors", "worker-retention", "beat"])
def test_what_runs_tasks_starts_once_web_has_migrated(name):
    # An upgrade's `up -d` started the workers' new code beside web's migrate: a task reading
    # a table or column the migration adds failed.
    assert SERVICES[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def every_command() -> list[tuple[str, list[str]]]:
    return [(name, argv) for name in APP_SERVICES for argv in commands_of(SERVICES[name])]


@pytest.mark.parametrize(
    ("service", "argv"),
    every_command(),
    ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else v,
)
def test_every_command_resolves(service, argv):
    installed = requirement_names(ROOT / "requirements" / "production.txt")
    if argv[:2] == ["python", "manage.py"]:
        assert argv[2] in get_commands(), f"{service}: no management command {argv[2]!r}"
    elif argv[0] == "celery":
        assert "celery" in installed
        app = find_app(option(argv, "-A", "--app"))
        assert app is config.celery.app
        subcommand = next(a for a in argv[3:] if not a.startswith("-"))
        assert subcommand in ("worker", "beat", "flower")
        if subcommand == "flower":
            assert "flower" in installed
            importlib.import_module("flower")
        queues = option(argv, "-Q", "--queues")
        if subcommand == "worker":
            assert queues, f"{service}: a worker must name its queues"
            for queue in queues.split(","):
                assert queue in config.celery.QUEUES, f"{service}: unknown queue {queue!r}"
        scheduler = option(argv, "-S", "--scheduler")
        if scheduler:
            symbol_by_name(scheduler)
    elif argv[0] == "gunicorn":
        assert "gunicorn" in installed
        module, attribute = argv[1].split(":")
        assert callable(getattr(importlib.import_module(module), attribute))
    else:
        pytest.fail(f"{service}: unexpected command {argv}")


def test_workers_cover_every_queue():
    served = set()
    for name in APP_SERVICES:
        for argv in commands_of(SERVICES[name]):
            if argv[0] == "celery" and "worker" in argv:
                served |= set(option(argv, "-Q", "--queues").split(","))
    assert served == set(config.celery.QUEUES)


def test_dockerfile_installs_existing_requirements_it_copied_first():
    installs = re.findall(r"pip install -r (\S+)", DOCKERFILE)
    assert installs == ["requirements/production.txt"]
    requirements = ROOT / installs[0]
    copied = {
        path
        for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE)
        for path in line.split()[:-1]
    }
    # The install runs before the project is copied, so every included file must be copied.
    for path in requirement_files(requirements):
        assert path.is_file()
        assert str(path.relative_to(ROOT)) in copied, f"Dockerfile does not copy {path.name}"


def test_dockerfile_builds_static_files_with_throwaway_secrets_and_runs_unprivileged():
    assert DOCKERFILE.startswith("# ") and "FROM python:3.11-slim" in DOCKERFILE
    assert "collectstatic --noinput" in DOCKERFILE
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.MULTILINE))
    Fernet(args["BUILD_FIELD_ENCRYPTION_KEY"])  # settings refuse an invalid key
    assert not re.search(r"^ENV .*(SECRET_KEY|ENCRYPTION_KEY)", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd)[:2] == ["gunicorn", "config.wsgi:application"]
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_builds_its_static_files_with_its_published_keys():
    """The build's keys are public, so the production profile refuses them
    (config.security.PUBLISHED_KEYS); collectstatic runs without the profile, and loads them."""
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.MULTILINE))
    run = re.search(r"^RUN ((?:.*\\\n)*.*collectstatic.*)$", DOCKERFILE, re.MULTILINE)[1]
    env = {name: args[arg] for name, arg in re.findall(r'(\w+)="\$(\w+)"', run)}
    env |= dict(re.findall(r"(\w+)=(\w+) ", run))
    assert set(env) == {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ENRICH_ENV_FILE"}
    assert "DJANGO_PRODUCTION" not in DOCKERFILE
    result = load_settings(show="settings.STATIC_ROOT", DJANGO_PRODUCTION=None, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "var" / "static")


# --- What the shipped compose file exposes, and where its secrets come from ---------------
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|_KEY_|AUTH\b")
USER_NAMES = {"AWS_ACCESS_KEY_ID"}  # a user name, not a secret (MINIO_ROOT_USER)
REQUIRED_REFERENCE = re.compile(r"\$\{\w+(:?\?[^}]*)?\}")


def test_only_web_publishes_a_port_beyond_loopback():
    published = {}
    for name, service in SERVICES.items():
        assert service.get("network_mode") != "host", name
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                published.setdefault(name, []).append(port)
    assert published == {"web": ["${WEB_PUBLISH:-8000}:8000"]}
    assert SERVICES["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    # The MinIO console, to create the bucket; the data services publish nothing.
    assert SERVICES["minio"]["ports"] == ["127.0.0.1:9001:9001"]
    for name in ("redis", "postgres", "influxdb"):
        assert "ports" not in SERVICES[name], f"{name} publishes a port"


def test_no_secret_is_written_in_the_compose_file():
    """Every secret, commented examples included, is a ${VAR} without a default (from .env)."""
    text = (ROOT / "docker-compose.yml").read_text()
    checked = []
    for line in text.splitlines():
        found = re.match(r"^\s*#?\s*([A-Z][A-Z0-9_]*):\s*(\S.*)$", line)
        if found and SECRET_NAME.search(found[1]) and found[1] not in USER_NAMES:
            assert REQUIRED_REFERENCE.fullmatch(found[2].strip()), line
            checked.append(found[1])
        for name, password in re.findall(r"(\w+): \w+://[^\s:/@]*:(\$\{[^}]*\}|[^\s@]+)@", line):
            assert REQUIRED_REFERENCE.fullmatch(password), line
            checked.append(name)
    assert {
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "MINIO_KMS_SECRET_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "INFLUXDB_ADMIN_PASSWORD",
        "INFLUXDB_PASSWORD",
        "FLOWER_BASIC_AUTH",
        "DATABASE_URL",
        "REDISCLI_AUTH",
        "REDIS_URL",
    } <= set(checked)


def test_influxdb_runs_with_authentication_and_enrich_logs_in():
    influxdb = SERVICES["influxdb"]
    assert influxdb["image"].startswith("influxdb:1.")
    env = influxdb["environment"]
    assert env["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    assert env["INFLUXDB_ADMIN_USER"] == "${INFLUXDB_ADMIN_USER:-admin}"
    assert REQUIRED_REFERENCE.fullmatch(env["INFLUXDB_ADMIN_PASSWORD"])
    for name in APP_SERVICES:
        app = SERVICES[name]["environment"]
        assert app["INFLUXDB_USERNAME"] == env["INFLUXDB_ADMIN_USER"]
        assert app["INFLUXDB_PASSWORD"] == env["INFLUXDB_ADMIN_PASSWORD"]


def test_flower_asks_for_a_login_from_env():
    env = SERVICES["flower"]["environment"]
    assert env["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:?run scripts/init-env first}"
    # Flower reads its options from FLOWER_<OPTION> variables.
    from flower.options import options

    assert "basic_auth" in options


def test_first_start_credentials_go_to_a_volume_of_web():
    path = SERVICES["web"]["environment"]["FIRST_START_CREDENTIALS_FILE"]
    mounts = dict(volume.split(":", 1)[::-1] for volume in SERVICES["web"]["volumes"])
    assert mounts[str(Path(path).parent)] in COMPOSE["volumes"]
    assert "mkdir -p var/credentials" in DOCKERFILE  # owned by the image's user


def test_every_service_restarts_and_keeps_a_bounded_log():
    """Docker's default json-file log grows without end: every service rotates its own."""
    for name, service in SERVICES.items():
        assert service.get("restart") in ("unless-stopped", "always"), name
        logging = service.get("logging", {})
        assert logging.get("driver") in ("json-file", "local"), f"{name} keeps its log forever"
        size = logging["options"]["max-size"]
        assert re.fullmatch(r"\d+[km]", size) and int(logging["options"]["max-file"]) >= 1, name


def compose_shell(command: str) -> str:
    """A CMD-SHELL line as the container's shell receives it ($$ is compose's escaped $)."""
    return command.replace("$$", "$")


@pytest.mark.parametrize("name", ["worker-collectors", "worker-retention"])
def test_a_worker_is_healthy_exactly_while_it_answers(name, tmp_path):
    """The healthcheck pings the node the service's own command names, over the real broker."""
    kind, check = SERVICES[name]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    (argv,) = commands_of(SERVICES[name])
    env = dict(
        os.environ,
        HOSTNAME=socket.gethostname(),  # what docker sets, and what the worker's %h becomes
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )

    def healthcheck(line: str = compose_shell(check)) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["sh", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    log = (tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", *argv, "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env | {"CELERY_SKIP_CHECKS": "1"}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker.log = log
    # worker_support.stop wakes its BRPOP on the broker: it stops at once, not within 1 s.
    worker.broker = config.celery.app.conf.broker_url  # the same environment's
    try:
        # Pinged once the worker says it is ready: a ping of a node not up yet waits out the
        # line's whole -t 10 before it fails.
        deadline = time.monotonic() + 60
        while " ready." not in (tmp_path / "worker.log").read_text():
            assert worker.poll() is None, worker_support.output(worker)
            assert time.monotonic() < deadline, worker_support.output(worker)
            time.sleep(0.1)
        result = healthcheck()
        assert result.returncode == 0, result.stderr + worker_support.output(worker)
        assert "pong" in result.stdout
    finally:
        try:
            worker_support.stop(worker)
        finally:
            log.close()
    # The same line waiting 1 s, not 10, for the reply nobody sends.
    assert " -t 10 " in compose_shell(check)
    stopped = healthcheck(compose_shell(check).replace(" -t 10 ", " -t 1 "))
    assert stopped.returncode != 0
    assert "No nodes replied" in stopped.stderr


def test_the_images_python_runs_every_pinned_requirement():
    """The Dockerfile's Python satisfies the project's and every pinned package's Requires-Python
    (pip in the image would refuse a package, or the build would pick another version)."""
    from importlib.metadata import distribution

    from packaging.specifiers import SpecifierSet

    image_python = re.search(r"^FROM python:(\d+\.\d+)", DOCKERFILE, re.MULTILINE)[1]
    project = (ROOT / "pyproject.toml").read_text()
    assert image_python in SpecifierSet(re.search(r'requires-python = "(.+)"', project)[1])
    for line in (ROOT / "requirements" / "base.txt").read_text().splitlines() + (
        ROOT / "requirements" / "production.txt"
    ).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        name, pinned = re.fullmatch(r"([\w.-]+)(?:\[[\w,]+\])?==(\S+)", line).groups()
        installed = distribution(name)
        assert installed.version == pinned, f"{name}: the tests run {installed.version}"
        requires = installed.metadata.get("Requires-Python") or ""
        assert image_python in SpecifierSet(requires), f"{name} {pinned} needs Python {requires}"


def test_every_variable_compose_sets_is_read_by_enrich():
    """A misspelt name in compose's environment would be ignored without a word."""
    read = "\n".join(path.read_text() for path in (ROOT / "config").glob("*.py"))
    for name in SERVICES["web"]["environment"]:
        assert f'"{name}"' in read, f"docker-compose.yml sets {name}, which no setting reads"


def test_the_web_healthcheck_calls_a_host_the_documented_settings_allow():
    """With DJANGO_ALLOWED_HOSTS as .env.example and the production profile's docs set it,
    the health check's own request is not refused as a foreign host (web would stay unhealthy
    and beat would never start)."""
    check = " ".join(SERVICES["web"]["healthcheck"]["test"])
    host = urlsplit(re.search(r"https?://[^'\" ]+", check)[0]).hostname
    example = read_dotenv(ROOT / ".env.example")["DJANGO_ALLOWED_HOSTS"].split(",")
    production = documented_production_env()["DJANGO_ALLOWED_HOSTS"].split(",")
    assert host in example and host in production


NUMBERS = {"five": 5, "six": 6, "seven": 7, "eight": 8}


def test_the_aws_s3_instructions_in_the_compose_file_give_aws_settings(services):
    """Following the comment in x-app (remove the lines it names, put AWS's values in .env),
    enrich archives to AWS with its default class, not to MinIO's endpoint or class."""
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    (at,) = [i for i, line in enumerate(lines) if "For AWS S3 remove these" in line]
    comment = " ".join(line.strip().lstrip("#").strip() for line in lines[at : at + 2])
    count = NUMBERS[re.search(r"remove these (\w+) lines", comment)[1]]
    following = [line for line in lines[at:] if not line.strip().startswith("#")][:count]
    removed = {line.split(":", 1)[0].strip() for line in following}
    assert all(name.startswith(("S3_", "AWS_")) for name in removed), removed
    dotenv = {"S3_ARCHIVE_BUCKET": "my-archive", "AWS_ACCESS_KEY": "AKIAEXAMPLE",
              "AWS_SECRET_KEY": "secret", "S3_REGION": "eu-west-1"}  # fmt: skip
    environment = services["web"]["environment"]
    kept = {k: v for k, v in environment.items() if k not in removed}
    assert not {k for k in kept if k.startswith(("S3_", "AWS_"))}, "left to override .env"
    show = (
        "[settings.S3_ARCHIVE_BUCKET, settings.S3_ENDPOINT_URL, settings.S3_STORAGE_CLASS, "
        "settings.S3_REGION]"
    )
    result = load_settings(show=show, **(dotenv | kept))  # compose's environment wins over .env
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['my-archive', '', 'GLACIER_IR', 'eu-west-1']"


def test_the_image_prepares_the_documented_local_archive_folder_for_its_user():
    """A named volume on a directory the image lacks is root's: the unprivileged user could not
    write the archive there."""
    docs = (ROOT / "docs" / "deployment.md").read_text()
    folder = re.search(r"`ARCHIVE_LOCAL_DIR: (/app/\S+)`", docs)[1]
    assert re.search(rf"- archive:{folder}\b", docs)
    workdir = re.search(r"^WORKDIR (\S+)$", DOCKERFILE, re.MULTILINE)[1]
    created = re.search(r"mkdir -p ([^\\&\n]+)", DOCKERFILE)[1].split()
    assert str(Path(folder).relative_to(workdir)) in created
    user = re.search(r"^USER (\w+)$", DOCKERFILE, re.MULTILINE)[1]
    assert re.search(rf"chown -R {user}:{user} var\b", DOCKERFILE)


def test_the_instructions_for_home_assistants_influxdb_reach_the_settings(services):
    """The header's way to use an existing InfluxDB: what it says to set `below` goes into
    compose's environment, what it says to set `in .env` into .env; compose's environment wins.
    enrich must end up with that InfluxDB's URL, user, password and database."""
    header = " ".join(
        line.lstrip("#").strip()
        for line in (ROOT / "docker-compose.yml").read_text().splitlines()
        if line.startswith("#")
    )
    sentence = header[header.index("To use your Home Assistant's existing InfluxDB") :]
    sentence = sentence[: sentence.index(". ") if ". " in sentence else None]
    names = r"((?:[A-Z][A-Z_]+(?:, | and )?)+)"
    below = re.findall(r"[A-Z][A-Z_]+", re.search(rf"set {names} below", sentence)[1])
    in_dotenv = re.findall(r"[A-Z][A-Z_]+", re.search(rf"and {names} in \.env", sentence)[1])
    ha = {
        "INFLUXDB_URL": "http://homeassistant.local:8086",
        "INFLUXDB_USERNAME": "enrich",
        "INFLUXDB_PASSWORD": "ha-influx-password",
        "HA_INFLUXDB_DATABASE": "homeassistant",
    }
    assert set(below) | set(in_dotenv) == set(ha), sentence
    environment = services["web"]["environment"] | {name: ha[name] for name in below}
    dotenv = {name: ha[name] for name in in_dotenv}
    show = "[settings." + ", settings.".join(ha) + "]"
    result = load_settings(show=show, **(dotenv | environment))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(list(ha.values()))


def test_the_docs_name_every_influxdb_setting_that_compose_fixes():
    """deployment.md tells the user of their own InfluxDB which of compose's lines win over
    .env and must be changed there: all of them, or a 2.x install kept INFLUXDB_VERSION 1 (the
    docs named URL, user and password only, and INFLUXDB_VERSION=2 in .env lost to it)."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    start = text.index("Under docker compose, `docker-compose.yml`'s `environment` block sets")
    sentence = text[start : text.index("wins over `.env`", start)]
    environment = SERVICES["web"]["environment"]
    fixed = {name for name in environment if name.startswith("INFLUXDB_")}
    assert set(re.findall(r"`(INFLUXDB_[A-Z_]+)[`:]", sentence)) == fixed
    assert f'`INFLUXDB_VERSION: "{environment["INFLUXDB_VERSION"]}"`' in sentence


def test_the_documented_production_env_publishes_web_on_loopback_only(services):
    """Behind a proxy on the same machine port 8000 must not be reachable from the LAN: anyone
    there could claim HTTPS and forge client addresses (docs/deployment.md)."""
    assert services["web"]["ports"] == ["8000:8000"]  # the default: the LAN, plain HTTP
    production = interpolated(SERVICES["web"]["ports"], documented_production_env())
    assert production == ["127.0.0.1:8000:8000"]


def test_the_docs_name_the_compose_release_the_file_needs():
    """`env_file` entries with `required` (an optional .env) are Docker Compose 2.24.0's; an
    older compose (Debian bookworm's docker-compose is 1.29.2) refused every app service
    ("env_file contains {'path': '.env', 'required': False}, which is an invalid type"), and
    deployment.md said only "Only docker is needed"."""
    optional = [
        name
        for name, service in SERVICES.items()
        for entry in service.get("env_file", [])
        if isinstance(entry, dict) and "required" in entry
    ]
    assert optional  # else the release named below may be older
    deployment = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    assert "Docker Compose 2.24.0 or newer" in deployment
