"""The tests' own ports (tests.support.ports) are not the ones the kernel hands out to a bind to
port 0, so another test's server cannot take one before a slow server starts on it."""

import socket

from tests.support.ports import OWN_PORTS, free_port


def ephemeral_range() -> range:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as limits:
        low, high = map(int, limits.read().split())
    return range(low, high + 1)


def test_a_free_port_is_outside_the_kernels_range_and_bindable():
    kernel = ephemeral_range()
    assert OWN_PORTS.stop <= kernel.start
    for _ in range(50):
        port = free_port()
        assert port in OWN_PORTS and port not in kernel
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
