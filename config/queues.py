"""The queues and which task goes to which: declared here once, read by the Celery app
(config/celery.py) and by the beat table (config/schedule.py)."""

from fnmatch import fnmatchcase

QUEUES = ("collectors", "retention", "default")

# First match wins.
ROUTES = [
    {"collectors.*": {"queue": "collectors"}},
    # Alerts must not wait behind a long run on the retention queue.
    {"retention.check_alerts": {"queue": "default"}},
    {"retention.*": {"queue": "retention"}},
]


def queue_of(task: str) -> str:
    """The queue a task named `task` is routed to, as Celery routes it."""
    for route in ROUTES:
        for pattern, options in route.items():
            if fnmatchcase(task, pattern):
                return options["queue"]
    return "default"
