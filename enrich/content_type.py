"""A request whose Content-Type header Django cannot read: an RFC 2231 parameter in a charset
Python does not know (`text/plain; charset*=x-unknown''utf-8`) makes Django raise ValueError as
it makes the request, before any middleware runs, so every URL answered gunicorn's HTML 500,
health included, whatever the method. This WSGI middleware (config/wsgi.py) answers a 400
naming the header instead, in JSON on the API and in plain text on the pages."""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import get_path_info
from django.utils.http import parse_header_parameters

from enrich import error_pages
from enrich.chunked_body import WSGIApp, answer_wsgi


def readable_content_type(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            parse_header_parameters(environ.get("CONTENT_TYPE", ""))  # as Django reads it
        except ValueError as exc:
            said = (f"The Content-Type header cannot be read ({str(exc).rstrip('.')}); "
                    "nothing was done.")  # fmt: skip
            response = error_pages.answer(get_path_info(environ), 400, "Content-Type", said)
            return answer_wsgi(response, start_response)
        return app(environ, start_response)

    return application
