"""First start: the admin's password and API token go to a 0600 file, never to the output that
`docker compose logs` keeps; a person at a terminal sees them once."""

import os
import pty
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]


def saved(path: Path) -> dict[str, str]:
    lines = [line.strip().split(": ", 1) for line in path.read_text().splitlines()]
    return {parts[0]: parts[1] for parts in lines if len(parts) == 2}


@pytest.mark.django_db
def test_credentials_go_to_an_owner_only_file_and_not_to_the_output(settings, tmp_path):
    path = tmp_path / "credentials" / "first-start.txt"
    settings.FIRST_START_CREDENTIALS_FILE = path
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert path.stat().st_mode & 0o777 == 0o600
    found = saved(path)
    admin = get_user_model().objects.get(username="admin", is_superuser=True)
    assert admin.check_password(found["password"])
    assert Token.objects.get(user=admin).key == found["API token"]
    printed = out.getvalue()
    assert str(path) in printed
    assert found["password"] not in printed and found["API token"] not in printed

    # A second start changes nothing and writes nothing.
    before = path.read_text()
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert out.getvalue().strip() == "Admin account: exists (unchanged)."
    assert path.read_text() == before


@pytest.mark.django_db
def test_an_older_readable_file_is_replaced_owner_only(settings, tmp_path):
    path = tmp_path / "first-start.txt"
    path.write_text("from an earlier database\n")
    path.chmod(0o644)
    settings.FIRST_START_CREDENTIALS_FILE = path
    call_command("ensure_admin", stdout=StringIO())
    assert path.stat().st_mode & 0o777 == 0o600
    assert "from an earlier database" not in path.read_text()


def run_ensure_admin(tmp_path: Path, terminal: bool) -> tuple[str, dict[str, str]]:
    """manage.py ensure_admin as the web container runs it: output piped (or on a terminal)."""
    path = tmp_path / "first-start.txt"
    db = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        FIRST_START_CREDENTIALS_FILE=str(path),
    )
    argv = [sys.executable, "manage.py", "ensure_admin"]
    if not terminal:
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr, saved(path)
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=60) == 0
    os.close(leader)
    return b"".join(chunks).decode(), saved(path)


@pytest.mark.django_db(transaction=True)
def test_piped_output_as_in_container_logs_holds_no_secret(tmp_path):
    output, found = run_ensure_admin(tmp_path, terminal=False)
    assert "first-start.txt" in output
    assert found["password"] not in output and found["API token"] not in output
    assert get_user_model().objects.get(username="admin").check_password(found["password"])


@pytest.mark.django_db(transaction=True)
def test_on_a_terminal_they_are_shown_once(tmp_path):
    output, found = run_ensure_admin(tmp_path, terminal=True)
    assert found["password"] in output and found["API token"] in output
