"""Ports on 127.0.0.1 for the tests' own servers."""

import socket


def free_port() -> int:
    """A port nothing listens on right now: for a server of the test's own, or a refused
    connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
