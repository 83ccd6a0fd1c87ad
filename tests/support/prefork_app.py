"""The project's Celery app for the test workers with a prefork pool (tests.support.worker
picks it for `pool="prefork"`; the test apps beside it import it): the same app, whose pool
looks for children that left more often.

Celery's pool starts a new child when it sees one left (recycled after max-tasks-per-child,
killed): at the child's exit, unless the kernel has not reaped it yet in that instant, and
otherwise at its maintenance timer, every 5 s. Most of the tests' recycled and killed children
waited out that timer, 5 s each; here it runs every 0.2 s. Nothing else changes: the same
tasks, acknowledgements, redeliveries and the same pool."""

from celery.concurrency import asynpool

from config.celery import app

__all__ = ("app",)

MAINTAIN_SECONDS = 0.2

assert "timers" in vars(asynpool.AsynPool), "Celery's pool no longer has the timer set here"
timers = property(lambda pool: {pool.maintain_pool: MAINTAIN_SECONDS})
setattr(asynpool.AsynPool, "timers", timers)  # noqa: B010  (vulture: set, never read here)
