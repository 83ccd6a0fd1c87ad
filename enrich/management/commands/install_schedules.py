from collections import Counter

from django.core.management.base import BaseCommand

from enrich.schedules import install_schedules


class Command(BaseCommand):
    help = (
        "Install the beat schedule table (config/schedule.py): missing entries are created, "
        "entries nobody edited follow the table, entries edited in the admin are kept."
    )

    def handle(self, *args, **options):
        changes = install_schedules()
        for change in changes:
            if change.action != "unchanged":
                self.stdout.write(f"Schedule {change.action}: {change.name} ({change.detail})")
        counts = Counter(change.action for change in changes)
        # A renamed row is also counted by what became of it; a rename or a deletion is named
        # in the summary too, so the last line alone says that something changed.
        besides = "".join(f", {counts[a]} {a}" for a in ("renamed", "deleted") if counts[a])
        self.stdout.write(
            f"Schedules: {counts['installed']} installed, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['kept']} kept as edited in the admin"
            f"{besides}."
        )
