"""An HTTP proxy on loopback in front of moto's S3 server that records every request it passes
on, so a test counts what a run asks of the bucket (S3 bills each LIST, HEAD and GET).

`counting_s3(settings, s3)`: a `CountingS3` whose URL the S3 settings point at (and back at moto
afterwards); its `lists()`, `heads(key)`, `gets(key)` say how many of each went to moto.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class S3Request:
    method: str
    path: str  # /bucket/key, unquoted
    query: dict[str, list[str]]


class CountingS3:
    """The proxy: every request goes on to `target` (host, port) as it came."""

    def __init__(self, target: str) -> None:
        netloc = urlsplit(target).netloc
        host, port = netloc.rsplit(":", 1)
        self.target = (host, int(port))
        self.requests: list[S3Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def lists(self) -> list[str]:
        """The prefixes of the LIST requests (ListObjectsV2) in order."""
        return [
            r.query.get("prefix", [""])[0]
            for r in self.requests
            if r.method == "GET" and "list-type" in r.query
        ]

    def _of(self, method: str, key: str) -> int:
        return sum(
            1
            for r in self.requests
            if r.method == method and not r.query.get("list-type") and r.path.endswith(f"/{key}")
        )

    def heads(self, key: str) -> int:
        return self._of("HEAD", key)

    def gets(self, key: str) -> int:
        return self._of("GET", key)

    def _record(self, method: str, raw_path: str) -> None:
        parts = urlsplit(raw_path)
        request = S3Request(method, unquote(parts.path), parse_qs(parts.query, True))
        with self._lock:
            self.requests.append(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the test reads the records
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        data += self.rfile.read(size)
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return data
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                proxy._record(self.command, self.path)
                body = self._body()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(*proxy.target, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        return Handler


@contextmanager
def counting_s3(settings, s3) -> Iterator[CountingS3]:
    """A CountingS3 in front of the `s3` fixture's moto server, the S3 settings pointing at it."""
    proxy = CountingS3(s3.endpoint)
    settings.S3_ENDPOINT_URL = proxy.url
    try:
        yield proxy
    finally:
        settings.S3_ENDPOINT_URL = s3.endpoint
        proxy.close()
