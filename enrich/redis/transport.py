"""kombu's Redis transport for Celery, whose worker survives a restart of Redis while it holds a
message it has not acknowledged (a retry due later, a task running: `acks_late`).

With kombu's own transport the worker dies (exit code 1): "Restoring 1 unacknowledged message(s)",
then `AttributeError: 'NoneType' object has no attribute 'hostname'`. On a lost connection Celery
closes the channel twice, `Connection.collect()` then `close()`. kombu 5.7's close begins by reading
the answer of its BRPOP under way (a message Redis popped for it must not be lost); the connection
gone, that read raises a connection error, which ends the first close before the channel is closed,
and `collect()` ignores it and unhooks the transport from its connection (`client = None`). The
second close goes as far as restoring the unacknowledged messages, and the restore asks that missing
connection for Redis' address: no connection error, so the worker stops.

Here a BRPOP answer that cannot be read because the connection broke counts as no answer, as one
that came back empty does: the first close goes on and closes the channel. Its restore puts the
messages held back in their queues if Redis is back by then; otherwise they stay in kombu's
unacknowledged hash, which a Redis that kept its data hands out again after the visibility
timeout, and one restarted without its data has lost (retention.lost closes the runs waiting
for them). Registered for redis:// and rediss:// brokers in config/celery.py.

Its channels' connections (kombu's, each wait capped as the door's: enrich.redis.connection)
end a web request's wait on a Redis that takes connections but never answers within its time
left (WEB_TIMEOUT): the task is not queued, as with a Redis out of reach, which the endpoint
answers (retention.queued). kombu's have no timeout on a read: gunicorn killed the worker.
Outside a request (workers, beat) they wait as kombu's do.
"""

from queue import Empty

from kombu.transport import redis

from enrich.redis.connection import within_request


class Channel(redis.Channel):
    def _brpop_read(self, **options):
        try:
            return super()._brpop_read(**options)
        except self.connection_errors:
            if self._closing:
                raise Empty() from None
            raise

    def _connparams(self, asynchronous=False):
        params = super()._connparams(asynchronous)
        params["connection_class"] = within_request(params["connection_class"])
        return params


class Transport(redis.Transport):
    Channel = Channel
