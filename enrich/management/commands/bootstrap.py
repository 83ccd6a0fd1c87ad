from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from enrich.bootstrap import bootstrap_from_environment
from enrich.models import in_words
from enrich.wording import listed


class Command(BaseCommand):
    help = "On first start, create the site and provider settings from environment variables."

    def handle(self, *args, **options):
        try:
            created = bootstrap_from_environment()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        if created is None:
            self.stdout.write("Sites: nothing to do (a site exists, or no site variables are set).")
            return
        site, notes = created
        # The sources in the admin's words: it said "carbon_intensity=watttime".
        configs = site.providers.order_by("source", "provider")
        providers = listed([f"{p.provider} ({in_words(p.source)})" for p in configs])
        self.stdout.write(f"Created site {site.name!r} with providers: {providers or 'none'}.")
        for note in notes:
            self.stdout.write(note)
