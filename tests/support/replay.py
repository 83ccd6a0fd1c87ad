"""A local HTTP server on 127.0.0.1 that replays documented API payloads to the adapters.

Tests register routes (`add`), point an adapter's base URL at `server.url`, and afterwards
assert on `server.requests` (what was sent: method, path, query, headers, body, time).
Registering the same route several times queues the replies (first 503, then 200); the last
one keeps answering unless it was given `times`. Unmatched requests get a 404 whose JSON body
names the request and the registered routes, which makes a wrong URL obvious.

Real sockets, real HTTP/1.1 with keep-alive, so timeouts, pooling and connection failures
behave as they do against the real services.
"""

from __future__ import annotations

import json as jsonlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

from tests.support.ports import free_port
from tests.support.serving import serve

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
_MISSING: Any = object()


def load_fixture(name: str) -> Any:
    """A file from tests/fixtures/: parsed JSON for `*.json`, text for anything else."""
    path = FIXTURES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"fixture {name!r} not found in {FIXTURES_DIR}")
    text = path.read_text(encoding="utf-8")
    return jsonlib.loads(text) if path.suffix == ".json" else text


def unused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]
    delay: float  # seconds before answering (longer than a client timeout = a hang)
    held: threading.Event | None = None  # answered once the test sets it (after `delay`)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]  # last value of each parameter
    query_all: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes
    time: float  # time.monotonic() when the request arrived
    matched: bool
    client_port: int  # the same port on two requests means one kept-alive connection

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class _Route:
    method: str
    path: str
    query: dict[str, str]
    order: int
    replies: list[tuple[Reply, int | None]] = field(default_factory=list)  # (reply, times left)

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        if method != self.method or path != self.path:
            return False
        return all(value in query.get(name, []) for name, value in self.query.items())

    def take(self) -> Reply | None:
        """The next reply; an unlimited reply is used once unless it is the last."""
        while self.replies:
            reply, left = self.replies[0]
            if left is None:
                if len(self.replies) > 1:
                    self.replies.pop(0)
                return reply
            if left > 0:
                if left == 1:
                    self.replies.pop(0)
                else:
                    self.replies[0] = (reply, left - 1)
                return reply
            self.replies.pop(0)
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
    # The headers and the body go out in two writes: with Nagle's algorithm the body waited
    # for the client's delayed acknowledgement of the headers, 40 ms an answer.
    disable_nagle_algorithm = True
    server: _Server

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        reply = self.server.replay.dispatch(
            self.command, self.path, self.headers, body, self.client_address[1]
        )
        if reply.delay and self.server.replay.closing.wait(reply.delay):
            self.close_connection = True
            return  # the server is stopping: do not answer a hung request
        while reply.held is not None and not reply.held.wait(0.02):
            if self.server.replay.closing.is_set():
                self.close_connection = True
                return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout), as intended

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read server.requests instead of stderr noise


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    replay: ReplayServer

    def __init__(self, replay: ReplayServer, port: int) -> None:
        self.replay = replay
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.replay.closing.is_set():
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise keep their handler threads reading forever.
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ReplayServer:
    """Scripted HTTP answers on 127.0.0.1:<ephemeral port>; use as a context manager."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._routes: list[_Route] = []
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._stop_serving: Callable[[], None] | None = None
        self._port = 0  # ephemeral at first; a restart reuses the port so `url` stays valid

    # --- lifecycle ---

    def start(self) -> ReplayServer:
        """Listen (again): after `stop()`, on the same port, with routes and records kept."""
        if self._server is not None:
            return self
        self.closing.clear()
        self._server = _Server(self, self._port)
        self._port = self._server.server_address[1]
        self._stop_serving = serve(self._server, name=f"replay-server-{self.port}")
        return self

    def stop(self) -> None:
        """Stop listening (later connections are refused) and drop open connections."""
        if self._server is None:
            return
        self.closing.set()
        self._stop_serving()
        self._server.close_connections()
        self._server.server_close()
        self._server = None
        self._stop_serving = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the replay server is not running; call start() first")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    # --- scripting ---

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        *,
        json: Any = _MISSING,
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        held: threading.Event | None = None,
        times: int | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Queue a reply for `method path` (optionally only when `query` is a subset).

        `json` is serialized with Content-Type application/json; `body` is sent as is
        (text/plain unless `headers` say otherwise). `times=None` answers once if more
        replies are queued after it, and forever if it is the last; `times=n` answers n
        times and is then used up. A `query` in `path` ("/x?zone=DE") works like `query=`.
        """
        if json is not _MISSING and body is not None:
            raise ValueError("give either json= or body=, not both")
        split = urlsplit(path)
        wanted = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        wanted.update(query or {})
        reply_headers = dict(headers or {})
        has_type = any(name.lower() == "content-type" for name in reply_headers)
        if json is not _MISSING:
            payload = jsonlib.dumps(json).encode()
            if not has_type:
                reply_headers["Content-Type"] = "application/json"
        else:
            payload = body.encode() if isinstance(body, str) else (body or b"")
            if not has_type and payload:
                reply_headers["Content-Type"] = "text/plain; charset=utf-8"
        reply = Reply(status, payload, reply_headers, delay, held)
        with self._lock:
            route = next(
                (
                    r
                    for r in self._routes
                    if r.method == method.upper() and r.path == split.path and r.query == wanted
                ),
                None,
            )
            if route is None:
                route = _Route(method.upper(), split.path, wanted, order=len(self._routes))
                self._routes.append(route)
            route.replies.append((reply, times))

    def load_fixture(self, name: str) -> Any:
        return load_fixture(name)

    def reset(self) -> None:
        """Forget all routes and recorded requests."""
        with self._lock:
            self._routes.clear()
            self._requests.clear()

    # --- inspection ---

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, filtered by method and/or path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path is None or r.path == path)
        ]

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.requests)

    # --- serving (called from handler threads) ---

    def dispatch(
        self, method: str, target: str, headers: Any, body: bytes, client_port: int
    ) -> Reply:
        split = urlsplit(target)
        query_all = parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            candidates = sorted(
                (r for r in self._routes if r.matches(method, split.path, query_all)),
                key=lambda r: (-len(r.query), r.order),  # most specific first
            )
            reply = None
            for route in candidates:
                reply = route.take()
                if reply is not None:
                    break
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query={k: v[-1] for k, v in query_all.items()},
                    query_all=query_all,
                    headers=CaseInsensitiveDict(headers.items()),
                    body=body,
                    time=time.monotonic(),
                    matched=reply is not None,
                    client_port=client_port,
                )
            )
            if reply is not None:
                return reply
            registered = [
                f"{r.method} {r.path}" + (f" {r.query}" if r.query else "") for r in self._routes
            ]
        detail = {
            "error": "no replay route matches this request",
            "method": method,
            "path": split.path,
            "query": {k: v[-1] for k, v in query_all.items()},
            "registered": registered,
        }
        return Reply(
            status=404,
            body=jsonlib.dumps(detail).encode(),
            headers={"Content-Type": "application/json"},
            delay=0.0,
        )
