"""The worker's consumer (config/celery.py's `worker_consumer`): a task the worker returns to
its queue when it stops goes back as not delivered.

A cold shutdown (SIGQUIT; under `make run`, SIGTERM too: the Procfile's REMAP_SIGTERM) waits
the soft shutdown's seconds for the running tasks, then cancels the ones still running: their
messages (acks_late) go back to the queue unacknowledged. Their next delivery would count as one
whose worker died under it (enrich.deliveries), and a few stops during a long task (an archive
run) would refuse it as poisoned; so the delivery counted for each is taken back first.

With REMAP_SIGTERM, billiard's pool processes ignore SIGTERM, which keeps them alive when honcho
sends it to the worker's whole process group, but also ignores a terminate from Flower or
`revoke(terminate=True)` (SIGTERM unless told otherwise). So each pool process leaves the
worker's process group instead, and a task it runs can be terminated with SIGTERM again.

A stop that comes while the worker starts (before its event loop) stops it before the loop
begins: Celery's loop would otherwise read the pool a cold stop has stopped.
"""

import os
import signal

from billiard.common import REMAP_SIGTERM
from celery.signals import task_prerun, worker_process_init
from celery.worker import consumer, state
from celery.worker.state import active_requests, successful_requests

from enrich.deliveries import uncount_delivery


class Consumer(consumer.Consumer):
    def cancel_active_requests(self):
        # The requests Celery's own cancel_active_requests returns to the queue, and that a
        # pool process began (counted its delivery).
        for request in tuple(active_requests):
            returned = request.task.acks_late and not request.acknowledged
            if returned and request.time_start and request.id not in successful_requests:
                uncount_delivery(request.id, request.request_dict.get("retries") or 0)
        super().cancel_active_requests()

    def on_ready(self):
        super().on_ready()
        # A stop that came while the worker started (a Ctrl-C in its first seconds): a cold one
        # stopped the pool at once, and Celery's event loop, which calls this just before it
        # begins, would read the stopped pool (AttributeError 'did_start_ok', logged as a
        # CRITICAL unrecoverable error). Stop as asked, as the loop's first turn would.
        state.maybe_shutdown()


_pool_process = False


@worker_process_init.connect
def _own_process_group(**kwargs) -> None:
    """A pool process: out of the worker's process group, which a signal to the whole group
    (honcho's SIGTERM) no longer reaches; it still dies with the worker (Celery's
    PR_SET_PDEATHSIG)."""
    global _pool_process
    if REMAP_SIGTERM:
        os.setpgid(0, 0)
        _pool_process = True


@task_prerun.connect
def _terminable(**kwargs) -> None:
    # After billiard's own signal setup (which comes after worker_process_init).
    if _pool_process:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
