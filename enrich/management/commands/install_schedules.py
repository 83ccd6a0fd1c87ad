from django.core.management.base import BaseCommand

from config.schedule import SCHEDULE
from enrich.schedules import install_schedules


class Command(BaseCommand):
    help = "Install the beat schedule table (config/schedule.py); existing entries are kept."

    def handle(self, *args, **options):
        created = install_schedules()
        kept = len(SCHEDULE) - len(created)
        for name in created:
            self.stdout.write(f"Schedule installed: {name}")
        self.stdout.write(
            f"Schedules: {len(created)} installed, {kept} already present (kept as edited)."
        )
