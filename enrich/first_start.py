"""The first admin account, and where its password and API token go.

They are secrets, so they never go to a log: `docker compose logs` keeps everything the web
container printed. They are written to FIRST_START_CREDENTIALS_FILE, readable by its owner
only (0600), and shown once more when the command runs on an interactive terminal.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str = field(repr=False)
    token: str = field(repr=False)

    def as_text(self) -> str:
        return (
            f"enrich admin account, created {timezone.now():%Y-%m-%d %H:%M} UTC.\n"
            "Log in, change the password (admin -> top right), then delete this file.\n"
            f"  username: {self.username}\n  password: {self.password}\n  API token: {self.token}\n"
        )


def create_first_admin(username: str = "admin") -> AdminCredentials | None:
    """A superuser with a random password and an API token; None when a superuser exists.
    A ValueError when another user already has the name."""
    User = get_user_model()
    if User.objects.filter(is_superuser=True).exists():
        return None
    if User.objects.filter(username=username).exists():
        raise ValueError(
            f"a user named {username!r} exists already and is no admin; choose another name "
            "for the admin account"
        )
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(username=username, email="", password=password)
    return AdminCredentials(username, password, Token.objects.create(user=user).key)


def save_credentials(credentials: AdminCredentials, path: Path) -> None:
    """Write the credentials to `path`, mode 0600 from the first byte (an old file is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # O_CREAT's mode does not change an existing file's: make it owner-only before writing.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(credentials.as_text())
