"""docker-compose.yml lets a worker end its running tasks when it is stopped: docker sends
SIGTERM (Celery's warm shutdown waits for the running tasks), then SIGKILL after the service's
`stop_grace_period`, 10 s unless it says otherwise."""

import re

import pytest

from config.celery import app
from config.queues import queue_of
from tests.support.compose import COMPOSE, commands_of

DOCKER_DEFAULT_SECONDS = 10


def seconds(duration: str | None) -> float:
    """A compose duration ("4m", "1m30s", "90s") in seconds; docker's default when unset."""
    if duration is None:
        return DOCKER_DEFAULT_SECONDS
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(duration))
    assert parts and duration, f"unreadable duration {duration!r}"
    hours, minutes, secs = (float(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + secs


def test_seconds_reads_compose_durations():
    assert seconds("4m") == 240
    assert seconds("1m30s") == 90
    assert seconds("2h") == 7200
    assert seconds(None) == 10


def queues_of(service: str) -> set[str]:
    (argv,) = commands_of(COMPOSE["services"][service])
    return set(argv[argv.index("-Q") + 1].split(","))


@pytest.mark.django_db
def test_the_collectors_worker_is_given_time_to_end_every_task_it_may_run():
    app.loader.import_default_modules()
    queues = queues_of("worker-collectors")
    limits = {
        name: task.time_limit or app.conf.task_time_limit
        for name, task in app.tasks.items()
        # Celery's own tasks and those other tests register in this process left out.
        if not name.startswith(("celery.", "tests.")) and queue_of(name) in queues
    }
    assert {"collectors.collect", "mqtt.publish_states", "retention.check_alerts"} <= set(limits)
    grace = seconds(COMPOSE["services"]["worker-collectors"].get("stop_grace_period"))
    # The task's limit, then the worker's own shutdown (2-11 s measured on a loaded machine).
    assert grace >= max(limits.values()) + 30, (grace, max(limits.items(), key=lambda i: i[1]))
