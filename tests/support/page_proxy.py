"""An HTTP reverse proxy on loopback in front of the test's live server, as nginx stands in
front of enrich, that a browser test can make misbehave for one path: hold the request and
never answer (a hung upstream, a proxy holding the connection), or answer with nginx's own HTML
error page (502/504). Every other request is passed on unchanged."""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.serving import serve

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def nginx_error_page(status: int, reason: str) -> bytes:
    """The page nginx answers with when its upstream fails (its default error page)."""
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1>"
        "</center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class PageProxy:
    """`url` serves what `target_url` serves; `hold(path)` and `fail(path, status, reason)`
    change how requests of `path` (without the query) are answered until `release()`."""

    def __init__(self, target_url: str) -> None:
        self.target = urlsplit(target_url).netloc
        self.held: set[str] = set()
        self.failing: dict[str, tuple[int, str]] = {}
        self.released = threading.Event()
        self.asked: list[str] = []  # the paths asked, in order (with their query)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.stop_serving = serve(self.server)  # stops at once (tests/support/serving.py)

    def hold(self, path: str) -> None:
        self.released.clear()
        self.held.add(path)

    def fail(self, path: str, status: int, reason: str) -> None:
        self.failing[path] = (status, reason)

    def release(self) -> None:
        """Back to passing every request on; held requests are dropped unanswered."""
        self.held.clear()
        self.failing.clear()
        self.released.set()

    def close(self) -> None:
        self.release()
        self.stop_serving()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the test's output is the page's
                pass

            def _any(self) -> None:
                path = urlsplit(self.path).path
                proxy.asked.append(self.path)
                if path in proxy.held:
                    proxy.released.wait()
                    self.close_connection = True
                    return
                if path in proxy.failing:
                    status, reason = proxy.failing[path]
                    page = nginx_error_page(status, reason)
                    self.send_response(status, reason)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(proxy.target, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                content = answer.read()
                upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _any

        return Handler
