"""Real processes publishing a test's entities as a Celery worker would (mqtt.publish_states),
for the tests that kill them: each is its own Python, on the test's broker, topics, Redis key
prefix, InfluxDB and PostgreSQL databases."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.ha_mqtt.conftest import process_env
from tests.support import worker as workers

ROOT = Path(__file__).resolve().parents[2]
# Seconds without a publication before enrich counts as offline, for these tests (180 in use).
OFFLINE_AFTER = 3
PUBLISHER = """
import time
import django
django.setup()
from collectors.ha_mqtt import tasks
while True:
    print(tasks.run()["status"], flush=True)  # what a worker runs for mqtt.publish_states
    time.sleep(0.5)
"""


class Publisher:
    """A process publishing this test's entities about twice a second; it prints each
    outcome, then sleeps half a second (or one running `script`, given `args`)."""

    def __init__(
        self, script: str = PUBLISHER, *args: str, offline_after: int = OFFLINE_AFTER
    ) -> None:
        env = dict(
            os.environ,
            DATABASE_URL=workers.test_database_url(),
            **process_env(MQTT_OFFLINE_AFTER_SECONDS=str(offline_after)),
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE
        )

    def next_outcome(self, timeout: float = 60) -> str:
        """The outcome of the next publication that ends from now on."""
        fd = self.proc.stdout.fileno()
        while select.select([fd], [], [], 0)[0] and os.read(fd, 65536):
            pass  # what it printed before now
        line, deadline = b"", time.monotonic() + timeout
        while not line.endswith(b"\n"):
            assert select.select([fd], [], [], max(deadline - time.monotonic(), 0))[0]
            line += os.read(fd, 65536)
        return line.decode().split()[-1]

    def kill(self) -> None:
        """SIGKILL between two publications (not holding the publication lock): no clean
        disconnect, only a last will can tell."""
        self.next_outcome()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
