"""A form body whose Content-Type names a charset that is a Python codec but no text encoding
(`rot13`, `hex_codec`, `bz2_codec`) makes Django's form parsing fail with a LookupError: a 500 on
every page taking a POST, the login pages included for anyone holding a CSRF cookie, since the
CSRF check reads the form first. A charset Python does not know (`x-unknown`) Django ignores,
reading the form as UTF-8 as if it were. This middleware, placed before anything that reads a
form (the CSRF check, enrich.admin_guard), answers a 400 naming the charset for both. The REST
API's views are left to its parsers, which refuse such a body in JSON (enrich.api.parsers)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from enrich.error_pages import is_api

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def body_charset_guard(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        charset = request.content_params.get("charset")
        if (
            request.content_type in FORMS
            and charset
            and not _readable(charset)
            and not is_api(request)
        ):
            return HttpResponseBadRequest(
                f'Content-Type: charset "{charset[:40]}" is no text encoding; send the form in '
                "UTF-8.",
                content_type="text/plain; charset=utf-8",
            )
        return get_response(request)

    return middleware


def _readable(charset: str) -> bool:
    """Whether `charset` is a text encoding Python knows (`codecs.lookup()` alone also knows
    codecs that are not of text, which `str.encode()` refuses, and `undefined`, which refuses
    every text with a UnicodeError)."""
    try:
        "".encode(charset)
    except (LookupError, UnicodeError):
        return False
    return True
