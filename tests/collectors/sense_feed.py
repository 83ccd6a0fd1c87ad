"""A local websocket server playing Sense's realtime feed (RFC 6455, text frames, no TLS).

Small on purpose: the handshake, unmasked server text frames, and the client's close frame.
Each connection takes the next scripted session: a list of frames (dicts, sent as JSON text;
a float pauses that many seconds; CLOSE sends a close frame and hangs up), or an int HTTP
status refusing the handshake. The last session repeats. `connections` records each request's path and query (with the token).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.replay import load_fixture

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLOSE = object()  # a session item: the server closes the connection (1001, going away)
Session = list[Any] | int


class FeedServer:
    def __init__(self) -> None:
        self._sessions: list[Session] = [[]]
        self._lock = threading.Lock()
        self.connections: list[tuple[str, dict[str, str]]] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="sense-feed").start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}"

    def script(self, *sessions: Session) -> None:
        with self._lock:
            self._sessions = list(sessions)
            self.connections = []

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- serving ---

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each frame at once
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _next(self, path: str, query: dict[str, str]) -> Session:
        with self._lock:
            self.connections.append((path, query))
            return self._sessions.pop(0) if len(self._sessions) > 1 else self._sessions[0]

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            lines = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
            target = lines[0].split(" ")[1]
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            split = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            session = self._next(split.path, query)
            if isinstance(session, int):
                conn.sendall(f"HTTP/1.1 {session} Refused\r\nContent-Length: 0\r\n\r\n".encode())
                return
            key = {k.lower(): v for k, v in headers.items()}["sec-websocket-key"]
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            conn.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            try:
                for item in session:
                    if isinstance(item, float):
                        time.sleep(item)
                    elif item is CLOSE:
                        conn.sendall(_frame(0x8, struct.pack(">H", 1001)))
                        return
                    else:
                        text = item if isinstance(item, str) else json.dumps(item)
                        conn.sendall(_frame(0x1, text.encode()))
                self._await_close(conn)
            except OSError:
                return

    def _await_close(self, conn: socket.socket) -> None:
        """Read client frames until its close frame, then answer it and hang up."""
        while True:
            head = _read(conn, 2)
            if head is None:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", _read(conn, 2) or b"\0\0")[0]
            elif length == 127:
                length = struct.unpack(">Q", _read(conn, 8) or b"\0" * 8)[0]
            _read(conn, 4 + length if head[1] & 0x80 else length)
            if opcode == 0x8:
                conn.sendall(_frame(0x8, b""))
                return


def _read(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack(">Q", n)
    return head + payload


def realtime_session() -> list[Any]:
    """What the real feed sends first: a hello, then a realtime update."""
    return [
        load_fixture("sense/frame_hello.json"),
        load_fixture("sense/frame_realtime_update.json"),
    ]


_shared: FeedServer | None = None


def shared_feed() -> FeedServer:
    """One feed for the contract scenario (which only gets the HTTP replay server)."""
    global _shared
    if _shared is None:
        _shared = FeedServer()
        _shared.script(realtime_session())
    return _shared


def frame(minutes_later: int, *devices: tuple[str, str, float]) -> list[dict]:
    """A realtime session (hello, then tests/fixtures/sense/frame_realtime_update.json) whose
    frame is `minutes_later` than the fixture's and lists `devices` (id, name, W)."""
    update = load_fixture("sense/frame_realtime_update.json")
    payload = update["payload"]
    payload["epoch"] += minutes_later * 60
    payload["devices"] = [
        {"id": ident, "name": name, "icon": "heater", "w": w} for ident, name, w in devices
    ]
    return [load_fixture("sense/frame_hello.json"), update]
