"""manage.py sense_login [--site NAME] [--code CODE]: log in to Sense once, by hand.

For a Sense account with multi-factor authentication: the login asks for the one-time code of
the authenticator app (typed at the prompt, or given with --code), and the session it gives is
saved encrypted with the site's Sense provider settings. The collector then starts from that
session and renews it without a code; only when Sense refuses the renewal is this needed again.
Works for accounts without MFA too (it then only checks the e-mail and password).
"""

import sys
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError, CommandParser

from collectors import pipeline
from collectors.registry import adapter_for
from collectors.smart_meter.sense import PROVIDER
from enrich.http import HttpError
from enrich.management.options import not_empty, once_each
from enrich.models import SOURCE_LABELS, ProviderConfig

SOURCE = "smart_meter"


class Command(BaseCommand):
    help = (
        "Log in to Sense by hand (with the one-time code when the account has MFA) and save "
        "the session, so the collector can renew it unattended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        once_each(parser)
        parser.add_argument("--site", help="the site's name (needed when several use Sense)")
        parser.add_argument("--code", help="the one-time code; asked at the prompt otherwise")

    def handle(self, *args, site: str | None, code: str | None, **options) -> None:
        code = not_empty("--code", code, "the one-time code", "to type it at the prompt")
        config = self._config(
            not_empty("--site", site, "a site's name", "when one site uses Sense")
        )
        credentials = pipeline.credentials(config)
        if not credentials.username or not credentials.password:
            raise CommandError(
                f"{config}: no e-mail or password: enter the Sense app's login in the provider "
                "settings (admin) or set METER_USERNAME and METER_PASSWORD, then run this again."
            )
        saved: list[dict] = []
        credentials = replace(
            credentials, session={}, on_renewed=lambda renewed: saved.append(dict(renewed.session))
        )

        def ask() -> str:
            if code:
                return code
            if not sys.stdin.isatty():
                raise CommandError(
                    "The Sense account asks for a one-time code (MFA): run this in a terminal "
                    "to type it, or pass the current code with --code."
                )
            try:
                typed = input("One-time code from your authenticator app: ").strip()
            except EOFError:  # Ctrl-D
                typed = ""
            if not typed:  # not sent: Sense would refuse it
                raise CommandError(
                    "No one-time code was typed: run this again and type the code of your "
                    "authenticator app, or pass it with --code."
                )
            return typed

        try:
            session = adapter_for(SOURCE, PROVIDER).login(credentials, ask)
        except HttpError as exc:
            raise CommandError(str(exc)) from None
        config.save_session(saved[-1] if saved else {})
        self.stdout.write(
            f"Sense: logged in as {credentials.username} (monitor {session.monitor_id}); the "
            f"session is saved for {config.site}. The collector renews it from now on."
        )

    def _config(self, site: str | None) -> ProviderConfig:
        configs = ProviderConfig.objects.filter(source=SOURCE, provider=PROVIDER)
        if site and "\x00" in site:
            raise CommandError(f"--site {site!r}: a site name holds no NUL character.")
        if site:
            configs = configs.filter(site__name=site)
        found = list(configs.select_related("site"))
        if not found:
            where = f" for site {site!r}" if site else ""
            raise CommandError(
                # The source as the admin's list of sources names it, not its code "smart_meter".
                f"No Sense provider settings{where}: add one (source {SOURCE_LABELS[SOURCE]!r}, "
                "provider sense) in the admin, or set METER_TYPE=sense with METER_USERNAME and "
                "METER_PASSWORD."
            )
        if len(found) > 1:
            names = ", ".join(sorted(c.site.name for c in found))
            raise CommandError(f"Several sites use Sense ({names}): choose one with --site.")
        return found[0]
