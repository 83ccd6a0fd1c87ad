"""What a retention command says when Redis, the store of its run's lock, is out of reach."""

from django.core.management.base import CommandError

from enrich.redis.client import RedisUnavailable


def redis_gone(exc: RedisUnavailable, done: str, rest: str) -> CommandError:
    """The RedisUnavailable message (naming REDIS_URL and how to start Redis), what the command
    did that stays (`done`, a sentence), and to run it again once Redis is back, which does
    `rest`."""
    return CommandError(f"{exc} {done} Run this command again once Redis is back: it {rest}.")
