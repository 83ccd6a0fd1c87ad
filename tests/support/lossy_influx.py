"""A real HTTP proxy in front of the test InfluxDB that can lose data from query answers.

InfluxDB 1.x has been seen returning fewer rows or field values than it holds (series hidden
after deletes until a restart). To test that the system notices, the proxy forwards every
request to the real server and, while `lose` is set, removes one row's field value ("field")
or one whole row ("row") from the answers to `SELECT *` statements whose number (counted from
1) is at least `lose_from`, `lose_times` answers in all (0: every one). While `hide` names an
entity, every SELECT of the daily tier's `entity_aggregates` (rows, counts, first) is asked
without that entity's rows, so InfluxDB's answers and its own counts agree that they are not
there, as when InfluxDB 1.x hides a series. `on_write`, when set, is called once InfluxDB has
accepted a write, before its answer goes back (e.g. a Redis of the test's own stopped: what
fails after the write, tests.collectors.test_failed_after_write). Everything else passes
through unchanged.

    with lossy_influx(settings.INFLUXDB_URL) as proxy:
        ts = connect(proxy.url)
        proxy.lose = "row"
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.support.serving import serve


@dataclass
class LossyInflux:
    upstream: str
    url: str = ""
    lose: str = ""  # "", "field" or "row"
    lose_from: int = 1
    lose_times: int = 0
    hide: str = ""  # an entity_id whose rows SELECTs of entity_aggregates do not see
    on_write: Callable[[], None] | None = None  # called once a write is accepted (see above)
    selects: int = 0  # SELECT * statements seen
    lost: list[str] = field(default_factory=list)  # what was removed, for the assertions
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _damage(self, body: bytes) -> bytes:
        lines = []
        damaged = False
        for line in body.split(b"\n"):
            if not line.strip():
                continue
            chunk = json.loads(line)
            for result in chunk.get("results", []):
                for series in result.get("series", []):
                    values = series.get("values") or []
                    if damaged or not values:
                        continue
                    columns = series["columns"]
                    last = values[-1]
                    where = f"{series.get('tags')} at {last[0]}"
                    if self.lose == "row":
                        values.pop()
                        self.lost.append(f"row {where}")
                        damaged = True
                        continue
                    for i in range(len(columns) - 1, 0, -1):
                        if last[i] is not None:
                            self.lost.append(f"{columns[i]} of {where}")
                            last[i] = None
                            damaged = True
                            break
            lines.append(json.dumps(chunk).encode())
        return b"\n".join(lines) + b"\n"

    def hidden(self, query: str) -> str:
        """`query` asked without the rows of the entity `hide` names (a SELECT of
        entity_aggregates; any other statement as it is)."""
        if not (self.hide and query.upper().startswith("SELECT") and "entity_aggregates" in query):
            return query
        condition = f"\"entity_id\" != '{self.hide}'"
        if " WHERE " in query:
            return query.replace(" WHERE ", f" WHERE {condition} AND ", 1)
        head, group, tail = query.partition(" GROUP BY ")
        return f"{head} WHERE {condition}{group}{tail}"

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> requests.Response:
        return requests.request(
            method, self.upstream + path, headers=headers, data=body or None, timeout=60
        )


class _Handler(BaseHTTPRequestHandler):
    proxy: LossyInflux
    disable_nagle_algorithm = True  # headers and body in two writes: no delayed-ACK wait

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        keep = {"Content-Type", "Authorization", "Accept"}
        headers = {k: v for k, v in self.headers.items() if k in keep}
        split = urlsplit(self.path)
        path, url_form = self.path, parse_qs(split.query)
        query = url_form.get("q", [""])[0]
        if query:
            url_form["q"] = [self.proxy.hidden(query)]
            path = f"{split.path}?{urlencode(url_form, doseq=True)}"
        elif body and "form" in self.headers.get("Content-Type", ""):
            body_form = parse_qs(body.decode())
            query = body_form.get("q", [""])[0]
            if query:
                body_form["q"] = [self.proxy.hidden(query)]
                body = urlencode(body_form, doseq=True).encode()
        answer = self.proxy.handle(self.command, path, headers, body)
        content = answer.content
        if split.path == "/write" and answer.status_code == 204 and self.proxy.on_write:
            self.proxy.on_write()
        if split.path == "/query" and query.upper().startswith("SELECT *"):
            with self.proxy.lock:
                self.proxy.selects += 1
                proxy = self.proxy
                if proxy.lose and proxy.selects >= proxy.lose_from:
                    content = proxy._damage(content)
                    if proxy.lose_times and len(proxy.lost) >= proxy.lose_times:
                        proxy.lose = ""
        self.send_response(answer.status_code)
        for name in ("Content-Type", "X-Influxdb-Version", "X-Influxdb-Build"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward


@contextmanager
def lossy_influx(upstream: str) -> Iterator[LossyInflux]:
    proxy = LossyInflux(upstream.rstrip("/"))
    handler = type("Handler", (_Handler,), {"proxy": proxy})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    stop = serve(server)  # stops at once (tests/support/serving.py)
    try:
        yield proxy
    finally:
        stop()
        server.server_close()
