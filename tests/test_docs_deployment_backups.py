"""docs/deployment.md's backup of a `make run` install, run as written in a project folder of
its own: it copies `.env`, the SQLite database (while it is open), InfluxDB's databases through
the backup port the project's InfluxDB listens on, and the local archive, into a folder only its
owner can enter. The page gave backups for docker compose only."""

import os
import re
import sqlite3
import subprocess
import uuid

import pytest

from enrich.influx import get_timeseries
from tests.support.compose import ROOT

DOCS = (ROOT / "docs" / "deployment.md").read_text()


def block() -> str:
    start = DOCS.index("**Backups under `make run`.**")
    return re.search(r"```sh\n(.*?)```", DOCS[start:], re.S)[1]


def test_the_backup_port_is_the_one_the_project_influxdb_listens_on():
    template = (ROOT / "scripts" / "influxdb.conf.template").read_text()
    services = (ROOT / "scripts" / "services.sh").read_text()
    assert 'bind-address = "127.0.0.1:@RPC_PORT@"' in template
    assert "INFLUXDB_RPC_PORT=$(env_value ENRICH_INFLUXDB_RPC_PORT 8188)" in services
    assert "influxd backup -portable -host 127.0.0.1:8188 backup/influxdb" in block()


@pytest.mark.influxdb
def test_the_documented_make_run_backup_copies_what_it_keeps(tmp_path):
    ts = get_timeseries()
    database = f"test_backup_{uuid.uuid4().hex[:12]}"
    ts.create_database(database)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / ".env").write_text("FIELD_ENCRYPTION_KEY=kept\n")
    (tmp_path / "var" / "archive" / "2024").mkdir(parents=True)
    (tmp_path / "var" / "archive" / "2024" / "01.parquet").write_bytes(b"PAR1")
    open_db = sqlite3.connect(tmp_path / "var" / "enrich.sqlite3")  # open, as under make run
    open_db.execute("CREATE TABLE site (name TEXT)")
    open_db.execute("INSERT INTO site VALUES ('Home')")
    open_db.commit()
    port = os.environ.get("ENRICH_INFLUXDB_RPC_PORT", "8188")
    # The whole InfluxDB as written; here only this test's database (others come and go).
    steps = block().replace(
        "-host 127.0.0.1:8188 backup/influxdb",
        f"-host 127.0.0.1:{port} -database {database} backup/influxdb",
    )
    try:
        done = subprocess.run(
            ["sh", "-e", "-c", steps], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
    finally:
        open_db.close()
        ts.drop_database(database)
    assert done.returncode == 0, done.stderr
    backup = tmp_path / "backup"
    assert backup.stat().st_mode & 0o777 == 0o700
    assert (backup / ".env").read_text() == "FIELD_ENCRYPTION_KEY=kept\n"
    copy = sqlite3.connect(backup / "enrich.sqlite3")
    assert copy.execute("SELECT name FROM site").fetchall() == [("Home",)]
    copy.close()
    assert list((backup / "influxdb").glob("*.manifest"))
    assert (backup / "archive" / "2024" / "01.parquet").read_bytes() == b"PAR1"
