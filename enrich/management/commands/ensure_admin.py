from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from enrich.access import username_problem
from enrich.first_start import create_first_admin, save_credentials
from enrich.management.options import once_each


class Command(BaseCommand):
    help = (
        "Create an admin account (and its API token) if no superuser exists. The password and "
        "token go to FIRST_START_CREDENTIALS_FILE (0600), and to the screen only on a terminal."
    )

    def add_arguments(self, parser):
        once_each(parser)
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        if problem := username_problem(username):
            raise CommandError(f"--username {username!r}: {problem}")
        path = settings.FIRST_START_CREDENTIALS_FILE
        try:
            # One transaction: an admin whose password cannot be saved is not created.
            with transaction.atomic():
                credentials = create_first_admin(username)
                if credentials is not None:
                    save_credentials(credentials, path)
        except ValueError as exc:
            raise CommandError(f"--username: {exc}.") from None
        except OSError as exc:
            raise CommandError(
                f"FIRST_START_CREDENTIALS_FILE {str(path)!r} cannot be written ({exc.strerror}): "
                "no admin account was created. Name a file in a writable folder."
            ) from None
        if credentials is None:
            self.stdout.write("Admin account: exists (unchanged).")
            return
        self.stdout.write(
            f"Admin account {username!r} created; its password and API token are in {path} "
            "(readable by its owner only)."
        )
        # A person at a terminal sees them once; a log (docker compose logs, journald) never.
        if self.stdout.isatty():
            self.stdout.write(credentials.as_text())
