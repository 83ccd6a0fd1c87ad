"""docker-compose.yml lets a worker end its running tasks when it is stopped: docker sends
SIGTERM (Celery's warm shutdown waits for the running tasks), then SIGKILL after the service's
`stop_grace_period`, 10 s unless it says otherwise."""

import re
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from config.celery import app
from config.queues import queue_of
from config.schedule import SCHEDULE
from tests.support.compose import COMPOSE, ROOT, commands_of

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


def hours_minutes(secs: int) -> str:
    """3 h 15 min, 1 h: as the docs write a duration."""
    hours, minutes = divmod(secs // 60, 60)
    return " ".join([f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes))


def test_the_docs_say_when_the_retention_worker_runs_and_what_a_stop_loses():
    """docs/deployment.md's *Stopping*: worker-retention is killed 10 s after a stop, so the
    docs give every time it runs, and what becomes of a run killed midway. They said only
    the night's window (02:00, Sundays 03:00), and that a killed run was delivered again after
    the visibility timeout and went on: a scheduled run has expired by then and is dropped."""
    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    start = text.index("`worker-retention` keeps docker's")
    stopping = text[start : text.index("InfluxDB's image creates", start)]
    retention = [entry for entry in SCHEDULE if entry.queue == "retention"]
    for entry in retention:
        if entry.crontab is None:  # an interval
            assert f"every {entry.every_seconds // 60} minutes" in stopping, entry
            continue
        minute, hour = entry.crontab.split()[:2]
        if hour.startswith("*/"):
            assert f"every {hour[2:]} hours from 00:{int(minute):02d}" in stopping, entry
        else:
            assert f"{int(hour):02d}:{int(minute):02d}" in stopping, entry
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert f"visibility timeout (about {hours_minutes(visibility)})" in stopping
    dropped = re.search(r"is dropped \((.*?)\);", stopping)[1]
    assert set(re.findall(r"after (\d+ h(?: \d+ min)?|\d+ min)", dropped)) == {
        hours_minutes(entry.expires) for entry in retention if entry.expires < visibility
    }
    for entry in retention:
        if entry.expires >= visibility:
            late = hours_minutes(entry.expires - visibility)
            said = f"expires after {hours_minutes(entry.expires)}) that started within {late} of"
            assert said in stopping, entry


TAKE_AND_HOLD = """
import sys, time
from config.celery import app
with app.connection_for_read() as conn:
    queue = conn.SimpleQueue(sys.argv[1])
    queue.get(timeout=10)  # taken as a worker takes a task (acks_late: not acknowledged)
    print("taken", flush=True)
    time.sleep(600)  # running, until it is killed
"""


def test_a_killed_task_is_delivered_again_a_visibility_timeout_after_it_was_taken(tmp_path):
    """The *Stopping* paragraph's arithmetic: kombu keeps when a worker took the message, and
    hands it out again once the visibility timeout has passed since then, not since the kill
    (a worker killed by docker never acknowledges nor gives it back). So an archive run that
    started on time runs again whenever it was killed; the docs said only in its first 2 h 45."""
    name = f"test-visibility-{uuid.uuid4().hex}"
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue(name)
        queue.put({"task": "retention.archive"})
        client = conn.default_channel.client
        worker = subprocess.Popen(
            [sys.executable, "-c", TAKE_AND_HOLD, name], cwd=ROOT, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert worker.stdout.readline().strip() == "taken"
            taken_by = time.time()
            time.sleep(1)
        finally:
            worker.kill()  # docker's SIGKILL after the grace period
            worker.wait(timeout=10)
        killed = time.time()
        tags = client.zrange("unacked_index", 0, -1, withscores=True)
        (taken,) = [at for tag, at in tags if name.encode() in client.hget("unacked", tag)]
        assert taken <= taken_by < killed
        # A timeout that has passed since the take but not since the kill: handed out again.
        timeout = {"visibility_timeout": time.time() - (taken_by + killed) / 2}
        with app.connection_for_write(transport_options=timeout) as later:
            later.default_channel.qos.restore_visible()
        again = queue.get(timeout=5)
        assert again.payload == {"task": "retention.archive"}
        again.ack()
        queue.queue.delete()
