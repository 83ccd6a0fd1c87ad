"""Ports on 127.0.0.1 for the tests' own servers."""

import random
import socket

# Below Linux's ephemeral range (32768-60999 by default), which the kernel draws from for a
# bind to port 0 (the replay servers, moto, Celery's sockets) and for outgoing connections: a
# port from the ephemeral range, free when probed, could be taken by another test's server in
# the seconds before a slow start (make run's gunicorn) binds it.
OWN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A port nothing listens on right now, outside the ports the kernel hands out: for a server
    of the test's own, or a refused connection."""
    while True:
        port = random.choice(OWN_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another
            return port
