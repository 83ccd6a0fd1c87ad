from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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
        try:
            credentials = create_first_admin(username)
        except ValueError as exc:
            raise CommandError(f"--username: {exc}.") from None
        if credentials is None:
            self.stdout.write("Admin account: exists (unchanged).")
            return
        path = settings.FIRST_START_CREDENTIALS_FILE
        save_credentials(credentials, path)
        self.stdout.write(
            f"Admin account {username!r} created; its password and API token are in {path} "
            "(readable by its owner only)."
        )
        # A person at a terminal sees them once; a log (docker compose logs, journald) never.
        if self.stdout.isatty():
            self.stdout.write(credentials.as_text())
