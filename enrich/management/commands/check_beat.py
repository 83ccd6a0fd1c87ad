"""The beat's healthcheck (docker-compose.yml): exit 0 while the beat's last tick, recorded in
Redis by enrich.beat_scheduler, is at most --max-age seconds old; else exit 1 saying why."""

from django.core.management.base import BaseCommand, CommandError

from enrich.liveness import BEAT_LATE_AFTER, beat_state
from enrich.management.options import once_each
from enrich.numerals import whole_option
from enrich.redis.client import RedisUnavailable


class Command(BaseCommand):
    help = "Exit 0 while the beat ticked within --max-age seconds (its healthcheck), else 1."
    requires_system_checks = []  # a healthcheck runs every minute: only what it needs

    def add_arguments(self, parser):
        once_each(parser)
        parser.add_argument(
            "--max-age",
            type=whole_option,
            default=BEAT_LATE_AFTER,
            help=f"seconds since the last tick (default {BEAT_LATE_AFTER}; it ticks every 5 s)",
        )

    def handle(self, *args, max_age: int, **options):
        if max_age < 1:
            raise CommandError("--max-age: a whole number of seconds from 1.")
        try:
            beat = beat_state(late_after=max_age)
        except RedisUnavailable as exc:
            raise CommandError(str(exc)) from None
        if not beat["ok"]:
            raise CommandError(beat["detail"])
        self.stdout.write(f"beat ok: last tick {beat['age_seconds']:.0f} s ago on {beat['host']}")
