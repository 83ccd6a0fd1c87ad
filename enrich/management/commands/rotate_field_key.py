from django.core.management.base import BaseCommand, CommandError

from enrich import crypto
from enrich.key_rotation import rotate_all
from enrich.wording import counted


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest (first) key of FIELD_ENCRYPTION_KEY; "
        "afterwards the older keys can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )

    def handle(self, *args, dry_run: bool, **options):
        reports = rotate_all(dry_run=dry_run)
        for report in reports:
            self.stdout.write(report.summary())
        rotated = sum(r.rotated for r in reports)
        unreadable = sum(len(r.unreadable) for r in reports)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"{verb} {counted(rotated, 'secret')} with the newest of "
            f"{counted(len(crypto.keys()), 'key')}."
        )
        if unreadable:
            raise CommandError(
                f"{counted(unreadable, 'secret')} cannot be decrypted with any key in "
                "FIELD_ENCRYPTION_KEY and were left as they are (listed above by id): re-enter "
                "them in the admin, or add the key they were saved with, before removing keys."
            )
