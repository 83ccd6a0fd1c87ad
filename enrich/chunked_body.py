"""A request body sent chunked (Transfer-Encoding: chunked, no Content-Length), read as sent.

Django reads CONTENT_LENGTH bytes of a body, none when it is absent, so it reads a chunked body
as empty: `{"dry_run": true}` sent chunked to POST /retention/archive would queue a real archive
run, and a form's fields would be lost. gunicorn decodes the chunks and says its input ends with the
body (`wsgi.input_terminated`); this WSGI middleware (config/wsgi.py) reads such a body, up to
DATA_UPLOAD_MAX_MEMORY_SIZE (over it: the 413 of enrich.error_pages, nothing done), and gives
it to Django with its length. Under a server that does not say so, the body cannot be read to
its end safely: a 411 asks for a Content-Length."""

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import get_path_info
from django.http import HttpResponse

from enrich import error_pages

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


def chunked_bodies(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") or "chunked" not in _transfer_encoding(environ):
            return app(environ, start_response)
        path = get_path_info(environ)
        if not environ.get("wsgi.input_terminated"):
            said = "Send the body with a Content-Length: this server cannot read a chunked one."
            return answer_wsgi(error_pages.answer(path, 411, "body", said), start_response)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = environ["wsgi.input"].read(-1 if limit is None else limit + 1)
        if limit is not None and len(body) > limit:
            return answer_wsgi(error_pages.too_large(path), start_response)
        return app(
            {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))},
            start_response,
        )

    return application


def _transfer_encoding(environ: dict[str, Any]) -> str:
    return environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def answer_wsgi(response: HttpResponse, start_response: Callable) -> Iterable[bytes]:
    """`response` sent by a WSGI middleware, before Django sees the request."""
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]
