"""Django's own error answers (config/urls.py's handler400, handler404 and handler500), in the
API's words on the API and readable on the pages.

A request body over DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields than
DATA_UPLOAD_MAX_NUMBER_FIELDS (a query string too) or more files than
DATA_UPLOAD_MAX_NUMBER_FILES, fails in Django when a view or middleware first reads it, before
anything is done. Where Django's own HTML page "Bad Request (400)" says neither what nor which
limit (on the REST API too), the answer is a 413 (too large) or a 400 (too many) saying so and
naming the limit: JSON on the API, keyed `body` or `query`, plain text on the pages; so is a form
whose multipart body cannot be read (no boundary), a Host header not in DJANGO_ALLOWED_HOSTS
(Django's page names neither the header nor the setting), and an admin page's `_to_field` or
filter the admin refuses (its page says only "Bad Request (400)"). A URL under
/api/ or /retention/ that matches no endpoint is a JSON 404, as the API's other answers
are. An error no view handled (a bug; the database out of reach is enrich.database_down's 503)
is, on the API, a JSON 500 `{"detail": ...}` naming nothing of the error, not Django's HTML page
"Server Error (500)", which API clients (Home Assistant's REST sensors, scripts) cannot read;
Django still logs the error with its traceback (logger django.request); pages keep Django's
plain page (handler500)."""

from django.conf import settings
from django.contrib.admin.exceptions import DisallowedModelAdminLookup, DisallowedModelAdminToField
from django.contrib.admin.options import TO_FIELD_VAR
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.views import defaults
from rest_framework.views import APIView

API_PREFIXES = ("/api/", "/retention/")
NOTHING_DONE = "nothing was done"


def is_api(request: HttpRequest) -> bool:
    """Whether the request goes to the REST API: a DRF view, or (matching no URL) a path under
    /api/ or /retention/."""
    return is_api_path(request.path_info)


def is_api_path(path_info: str) -> bool:
    """`is_api` for a request's path."""
    try:
        view = resolve(path_info).func
    except Resolver404:
        return path_info.startswith(API_PREFIXES)
    cls = getattr(view, "cls", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


def _too_large() -> str:
    return (
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
        f"(DATA_UPLOAD_MAX_MEMORY_SIZE), the most this server reads; {NOTHING_DONE}."
    )


def answer(path_info: str, status: int, where: str, said: str) -> HttpResponse:
    """`said` as the API answers (JSON, keyed `where`) or as a page (plain text)."""
    if is_api_path(path_info):
        return JsonResponse({where: said}, status=status)
    return HttpResponse(said, status=status, content_type="text/plain; charset=utf-8")


def too_large(path_info: str) -> HttpResponse:
    """The 413 of a body over DATA_UPLOAD_MAX_MEMORY_SIZE sent to `path_info` (enrich.chunked_body
    answers it before Django reads the request)."""
    return answer(path_info, 413, "body", _too_large())


def _too_many_query_fields(request: HttpRequest) -> bool:
    """Whether the query string is what holds too many fields (counted as Python's parse_qsl
    counts them); else the body does."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    query = request.META.get("QUERY_STRING", "")
    return limit is not None and query.count("&") + 1 > limit


def refused(request: HttpRequest, exception: Exception) -> tuple[int, str, str] | None:
    """(status, where: "body", "query", "Host" or "_to_field", what to say) when `exception` is
    a request over one of Django's upload limits, a form it cannot read, a Host it does not
    serve or an admin parameter the admin refuses; None for any other."""
    if isinstance(exception, RequestDataTooBig):
        return 413, "body", _too_large()
    if isinstance(exception, TooManyFieldsSent):
        where = "query" if _too_many_query_fields(request) else "body"
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return (
            400,
            where,
            (
                f"The request's {'query string' if where == 'query' else 'body'} has more than "
                f"{limit:,} fields (DATA_UPLOAD_MAX_NUMBER_FIELDS); {NOTHING_DONE}."
            ),
        )
    if isinstance(exception, DisallowedHost):
        host = request.META.get("HTTP_HOST", "")[:100]
        return (
            400,
            "Host",
            (
                f"{host!r} is not a host name this server answers to: add it to "
                f"DJANGO_ALLOWED_HOSTS, or use one listed there; {NOTHING_DONE}."
            ),
        )
    if isinstance(exception, MultiPartParserError):  # the API's parsers say it themselves
        return 400, "body", f"The form could not be read ({str(exception)[:200]}); {NOTHING_DONE}."
    # The admin's parameters it refuses as suspicious: its page says only "Bad Request (400)".
    if isinstance(exception, DisallowedModelAdminToField):
        return (
            400,
            TO_FIELD_VAR,
            f"{TO_FIELD_VAR}: {str(exception)[:200].rstrip('.')}; {NOTHING_DONE}.",
        )
    if isinstance(exception, DisallowedModelAdminLookup):  # "Filtering by <parameter> not allowed"
        return 400, "query", f"{str(exception)[:200]}; {NOTHING_DONE}."
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return (
            400,
            "body",
            (
                f"The request body has more than {limit:,} files (DATA_UPLOAD_MAX_NUMBER_FILES); "
                f"{NOTHING_DONE}."
            ),
        )
    return None


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    found = refused(request, exception)
    if found is None:
        if is_api(request):
            return JsonResponse({"detail": "Bad request."}, status=400)
        return defaults.bad_request(request, exception)
    return answer(request.path_info, *found)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"detail": f"No endpoint at {request.path[:200]}; /api/docs/ lists them."},
            status=404,
        )
    return defaults.page_not_found(request, exception)


SERVER_ERROR = (
    "The server failed to answer this request: an error on its side, logged with the time and "
    "path. Try again later; if it lasts, the server's log says what failed."
)


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        api = is_api(request)
    except Exception:  # the URL conf itself failing is the error: the path tells
        api = request.path_info.startswith(API_PREFIXES)
    if api:
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    return defaults.server_error(request)
