"""A test's HTTP server served in a thread that stops at once.

`socketserver`'s `serve_forever(poll_interval)` looks for `shutdown()` only between polls, so
each stop waited out the rest of a poll: with the 0.05 s poll the replay server used, 37 ms at
the end of a test shorter than that, about a minute of the suite's time over the ~1,300 tests
that start a replay server. Here the loop also watches one end of a socket pair, and `stop()`
writes to the other: the loop ends as soon as it is told.
"""

import selectors
import socket
import socketserver
import threading
from collections.abc import Callable


def serve(server: socketserver.BaseServer, name: str | None = None) -> Callable[[], None]:
    """Serve `server` in a daemon thread; the returned `stop()` ends the loop and returns once
    it has ended (as `shutdown()` does; closing the server is still the caller's)."""
    wake, waker = socket.socketpair()

    def loop() -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(server, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if wake in ready:
                    return
                if server in ready:
                    server._handle_request_noblock()  # what serve_forever() does with a request
                server.service_actions()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()

    def stop() -> None:
        if waker.fileno() == -1:
            return  # stopped already
        waker.send(b"stop")
        thread.join()
        wake.close()
        waker.close()

    return stop
