"""The worker's consumer (config/celery.py's `worker_consumer`): a task the worker returns to
its queue when it stops goes back as not delivered.

A cold shutdown (SIGQUIT; under `make run`, SIGTERM too: the Procfile's REMAP_SIGTERM) waits
the soft shutdown's seconds for the running tasks, then cancels the ones still running: their
messages (acks_late) go back to the queue unacknowledged. Their next delivery would count as one
whose worker died under it (enrich.deliveries), and a few stops during a long task (an archive
run) would refuse it as poisoned; so the delivery counted for each is taken back first.
"""

from celery.worker import consumer
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
