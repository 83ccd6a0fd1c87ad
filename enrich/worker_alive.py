"""Each worker's sign of life: its node name and queues, recorded in Redis every few seconds
(enrich.redis.alive) from the worker's own event loop, where its answers to pings come from
too. A worker that was killed, or whose loop hangs, stops recording: the status page says since
when (enrich.liveness). One stopped on purpose (a warm shutdown) is forgotten at once.
Registered in config/celery.py as a consumer bootstep.
"""

import logging

from celery import bootsteps

from enrich.redis import alive
from enrich.redis.client import RedisUnavailable

logger = logging.getLogger(__name__)
RECORD_EVERY = 10.0  # seconds


class WorkerAlive(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)  # the queues it consumes are known

    def __init__(self, c, **kwargs):
        self.tref = None
        self.unrecorded_said = False
        super().__init__(c, **kwargs)

    def start(self, c):
        self.record(c)
        self.tref = c.timer.call_repeatedly(RECORD_EVERY, self.record, (c,))

    def stop(self, c):  # the connection was lost (the consumer restarts), or shutdown
        if self.tref is not None:
            c.timer.cancel(self.tref)
            self.tref = None

    def shutdown(self, c):
        self.stop(c)
        try:
            alive.forget_worker(c.hostname)
        except RedisUnavailable:
            pass  # then it is shown as not heard from, until forgotten

    def record(self, c) -> None:
        queues = sorted(q.name for q in c.task_consumer.queues) if c.task_consumer else []
        try:
            alive.record_worker(c.hostname, queues)
        except RedisUnavailable as exc:
            if not self.unrecorded_said:
                logger.warning("Worker %s: its signs of life are not recorded: %s", c.hostname, exc)
                self.unrecorded_said = True
            return
        self.unrecorded_said = False
