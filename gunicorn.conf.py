"""gunicorn's settings, read from the directory it starts in (./gunicorn.conf.py, its default):
make run's Procfile, the image and docker compose all start it in the project's root.

A request gunicorn refuses before the app sees it (a request line or a header it cannot read,
a Content-Length that is no number, a line too long) was answered with gunicorn's own HTML
page, which an API client (a Home Assistant REST sensor, a script) cannot read. It is answered
in the API's JSON instead, {"detail": ...} as the API says a request it cannot parse: gunicorn
has not read the path yet, so it cannot tell the API from the pages, and JSON reads on both.
gunicorn has no setting for that page: its one writer, gunicorn.util.write_error, is replaced
(tests/api/test_http_edges.py checks the answer of the gunicorn in requirements/production.txt).
"""

import json
import os

import gunicorn.util
from django.core.exceptions import ImproperlyConfigured
from gunicorn.errors import AppImportError

# A worker busy with one request for longer is killed (its client's connection dropped). WEB_TIMEOUT,
# read as the settings read it: the app ends its waits on Redis and InfluxDB within it
# (enrich.deadline). A value the settings refuse stops gunicorn with their message (post_fork).
try:
    from config.web import WEB_TIMEOUT as timeout
except ImproperlyConfigured:
    timeout = 30

# No control socket: enrich uses no `gunicornc`, and its default path ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl) is one per user, taken by whichever of its gunicorns started last.
control_socket_disable = True


def _write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's answer in JSON: its status and what it says of the request
    (`mesg`, e.g. "Invalid HTTP Header: 'CONTENT-LENGTH'"; the reason when it says nothing)."""
    said = mesg or reason
    if status_int < 500:  # refused before the app was called
        said += "; nothing was done."
    body = json.dumps({"detail": said}).encode()  # ASCII: any byte of the request is escaped
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


gunicorn.util.write_error = _write_error


def post_fork(server, worker) -> None:
    """A worker loads the settings before the app: a bad one stops gunicorn with its message
    alone, as manage.py says it ("App failed to load"), not with Django's traceback ending in
    it (and other errors of the app's load as before)."""
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # as config/wsgi.py
    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads them)
    except ImproperlyConfigured as exc:
        raise AppImportError(f"ImproperlyConfigured: {exc}") from None
