"""Each worker's sign of life: its node name and queues, recorded in Redis every few seconds
(enrich.redis.alive) from the worker's own event loop, where its answers to pings come from
too. A worker that was killed, or whose loop hangs, stops recording: the status page says since
when (enrich.liveness). One stopped on purpose (a warm shutdown) is forgotten at once.
Registered in config/celery.py as a consumer bootstep.
"""

from celery import bootsteps

from enrich.redis import alive
from enrich.redis.client import RedisUnavailable

RECORD_EVERY = 10.0  # seconds


class WorkerAlive(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)  # the queues it consumes are known

    def __init__(self, c, **kwargs):
        self.tref = None
        self.recorder = alive.Recorder(f"Worker {c.hostname}")
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
        self.recorder(lambda: alive.record_worker(c.hostname, queues))
