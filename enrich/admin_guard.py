"""Input the Django admin's own code does not refuse, found by fuzzing it: a NUL character in a
filter or search value (PostgreSQL refuses the query), a date-hierarchy year past 9998 (Python's
dates end at 9999) or in digits int() does not read ("²"), a selected row id that is no number
(the bulk action's query fails). Each would be a 500; this middleware answers a 400 naming the
parameter before the admin runs. Years and row ids in other scripts' digits ("١"), which int()
reads, are refused as the API refuses them. A method the admin does not use (PUT, DELETE,
OPTIONS, ...), for which the admin would show the page as a GET does (the login form with "This
field is required." for a PUT), is a 405 naming GET, HEAD and POST."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed

from enrich.numerals import whole

ADMIN = "/admin/"
LAST_YEAR = 9998  # the admin asks for the year after the one shown
METHODS = ("GET", "HEAD", "POST")


def admin_input_guard(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        admin = request.path.startswith(ADMIN)
        if admin and request.method not in METHODS:
            return HttpResponseNotAllowed(METHODS)
        problem = _problem(request) if admin else ""
        if problem:
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def _problem(request: HttpRequest) -> str:
    """What the admin would fail on ("" when nothing)."""
    for name, values in request.GET.lists():
        for value in values:
            if "\x00" in name or "\x00" in value:
                return f"{name!r}: a NUL character cannot be searched or filtered for."
            if name.endswith("__year") and value.isdigit():  # "١", "²" too
                year = whole(value)
                if year is None:
                    return f"{name}={value[:20]}: give a year in the digits 0-9."
                if year > LAST_YEAR:
                    return f"{name}={value[:20]}: give a year up to {LAST_YEAR}."
    if request.method == "POST":
        for value in request.POST.getlist("_selected_action"):
            if whole(value) is None or value.startswith("-"):
                return f"_selected_action={value[:20]!r}: rows are selected by their number."
    return ""
