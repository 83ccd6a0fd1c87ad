"""docs/deployment.md's backups of a compose install name what docker-compose.yml has: every volume
(and only those), the services, the database's user and name, and every service that writes to
the database stopped before a copy is read back in."""

import re
import shlex

from tests.support.compose import COMPOSE, ROOT

SERVICES = COMPOSE["services"]
DOCS = (ROOT / "docs" / "deployment.md").read_text()


def backups() -> str:
    start = DOCS.index("**Backups.**")
    return DOCS[start : DOCS.index("\n**", start + 1)]


def commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", backups(), re.S)
    return [
        shlex.split(line.split(" > ")[0].split(" < ")[0]) for b in blocks for line in b.splitlines()
    ]


def test_every_volume_is_in_the_table_and_nothing_else():
    rows = re.findall(r"^\| `([\w-]+)` \|", backups(), re.M)
    assert sorted(rows) == sorted(COMPOSE["volumes"])


def test_the_commands_name_services_and_the_database_of_the_compose_file():
    postgres = SERVICES["postgres"]["environment"]
    found = commands()
    assert found, "no commands"
    for argv in found:
        assert argv[:2] == ["docker", "compose"], argv
        if argv[2] == "exec":
            service = next(a for a in argv[3:] if not a.startswith("-"))
            assert service in SERVICES, argv
            if service == "postgres":
                assert argv[argv.index("-U") + 1] == postgres["POSTGRES_USER"]
                assert argv[argv.index("-d") + 1] == postgres["POSTGRES_DB"]
        elif argv[2] == "cp":
            assert {a.split(":")[0] for a in argv[3:] if ":" in a} <= set(SERVICES), argv
        elif argv[2] == "stop":
            # Every service that talks to the database, so nothing writes while the copy goes in.
            writers = {n for n, s in SERVICES.items() if "DATABASE_URL" in s.get("environment", {})}
            assert set(argv[3:]) == writers
        else:
            assert argv[2:] == ["up", "-d"], argv


def test_the_influxdb_copy_is_taken_inside_the_container_that_holds_it():
    """`influxd backup` reaches the server on its loopback RPC port: run in the `influxdb` service,
    and copied out of the path it was written to."""
    found = commands()
    (backup,) = [argv for argv in found if "backup" in argv]
    assert backup[3] == "influxdb" and SERVICES["influxdb"]["image"].startswith("influxdb:1.")
    (copy,) = [argv for argv in found if argv[2] == "cp"]
    assert copy[3] == f"influxdb:{backup[-1]}"


def test_the_redis_volume_holds_celerys_queues_and_the_table_says_what_is_lost_with_it():
    # The row said "rebuilt by the next fetches": the broker is this Redis, so its volume holds
    # the tasks waiting in Celery's queues, which no fetch rebuilds.
    environment = SERVICES["worker-retention"]["environment"]
    assert "CELERY_BROKER_URL" not in environment
    assert re.fullmatch(
        r"redis://:\$\{REDIS_PASSWORD[^}]*\}@redis:6379/\d+", environment["REDIS_URL"]
    )
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]
    (row,) = re.findall(r"^\| `redis-data` \|.*$", backups(), re.M)
    assert "Celery's queues" in row and "closed as failed" in row, row
