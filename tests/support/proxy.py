"""A TCP proxy on loopback that a test closes and opens again: a service (InfluxDB, moto's S3,
PostgreSQL) going away and coming back, as the code under test sees it. `influxdb_proxy_fixture`
(the fixture `influxdb_proxy`): an open Proxy that the code under test reaches InfluxDB through;
`database_proxy()`: one to the test database, for the processes a test starts.
`silent_server()`: a service that hangs, taking connections and never answering.
`closes_at()`: a proxy closed as the code under test reaches a fault point."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from enrich.influx import reset_timeseries


class Proxy:
    """A TCP proxy on loopback to a real service (`target_url`: scheme://host:port) that can be
    closed and opened again on the same port: closed, connections are refused and open ones are
    cut."""

    def __init__(self, target_url: str) -> None:
        host_port = target_url.split("://", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        self.target = (host, int(port))
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave it
            # accepting on Linux.
            try:
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
            self._server = None
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets = []

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):  # pass each piece on at once (no Nagle delay)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@contextmanager
def silent_server(scheme: str = "http") -> Iterator[str]:
    """The URL (`scheme`://host:port) of a server that takes connections and what they send,
    and never answers: a service that hangs (a paused container, an InfluxDB thrashing on a
    small server), as its clients see it. The system takes the connections for it (its
    backlog)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield f"{scheme}://127.0.0.1:{server.getsockname()[1]}"


@contextmanager
def database_proxy() -> Iterator[tuple[Proxy, str]]:
    """An open Proxy to the test database (PostgreSQL), and the DATABASE_URL through it of the
    processes the test starts; closed at the end."""
    from django.db import connection

    db = connection.settings_dict
    proxy = Proxy(f"tcp://{db['HOST']}:{db['PORT']}")
    proxy.open()
    try:
        yield proxy, f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{proxy.port}/{db['NAME']}"
    finally:
        proxy.close()


@pytest.fixture(name="influxdb_proxy")
def influxdb_proxy_fixture(settings):
    """An open Proxy to the real InfluxDB, INFLUXDB_URL pointing at it for the test."""
    real = settings.INFLUXDB_URL
    proxy = Proxy(real)
    proxy.open()
    settings.INFLUXDB_URL = proxy.url
    reset_timeseries()
    yield proxy
    proxy.close()
    settings.INFLUXDB_URL = real
    reset_timeseries()


def closes_at(proxy: Proxy, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    """`proxy` closed (its service gone) as the code under test reaches the fault point `point`
    (`retention.faults`), which then does as armed; until the test undoes `monkeypatch`."""
    from retention import faults

    real = faults.point

    def goes_away(name: str) -> None:
        if name == point:
            proxy.close()
        real(name)

    monkeypatch.setattr(faults, "point", goes_away)
