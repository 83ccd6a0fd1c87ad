"""Private Mosquitto brokers (Debian's, 2.x) for the tests that must not touch the shared one:
one stopped and started again (tests/ha_mqtt/test_broker_outage.py)."""

import getpass
import socket
import subprocess
import time
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"


def start_mosquitto(
    port: int, directory: Path, options: str = "allow_anonymous true"
) -> subprocess.Popen:
    """A private broker on 127.0.0.1:`port` with `options` (mosquitto.conf lines), like
    scripts/services.sh's by default. Run as root, Mosquitto would change to the user
    `mosquitto`, who cannot read this test's files: `user` keeps it the current one."""
    conf = directory / f"mosquitto-{port}.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\npersistence false\nuser {getpass.getuser()}\n{options}\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("the private mosquitto did not start")
