"""An S3 store that answers a download's head and then stalls in its body (a store thrashing,
a connection dropping mid-transfer): the download fails as the store out of reach
(StorageUnavailable, which a run retries), naming the key, not with botocore's own error."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from retention.archive.s3 import S3Storage
from retention.archive.store import StorageUnavailable

KEY = "archives/2022/data_2022-01-01.parquet"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n"


@contextmanager
def stalling_store() -> Iterator[str]:
    """The URL of a server that answers each request with a 100-byte body's head and 10 of its
    bytes, then sends nothing more while the connection stays open."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            held.append(connection)
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            connection.sendall(HEAD + b"0123456789")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes the accept
        server.close()
        for connection in held:
            connection.close()
        thread.join(5)


def test_a_body_that_stalls_fails_the_download_as_the_store_out_of_reach():
    with stalling_store() as url:
        storage = S3Storage("archive", endpoint_url=url, access_key="k", secret_key="s", timeout=1)
        with pytest.raises(StorageUnavailable) as failed:
            storage.get(KEY)
    said = str(failed.value)
    assert said.startswith(f"Cannot reach the archive store {url} while downloading {KEY}: "), said
    assert "Read timeout" in said, said
