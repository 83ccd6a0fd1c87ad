"""One beat sends the periodic tasks: a second one on the same Redis stands by.

Two beats on one schedule (a `make run` under systemd and another by hand, `docker compose up
--scale beat=2`) each sent every due task: every collection, tier run, view refresh, archive
and Home Assistant publication ran twice, each recorded (twice the runs in the admin, twice
the MQTT messages). The beat that ticks holds a Redis lock, renewed at each tick (at least every
5 s), with an expiry of LEAD_SECONDS; another finds it held, sends nothing, says so once and
tries again at each of its ticks. It takes over when the lock is free: released by a beat that
stopped (SIGTERM, Ctrl-C), or expired, LEAD_SECONDS after a beat that crashed or hangs last
ticked.

    <prefix>:lock:beat  "a beat on <host>, pid <pid> since <time> [...]"
"""

import logging
import os
import socket
import time

from enrich.redis.alive import RETRY_AFTER
from enrich.redis.client import CONNECTION_ERRORS
from enrich.redis.lock import RunLock

logger = logging.getLogger(__name__)

# Past DatabaseScheduler's longest sleep between ticks (5 s), with room for a slow tick.
LEAD_SECONDS = 30
UNREACHABLE = ""  # what the last line logged named: no holder, Redis out of reach


class Lead:
    """Whether this beat sends the periodic tasks (`held()`, asked at each tick)."""

    def __init__(self) -> None:
        self.me = f"a beat on {socket.gethostname()}, pid {os.getpid()}"
        self.lock = RunLock("beat", owner=self.me, ttl_seconds=LEAD_SECONDS)
        self.sending = True  # until Redis says another beat does
        self.said: str | None = None  # the holder named in the last line logged
        self.paused_until = float("-inf")

    def held(self) -> bool:
        """Renew or take the lock; False while another beat holds it. Redis out of reach
        leaves the beat as it was (sending, at first: the broker may be another Redis) and is
        tried again RETRY_AFTER seconds later, as the tick's record (enrich.redis.alive)."""
        if time.monotonic() < self.paused_until:
            return self.sending
        try:
            self.sending = self.lock.renew() or self.lock.acquire()
            holder = self.me if self.sending else (self.lock.holder() or "another beat")
        except CONNECTION_ERRORS as exc:
            self.paused_until = time.monotonic() + RETRY_AFTER
            if self.said != UNREACHABLE:
                logger.warning("Beat: Redis cannot be reached to tell which beat sends the "
                               "periodic tasks; this one goes on %s: %s",
                               "sending them" if self.sending else "sending none", exc)  # fmt: skip
                self.said = UNREACHABLE
            return self.sending
        if self.said != holder:
            self.said = holder
            if self.sending:
                logger.info("Beat: this beat (%s) sends the periodic tasks", self.me)
            else:
                logger.warning("Beat: %s sends the periodic tasks (Redis lock %r); this one "
                               "sends none and takes over within %d s of its stop", holder,
                               self.lock.key, LEAD_SECONDS)  # fmt: skip
        return self.sending

    def release(self) -> None:
        """Let a beat standing by take over at once (this one stops)."""
        self.lock.release_quietly()
