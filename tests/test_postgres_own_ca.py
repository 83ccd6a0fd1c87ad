"""PostgreSQL over TLS with a certificate the home signed itself, as docs/deployment.md gives it:
libpq's `sslmode=verify-full&sslrootcert=<the CA>` in DATABASE_URL reach the connection
through the settings. A PostgreSQL cluster of the test's own (initdb, as the user `postgres`
where the tests run as root), `ssl = on` with the CA's server certificate, on a free port."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.startup import run_django
from tests.support.tls import OwnCa, own_ca

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(not BIN, reason="PostgreSQL's server programs are not installed")
CONNECTED = (
    "from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'); "
    "print(cursor.fetchone()[0])"
)


def as_owner(*command: str) -> list[str]:
    """`command` as the cluster's owner: `postgres` for root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else list(command)


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[int, OwnCa]]:
    """The port of a PostgreSQL that takes TLS with the home's CA's certificate, and the CA.
    Its folder is one `postgres` can reach (pytest's, under /tmp/pytest-of-root, is root's)."""
    home = Path(tempfile.mkdtemp(prefix="enrich-tls-postgres-"))
    ca = own_ca(home)
    if os.getuid() == 0:
        for path in (home, *home.iterdir()):
            shutil.chown(path, "postgres")
    data, port = home / "data", free_port()
    subprocess.run(
        as_owner(f"{BIN[-1]}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust"),
        check=True, capture_output=True, cwd=home,
    )  # fmt: skip
    options = (
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c ssl=on "
        f"-c ssl_cert_file={ca.certificate} -c ssl_key_file={ca.key}"
    )
    subprocess.run(
        as_owner(f"{BIN[-1]}/pg_ctl", "-D", str(data), "-l", str(home / "log"), "-o", options,
                 "-w", "start"),
        check=True, capture_output=True, cwd=home,
    )  # fmt: skip
    try:
        yield port, ca
    finally:
        subprocess.run(
            as_owner(f"{BIN[-1]}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"),
            capture_output=True, cwd=home,
        )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def url(port: int, query: str) -> str:
    return f"postgres://postgres@localhost:{port}/postgres?{query}"


def test_verify_full_with_sslrootcert_connects_over_tls(tls_postgres):
    port, ca = tls_postgres
    done = run_django(CONNECTED, DATABASE_URL=url(port, f"sslmode=verify-full&sslrootcert={ca.ca}"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"


def test_verify_full_without_it_says_what_libpq_misses(tls_postgres):
    port, _ = tls_postgres
    done = run_django(CONNECTED, DATABASE_URL=url(port, "sslmode=verify-full"))
    assert done.returncode != 0
    assert 'root certificate file "' in done.stderr
    assert "sslrootcert" in done.stderr


def test_another_ca_fails_the_check(tls_postgres, tmp_path: Path):
    port, _ = tls_postgres
    stranger = own_ca(tmp_path / "other", "neighbour").ca
    query = f"sslmode=verify-full&sslrootcert={stranger}"
    done = run_django(CONNECTED, DATABASE_URL=url(port, query))
    assert done.returncode != 0
    assert "certificate verify failed" in done.stderr
